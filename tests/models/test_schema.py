"""Rules the ORM's schema generation needs from our models."""

import importlib
import inspect

from tortoise import Tortoise, connections
from tortoise.models import Model

from models import MODEL_MODULES


def test_model_docstrings_have_no_semicolons() -> None:
    """A model's docstring becomes its table comment, and a ';' there splits the SQLite migration script."""
    offenders = [
        f"{module}.{name}"
        for module in MODEL_MODULES
        for name, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass)
        if issubclass(cls, Model) and cls.__module__ == module and ";" in (cls.__doc__ or "")
    ]
    assert offenders == []


def _column(model: type[Model], name: str) -> str:
    field = model._meta.fields_map[name]
    return getattr(field, "source_field", None) or model._meta.fields_db_projection.get(name, name)


def declared_indexes(model: type[Model]) -> set[tuple[tuple[str, ...], bool]]:
    """(columns, unique) of every index the model asks for."""
    meta = model._meta
    out: set[tuple[tuple[str, ...], bool]] = set()
    for fields in meta.unique_together:
        out.add((tuple(_column(model, f) for f in fields), True))
    for index in meta.indexes:
        names = index.fields if hasattr(index, "fields") else index
        out.add((tuple(_column(model, f) for f in names), False))
    for name, field in meta.fields_map.items():
        if name in meta.fields_db_projection and not field.pk and (field.unique or field.index):
            out.add(((_column(model, name),), bool(field.unique)))
    return out


async def database_indexes(table: str) -> set[tuple[tuple[str, ...], bool]]:
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        _, listed = await conn.execute_query(f'PRAGMA index_list("{table}")')
        found = set()
        for row in listed:
            _, columns = await conn.execute_query(f'PRAGMA index_info("{row["name"]}")')
            found.add((tuple(c["name"] for c in sorted(columns, key=lambda c: c["seqno"])), bool(row["unique"])))
        return found
    rows = await conn.execute_query_dict(
        """SELECT ix.indisunique AS is_unique, array_agg(a.attname ORDER BY k.ord) AS columns
           FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid
           CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
           WHERE t.relname = $1 AND NOT ix.indisprimary GROUP BY ix.indexrelid, ix.indisunique""",
        [table],
    )
    return {(tuple(r["columns"]), bool(r["is_unique"])) for r in rows}


async def test_every_declared_index_and_unique_constraint_exists_after_migrating(api) -> None:
    """Migrations must build what the models declare, on SQLite as on PostgreSQL (a table that SQLite
    rebuilds to alter a column can lose its indexes and unique constraints on the way)."""
    missing = {}
    for model in Tortoise.apps["models"].values():
        table = model._meta.db_table
        have = await database_indexes(table)
        # A unique index also serves as a plain one on the same columns.
        lacking = {(cols, unique) for cols, unique in declared_indexes(model) if (cols, True) not in have}
        lacking = {(cols, unique) for cols, unique in lacking if unique or (cols, False) not in have}
        if lacking:
            missing[table] = sorted(lacking)
    assert missing == {}


def test_models_users_imports_none_of_the_models_that_import_it() -> None:
    """Erasure and export live in models.privacy: models.users, which every model imports, reaches
    into none of them (not even inside a function, where an import circle hides until it bites)."""
    import ast
    from pathlib import Path

    import models.users

    tree = ast.parse(Path(models.users.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert sorted(m for m in imported if m.startswith(("models.", "media."))) == ["models.orgs"]
