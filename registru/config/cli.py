"""The ``registru`` command: Django's management commands plus Registru's own.

Everything it runs is in an audit context on the "cli" channel, so a change made from the
command line is in the trail like any other.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registru.config.settings")
    from django.core.management import execute_from_command_line

    from registru.core.context import Channel, audit_context

    with audit_context(Channel.CLI):
        execute_from_command_line(argv or sys.argv)


if __name__ == "__main__":
    main()
