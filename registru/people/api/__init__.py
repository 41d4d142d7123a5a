"""REST endpoints for people, organizations, affiliations and notes.

Handlers only translate: they read the request, call one selector or service with the user
as actor, and shape the answer. Scope, validation and the audit trail live below them.
"""

from registru.people.api.organizations import org_router
from registru.people.api.people import router
from registru.people.api.related import misc_router

__all__ = ["misc_router", "org_router", "router"]
