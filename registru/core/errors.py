"""Errors that services raise and every entry point translates the same way."""

from __future__ import annotations


class ConflictError(Exception):
    """The change conflicts with the current state (a stale version, a duplicate); HTTP 409."""

    def __init__(self, message: str, *, code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class NotInScopeError(LookupError):
    """The actor may not touch this record. Entry points answer exactly as for a missing one."""
