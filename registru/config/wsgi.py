"""WSGI entry point for waitress (``registru serve``) and gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registru.config.settings")
application = get_wsgi_application()
