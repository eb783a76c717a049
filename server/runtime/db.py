"""Database lifecycle: ORM config, migrations, and the "is it migrated" check."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.exceptions import DBConnectionError
from tortoise.migrations.executor import MigrationExecutor

from models import MODEL_MODULES
from server.runtime.changes import CHANGES

_ENGINES = {"sqlite": "server.runtime.sqliteclient", "postgres": "server.runtime.pgclient"}


def connection_config(database_url: str) -> str | dict[str, Any]:
    """SQLite and PostgreSQL go through our clients (they tell ``server.runtime.changes`` what each commit wrote)."""
    scheme = database_url.split("://", 1)[0]
    engine = _ENGINES.get("postgres" if scheme in ("postgres", "postgresql", "asyncpg") else scheme)
    if engine is None:
        return database_url
    settings = expand_db_url(database_url)
    settings["engine"] = engine
    return settings


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "Asia/Shanghai",
    }


# For the `tortoise` command (makemigrations): `tortoise -c server.runtime.db.TORTOISE_ORM ...`.
TORTOISE_ORM = tortoise_config(os.environ.get("WENMING_DATABASE_URL", "sqlite://var/wenming.sqlite3"))


def _connection_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [ConnectionError, DBConnectionError]
    try:
        import asyncpg
    except ImportError:  # SQLite-only installs
        return tuple(errors)
    errors += [
        asyncpg.PostgresConnectionError,  # refused, reset, too many clients
        asyncpg.InterfaceError,  # the connection is closed / was released
        asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, crashed
        asyncpg.exceptions.InternalClientError,  # a rollback on a connection lost mid-query
    ]
    return tuple(errors)


CONNECTION_ERRORS = _connection_errors()


def lost_database(exc: BaseException) -> BaseException | None:
    """The connection-level failure behind ``exc`` (the database down or restarting), if it is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, CONNECTION_ERRORS):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def describe(exc: BaseException) -> str:
    """One line for a log: the exception's type and message."""
    return f"{type(exc).__name__}: {exc}".strip().splitlines()[0]


def ensure_sqlite_dir(database_url: str) -> None:
    """SQLite will not create the folder of its file; do it so the default path just works."""
    if database_url.startswith("sqlite://") and ":memory:" not in database_url:
        path = database_url.split("://", 1)[1].split("?", 1)[0]
        Path(path).parent.mkdir(parents=True, exist_ok=True)


async def init_db(database_url: str, redis_url: str | None = None) -> None:
    """The ORM up; with ``redis_url``, every commit is announced to the other processes' caches."""
    ensure_sqlite_dir(database_url)
    CHANGES.connect(redis_url)
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()
    await CHANGES.close()


async def pending_migrations() -> list[str]:
    """Names of migrations not yet applied (ORM must be initialised)."""
    executor = MigrationExecutor(get_connection("default"), tortoise_config("")["apps"])
    return [f"{s.migration.app_label}.{s.migration.name}" for s in await executor.plan() if not s.backward]


async def apply_migrations(progress: Any = None) -> list[str]:
    """Apply every pending migration; returns what was applied."""
    todo = await pending_migrations()
    executor = MigrationExecutor(get_connection("default"), tortoise_config("")["apps"])
    await executor.migrate(progress=progress)
    return todo
