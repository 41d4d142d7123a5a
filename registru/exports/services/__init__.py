"""Export governance: the one way people's data leaves Registru in bulk (docs/exports.md)."""

from registru.exports.services.generation import generate_export
from registru.exports.services.register import write_register_csv
from registru.exports.services.requests import (
    ExportBlockedError,
    ExportNotFoundError,
    approve_export,
    cancel_export,
    expire_exports,
    record_denial,
    record_download,
    refuse_export,
    request_export,
)

__all__ = [
    "ExportBlockedError",
    "ExportNotFoundError",
    "approve_export",
    "cancel_export",
    "expire_exports",
    "generate_export",
    "record_denial",
    "record_download",
    "refuse_export",
    "request_export",
    "write_register_csv",
]
