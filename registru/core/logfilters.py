"""Log filters: what a log line may not carry.

The public pages' links hold a signed token in their path (``/p/preferences/TOKEN/``). A token is
no personal data, but it opens a person's page: a preference link works for 400 days. Django logs
the path of every 4xx answer (``django.request``) and of every refused form
(``django.security.csrf``), so a bad answer on a still-valid link would leave the link in the logs.
"""

from __future__ import annotations

import logging
import re

TOKEN_IN_PATH = re.compile(r"(/p/[a-z]+/)[A-Za-z0-9_=:-]+")
HIDDEN = r"\1…"


class HidePortalTokens(logging.Filter):
    """Replace the token of any public link in the message (and traceback) with an ellipsis."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/p/" in message:
            record.msg, record.args = TOKEN_IN_PATH.sub(HIDDEN, message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and "/p/" in record.exc_text:
            record.exc_text = TOKEN_IN_PATH.sub(HIDDEN, record.exc_text)
        return True
