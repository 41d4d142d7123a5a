"""Settings for the B1 peers: Registru's own settings (same database options, the same SQLite
pragmas) plus django-pghistory (PostgreSQL only), django-simple-history, django-auditlog and
``bench.audit.peerapp``, whose tables have the shape of Registru's people. Bench-only.
"""

from registru.config.settings import *  # noqa: F403
from registru.config.settings import DATABASES, INSTALLED_APPS

POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

INSTALLED_APPS = [
    *INSTALLED_APPS,
    *(["pgtrigger", "pghistory"] if POSTGRES else []),
    "simple_history",
    "auditlog",
    "bench.audit.peerapp",
]
# The peer app has no migration files: `migrate --run-syncdb` makes its tables, and the
# pghistory triggers are installed after it.
PGTRIGGER_INSTALL_ON_MIGRATE = True
PGTRIGGER_MIGRATIONS = False
