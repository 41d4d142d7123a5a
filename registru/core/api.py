"""Shared pieces of the REST API: authentication, error shapes and error translation."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI, Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import HttpBearer, SessionAuth

from registru.accounts.roles import Capability
from registru.accounts.services.budget import ViewingBlockedError
from registru.accounts.tokens import user_for_token
from registru.core.errors import ConflictError, NotInScopeError
from registru.core.pagination import InvalidCursorError


class SingleValuedQuery(Parser):
    """Refuses a query parameter given more than once (``?limit=5&limit=500``). Each of this
    API's query parameters holds one value, and which of two counts would be a guess (Django's
    QueryDict keeps the last): a clear 422 instead."""

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str], request: HttpRequest) -> dict[str, Any]:
        repeated = [key for key in data if key not in list_fields and len(data.getlist(key)) > 1]
        if repeated:
            raise NinjaValidationError(
                [{"loc": ["query", key], "msg": "Given more than once.", "type": "value_error"} for key in repeated]
            )
        return super().parse_querydict(data, list_fields, request)


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer rgs_...`` with a personal API token."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """The pages' session (with the CSRF check on writes), for the browser's own calls."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and user.can(Capability.USE_API) else None


class ErrorOut(Schema):
    detail: str


class Conflict(Schema):
    detail: str
    code: str


class ValidationItem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(Schema):
    detail: list[ValidationItem]


# Every operation declares these, so the schema tells clients every answer they can get.
# 429: the user's bulk-view budget is spent (accounts.budget); any answer that shows people.
COMMON_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut, 429: ErrorOut}
# Operations with a JSON body also answer 400 when the body is not JSON at all.
BODY_ERRORS: dict[int, Any] = COMMON_ERRORS | {400: ErrorOut}
WRITE_ERRORS: dict[int, Any] = BODY_ERRORS | {403: ErrorOut, 409: Conflict}


def validation_items(exc: DjangoValidationError, prefix: tuple[str, ...] = ("body",)) -> list[dict[str, Any]]:
    if hasattr(exc, "error_dict"):
        return [
            {"loc": [*prefix, field], "msg": message, "type": "value_error"}
            for field, errors in exc.message_dict.items()
            for message in errors
        ]
    return [{"loc": list(prefix), "msg": message, "type": "value_error"} for message in exc.messages]


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(DjangoValidationError)
    def invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return api.create_response(request, {"detail": validation_items(exc)}, status=422)

    @api.exception_handler(InvalidCursorError)
    def invalid_cursor(request: HttpRequest, exc: InvalidCursorError) -> HttpResponse:
        item = {"loc": ["query", "cursor"], "msg": str(exc), "type": "value_error"}
        return api.create_response(request, {"detail": [item]}, status=422)

    @api.exception_handler(ConflictError)
    def conflict(request: HttpRequest, exc: ConflictError) -> HttpResponse:
        return api.create_response(request, {"detail": exc.message, "code": exc.code}, status=409)

    @api.exception_handler(ObjectDoesNotExist)
    def missing(request: HttpRequest, exc: Exception) -> HttpResponse:
        return api.create_response(request, {"detail": "Not found."}, status=404)

    @api.exception_handler(NotInScopeError)
    def out_of_scope(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Exactly the answer for a record that does not exist.
        return api.create_response(request, {"detail": "Not found."}, status=404)

    @api.exception_handler(ViewingBlockedError)
    def viewing_blocked(request: HttpRequest, exc: ViewingBlockedError) -> HttpResponse:
        return api.create_response(request, {"detail": exc.message}, status=429)

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
        return api.create_response(request, {"detail": str(exc) or "Forbidden."}, status=403)
