"""Registru settings, read from environment variables (see docs/configuration.md).

The defaults give the embedded single-machine setup: SQLite in ``REGISTRU_DATA_DIR``, the
background queue in SQLite too, and no TLS. ``REGISTRU_ENV=production`` turns on the
settings that ``registru check --deploy`` asks for and refuses to start without a secret key.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from registru.config.env import env_bool, env_choice, env_int, env_list, env_str
from registru.config.paths import PACKAGE_DIR, data_dir

ENVIRONMENT = env_choice("REGISTRU_ENV", "development", ("development", "production", "test"))
PRODUCTION = ENVIRONMENT == "production"
DATA_DIR: Path = data_dir()
DEBUG = env_bool("REGISTRU_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("REGISTRU_DEBUG cannot be on when REGISTRU_ENV=production")


def _secret_key() -> str:
    configured = env_str("REGISTRU_SECRET_KEY")
    if configured:
        return configured
    if PRODUCTION:
        raise ImproperlyConfigured("REGISTRU_SECRET_KEY (or REGISTRU_SECRET_KEY_FILE) must be set in production")
    # Outside production a key is made once and kept in the data directory, so sessions
    # survive restarts without anyone having to invent a secret.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50), encoding="utf-8")
    return key_file.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("REGISTRU_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("REGISTRU_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "registru.core",
    "registru.accounts",
    "registru.audit",
    "registru.vault",
    "registru.people",
    "registru.consent",
    "registru.mail",
    "registru.campaigns",
    "registru.portal",
    "registru.questionnaires",
    "registru.exports",
    "registru.dashboard",
    # Listed before Django's apps: its commands shadow theirs (dumpdata refuses personal data).
    "registru.config",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "huey.contrib.djhuey",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "registru.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "registru.accounts.middleware.DeviceSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "registru.core.middleware.NoStoreMiddleware",
    "registru.core.middleware.ViewingBlockedMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registru.config.urls"
WSGI_APPLICATION = "registru.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "registru.core.context_processors.capabilities",
                "registru.core.context_processors.organization",
            ],
        },
    },
]

DEFAULT_SQLITE = f"sqlite:///{DATA_DIR / 'registru.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", DEFAULT_SQLITE))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # An audit product must not lose acknowledged commits: WAL with synchronous=FULL.
    # IMMEDIATE transactions take the write lock up front, so two writers queue on the
    # busy timeout instead of failing with "database is locked" on lock upgrade.
    # secure_delete zeroes what a write frees, so an erased person's old values do not linger in
    # free space of the file (Debian's SQLite has it on by default, others not; its cost on a
    # person's create and update was within the noise: docs/audit.md, erasure).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("REGISTRU_DB_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: five failures for one username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env_int("REGISTRU_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("REGISTRU_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Attempts are kept under a keyed digest of the user name, not the name (accounts/throttling.py).
AXES_USERNAME_CALLABLE = "registru.accounts.throttling.axes_username"

LANGUAGE_CODE = env_choice("REGISTRU_DEFAULT_LANGUAGE", "ro", ("ro", "en"))
LANGUAGES = [("ro", _("Romanian")), ("en", _("English"))]
FORMAT_MODULE_PATH = ["registru.formats"]  # English dates day first, on a 24-hour clock
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env_str("REGISTRU_TIME_ZONE", "Europe/Bucharest")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Without collectstatic (development, tests) whitenoise serves straight from the apps.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# Security headers. The policy allows nothing inline: htmx is configured through a meta tag.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("REGISTRU_SESSION_SECONDS", 8 * 3600)
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "registru.core.views.csrf_failure"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("REGISTRU_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env_int("REGISTRU_HSTS_SECONDS", 31_536_000) if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION and env_bool("REGISTRU_HSTS_PRELOAD", default=True)
if env_bool("REGISTRU_BEHIND_PROXY", default=PRODUCTION):
    # The TLS proxy in front (docs/deployment.md) must set this header and strip it from
    # client requests; otherwise a client could claim HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS: list[str] = []

# Background work: Huey behind the django.tasks API. SQLite storage in the data directory by
# default (worker threads inside `registru serve`); a redis:// URL for standalone workers.
QUEUE_URL = env_str("REGISTRU_QUEUE_URL", f"sqlite:///{DATA_DIR / 'queue.sqlite3'}")
TASKS_IMMEDIATE = env_bool("REGISTRU_TASKS_IMMEDIATE", default=False)


def _huey_settings(url: str) -> dict[str, object]:
    common: dict[str, object] = {
        "name": "registru",
        "immediate": TASKS_IMMEDIATE,
        "utc": True,
        "results": True,
        "consumer": {"workers": env_int("REGISTRU_WORKER_THREADS", 2), "worker_type": "thread"},
    }
    if url.startswith("sqlite:///"):
        return common | {"huey_class": "huey.SqliteHuey", "filename": url.removeprefix("sqlite:///")}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return common | {"huey_class": "huey.RedisHuey", "url": url}
    raise ImproperlyConfigured(f"REGISTRU_QUEUE_URL must be sqlite:///PATH or redis://..., not {url!r}")


HUEY = _huey_settings(QUEUE_URL)
TASKS = {
    "default": {
        "BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend",
        # A task enqueued inside a transaction must not run before the data it needs is
        # committed (or at all, if the transaction rolls back).
        "ENQUEUE_ON_COMMIT": True,
    }
}

# Mail is configured with MAILERS (Django 6.1); the EMAIL_* settings are deprecated. Without an
# SMTP host (outside production), messages go to a local mailbox shown on the Outbox page.
SMTP_HOST = env_str("REGISTRU_SMTP_HOST", "localhost" if PRODUCTION else "")
MAIL_TRANSPORT = "smtp" if SMTP_HOST else "mailbox"
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": SMTP_HOST or "localhost",
            "port": env_int("REGISTRU_SMTP_PORT", 25),
            "username": env_str("REGISTRU_SMTP_USER") or None,
            "password": env_str("REGISTRU_SMTP_PASSWORD") or None,
            "use_tls": env_bool("REGISTRU_SMTP_STARTTLS", default=False),
            "timeout": 30,
        },
    }
}
MAIL_LEASE_SECONDS = env_int("REGISTRU_MAIL_LEASE_SECONDS", 120)
# SMTP connections a delivery worker uses side by side: a group of that many messages is
# recorded as sent in one commit (see registru/mail/transport.py). Lanes the server refuses to
# open are given up for the rest of the run.
MAIL_CONNECTIONS = max(1, env_int("REGISTRU_MAIL_CONNECTIONS", 16))
# The address people's links point to (consent, preferences, unsubscribe): the public URL.
PUBLIC_URL = env_str("REGISTRU_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
ORGANIZATION_NAME = env_str("REGISTRU_ORGANIZATION_NAME", "Registru Demo SRL")
DEFAULT_FROM_EMAIL = env_str("REGISTRU_FROM_EMAIL", "registru@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Registru's own knobs.
API_PAGE_MAX = 100
PAGE_SIZE = 25
API_TOKEN_DEFAULT_DAYS = env_int("REGISTRU_API_TOKEN_DAYS", 90)
DEMO_PASSWORD = env_str("REGISTRU_DEMO_PASSWORD", "registru-demo")

# Export governance (docs/exports.md): above this many people, or with sensitive fields, an
# export needs a second person's approval; files and their links expire.
EXPORT_APPROVAL_THRESHOLD = env_int("REGISTRU_EXPORT_APPROVAL_THRESHOLD", 50)
EXPORT_LINK_HOURS = env_int("REGISTRU_EXPORT_LINK_HOURS", 48)
EXPORT_MAX_DOWNLOADS = env_int("REGISTRU_EXPORT_MAX_DOWNLOADS", 3)
EXPORT_DIR = DATA_DIR / "exports"
OTP_TOTP_ISSUER = env_str("REGISTRU_TOTP_ISSUER", "Registru")

# The audit trail's signed tail (docs/audit.md): a checkpoint is signed this often (and at once
# after an erasure or an export approval), so that the part of the trail no signature covers
# yet stays short; each checkpoint file may be copied off the server to a directory (a mounted
# share) and/or handed to a command (e.g. an upload), as its one argument.
AUDIT_CHECKPOINT_MINUTES = env_int("REGISTRU_AUDIT_CHECKPOINT_MINUTES", 15)
AUDIT_CHECKPOINT_COPY_DIR = env_str("REGISTRU_AUDIT_CHECKPOINT_COPY_DIR", "")
AUDIT_CHECKPOINT_COMMAND = env_str("REGISTRU_AUDIT_CHECKPOINT_COMMAND", "")
# A long trail's PDF, made in the background, is kept this long for its requester.
AUDIT_EXPORT_KEEP_HOURS = env_int("REGISTRU_AUDIT_EXPORT_KEEP_HOURS", 2)
if AUDIT_CHECKPOINT_MINUTES < 1:
    raise ImproperlyConfigured("REGISTRU_AUDIT_CHECKPOINT_MINUTES must be at least 1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Django logs the path of refused requests: the public links' tokens are cut out of it.
    "filters": {"portal_tokens": {"()": "registru.core.logfilters.HidePortalTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["portal_tokens"]}},
    "root": {"handlers": ["console"], "level": env_str("REGISTRU_LOG_LEVEL", "INFO")},
    "loggers": {
        # Axes logs usernames and addresses on every attempt; keep that for WARNING and up.
        "axes": {"level": "WARNING"},
        "huey": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
