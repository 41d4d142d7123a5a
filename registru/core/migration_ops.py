"""Migration operations that run different SQL on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.migrations.operations.base import Operation


class VendorSQL(Operation):
    """Run the statements for the current database vendor; other vendors do nothing."""

    reversible = True

    def __init__(
        self,
        *,
        sqlite: Sequence[str] = (),
        postgresql: Sequence[str] = (),
        sqlite_reverse: Sequence[str] = (),
        postgresql_reverse: Sequence[str] = (),
    ) -> None:
        self.forwards = {"sqlite": list(sqlite), "postgresql": list(postgresql)}
        self.backwards = {"sqlite": list(sqlite_reverse), "postgresql": list(postgresql_reverse)}

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs = {
            "sqlite": self.forwards["sqlite"],
            "postgresql": self.forwards["postgresql"],
            "sqlite_reverse": self.backwards["sqlite"],
            "postgresql_reverse": self.backwards["postgresql"],
        }
        return (self.__class__.__qualname__, [], kwargs)

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        for statement in self.forwards.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        for statement in self.backwards.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    def describe(self) -> str:
        return "Database-specific SQL"
