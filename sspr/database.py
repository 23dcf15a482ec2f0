"""Database engine settings and schema upgrades.

The schema is Alembic's: `sspr db upgrade` applies it, and on SQLite (the
embedded default) the app applies it itself at start, under a file lock so
that several worker processes do not race.
"""

from __future__ import annotations

import fcntl
import sqlite3
from pathlib import Path
from typing import Any

import flask_migrate
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url


def engine_options(url: str) -> dict[str, Any]:
    if make_url(url).get_backend_name() == "sqlite":
        # Writers wait for each other instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work while one request writes; foreign keys are off in SQLite unless asked."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def upgrade(app: Flask) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    with app.app_context():
        flask_migrate.upgrade(directory=app.extensions["migrate"].directory)


def init_app(app: Flask) -> None:
    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database and app.config["AUTO_MIGRATE"]:
        lock_path = Path(url.database).with_suffix(".migrate-lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            upgrade(app)
