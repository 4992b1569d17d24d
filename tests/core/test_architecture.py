"""Architecture rules, checked on the source: `core` owns every write and every read of the change log,
commits happen in the unit of work only, and `core` depends on no domain or integration."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from visitorhub.core.service import UnloggedWrite
from visitorhub.domains import all_resources
from visitorhub.domains.visitors.resources import visitor_service

PACKAGE = Path(__file__).parents[2] / "src" / "visitorhub"
ENTITY_MODELS = {resource.model.__name__ for resource in all_resources().values()}
# Writes that add, change or remove ORM records or table rows.
SESSION_WRITES = {"add", "add_all", "merge", "delete", "bulk_save_objects", "bulk_insert_mappings"}
STATEMENTS = {"insert", "update", "delete"}


def _modules(*, inside_core: bool) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("migrations/"):
            continue
        if relative.startswith("core/") == inside_core:
            yield relative, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def _named(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def test_core_imports_no_domain_or_integration() -> None:
    outside = ("visitorhub.domains", "visitorhub.integration", "visitorhub.system", "visitorhub.cli")
    found = [
        (name, module)
        for name, tree in _modules(inside_core=True)
        for module in _imports(tree)
        if module.startswith(outside) or module in ("visitorhub.api", "visitorhub.app")
    ]
    assert found == []


def test_only_core_touches_the_change_log() -> None:
    found = [
        (name, module)
        for name, tree in _modules(inside_core=False)
        if not name.startswith("models/")  # where the table is declared
        for module in _imports(tree)
        if module.startswith("visitorhub.models.changelog")
        or module.endswith(".ChangeLogEntry")
        or module.endswith("changelog.append")
        or module.endswith("changelog.append_many")
    ]
    calls = [
        (name, node.func.attr)
        for name, tree in _modules(inside_core=False)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("append", "append_many")
        and _named(node.func.value) == "changelog"
    ]
    assert found == []
    assert calls == []


def test_no_module_outside_core_writes_an_entity_table() -> None:
    found = []
    for name, tree in _modules(inside_core=False):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            first = node.args[0] if node.args else None
            # insert(Visitor), update(Vehicle), delete(Optin): SQL statements on an entity's table.
            if _named(func) in STATEMENTS and first is not None and _named(first) in ENTITY_MODELS:
                found.append((name, node.lineno, ast.unparse(node)[:60]))
            # session.add(Visitor(...)), session.delete(visitor) is left to the runtime guard below.
            if (
                isinstance(func, ast.Attribute)
                and func.attr in SESSION_WRITES
                and isinstance(first, ast.Call)
                and _named(first.func) in ENTITY_MODELS
            ):
                found.append((name, node.lineno, ast.unparse(node)[:60]))
    assert found == []


def test_commits_belong_to_the_unit_of_work() -> None:
    """Only core/db.py commits or rolls back a session or connection (savepoints are a writer's own)."""
    found = []
    for name, tree in _modules(inside_core=False):
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("commit", "rollback"):
                receiver = _named(node.value) or ""
                if receiver in ("session", "conn", "connection") or receiver.endswith("session"):
                    found.append((name, node.lineno, ast.unparse(node)))
    assert found == []


def test_a_change_made_outside_the_write_path_cannot_be_flushed(session: Session) -> None:
    """The runtime side of the same rule: an entity changed by hand never reaches the database."""
    visitor = visitor_service.create(
        session,
        {
            "email": "guard@example.com",
            "first_name": "Ann",
            "gender": "f",
            "country_code": "FR",
            "acquisition_pc_code": "FR-SC-1",
        },
    )
    visitor.first_name = "Sneaky"
    with pytest.raises(UnloggedWrite, match="Visitor changed outside its service"):
        session.flush()
    session.rollback()


def test_architecture_rules_see_the_source() -> None:
    """The checks above read real modules (an empty scan would pass vacuously)."""
    outside = [name for name, _tree in _modules(inside_core=False)]
    inside = [name for name, _tree in _modules(inside_core=True)]
    assert "integration/templates/execution.py" in outside
    assert "core/service.py" in inside
    assert {"Visitor", "Vehicle", "Center"} <= ENTITY_MODELS
