"""Invariant 1, statically: no module but services (and migrations, tests) calls the write
methods of personal-data models. The runtime guard catches what runs; this catches the rest."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2]
WRITE_METHODS = {
    "save",
    "delete",
    "update",
    "bulk_create",
    "bulk_update",
    "update_or_create",
    "get_or_create",
    "create",
}
# Receivers that are not models: the guard's own super() calls, API routers (their .delete
# declares an endpoint), forms.
ALLOWED_RECEIVERS = {"super()", "form", "router", "misc_router", "org_router"}


def _write_calls(tree: ast.AST) -> list[tuple[int, str]]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITE_METHODS:
            receiver = ast.unparse(node.func.value)
            if receiver not in ALLOWED_RECEIVERS and not receiver.endswith(("_form", "Form()")):
                calls.append((node.lineno, f"{receiver}.{node.func.attr}()"))
    return calls


def _is_write_path(path: Path) -> bool:
    parts = path.relative_to(PACKAGE).parts
    return (
        path.name == "services.py"
        or "services" in parts
        or "migrations" in parts
        or "tests" in parts
        or "testing" in parts
        or path.name == "conftest.py"
        # The search index is derived data written inside the services' transactions.
        or path.as_posix().endswith("people/search.py")
        # Receivers of ``person_erased``, run inside ``erase_person``'s transaction.
        or path.name == "erasure.py"
    )


def test_it_finds_no_write_calls_outside_services() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if _is_write_path(path):
            continue
        for line, call in _write_calls(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(PACKAGE)}:{line}: {call}")
    assert offenders == []


def test_it_notices_a_write_call_in_a_view() -> None:
    source = (
        "def view(request):\n    person.family_name = 'x'\n    person.save()\n"
        "    Person.objects.filter(pk=1).update(x=1)\n"
    )
    assert [call for _line, call in _write_calls(ast.parse(source))] == [
        "person.save()",
        "Person.objects.filter(pk=1).update()",
    ]
