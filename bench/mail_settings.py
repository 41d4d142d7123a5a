"""Registru's settings with ``MAIL_CONNECTIONS`` taken from ``BENCH_MAIL_CONNECTIONS``: the B8
benchmark measures delivery over several connections side by side (see ``registru.mail.transport``),
which Registru's own settings do not expose yet. Bench-only."""

import os

from registru.config.settings import *  # noqa: F403

MAIL_CONNECTIONS = int(os.environ.get("BENCH_MAIL_CONNECTIONS", "1"))
