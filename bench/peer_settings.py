"""Settings for the B6 peer: Registru's own settings (same middleware, database, production
switches) plus Django REST framework serving ``bench.peer_urls``. Bench-only.
"""

from registru.config.settings import *  # noqa: F403
from registru.config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework"]
ROOT_URLCONF = "bench.peer_urls"
REST_FRAMEWORK = {
    # The same personal tokens and the same one-query lookup as Registru's API: the comparison
    # is about listing and searching, not about authentication.
    "DEFAULT_AUTHENTICATION_CLASSES": ["bench.peer_auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
