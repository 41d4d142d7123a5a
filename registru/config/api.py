"""The REST API at /api/v1 (OpenAPI 3.1 at /api/v1/openapi.json)."""

from __future__ import annotations

from ninja import NinjaAPI

from registru.core.api import ActiveSessionAuth, BearerTokenAuth, SingleValuedQuery, install_error_handlers
from registru.people.api import misc_router, org_router
from registru.people.api import router as people_router

api = NinjaAPI(
    title="Registru API",
    version="1",
    description=(
        "People, organizations, affiliations and notes, within your record scope. "
        "Authenticate with `Authorization: Bearer <token>` (make one with "
        "`registru token create USERNAME` or on your account page). Records outside your "
        "scope answer 404, exactly like records that do not exist."
    ),
    auth=[BearerTokenAuth(), ActiveSessionAuth()],
    parser=SingleValuedQuery(),
    urls_namespace="api",
    docs_url=None,
)
api.add_router("/people", people_router)
api.add_router("/organizations", org_router)
api.add_router("", misc_router)
install_error_handlers(api)
