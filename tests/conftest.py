"""Fixtures only.  Every test that uses ``app`` runs on SQLite and on PostgreSQL
(the server at 127.0.0.1:5432; its absence is a failure, not a skip), with
mail going to a real SMTP server and SMS through the twilio library to a real
local HTTP endpoint."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from sspr import create_app, database, policy, users
from sspr.config import DEFAULTS
from sspr.extensions import db
from sspr.models import User
from sspr.verification import outbox
from tests.servers import SmtpServer, TwilioEndpoint

POSTGRES_URL = os.environ.get("SSPR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BASE_URL = "https://reset.example.test"
TWILIO_FROM = "+4570000000"
PASSWORD = "Old-Password-That-Works-1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("all", "sqlite", "postgresql"),
        default="all",
        help="Database backends to run the app tests on (default: both).",
    )
    parser.addoption(
        "--screenshots",
        action="store_true",
        help="Save the browser tests' screenshots into docs/screenshots/ (else into each test's tmp_path).",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--db")
        backends = ["sqlite", "postgresql"] if chosen == "all" else [chosen]
        only = metafunc.definition.get_closest_marker("backends")
        if only is not None:
            backends = [b for b in backends if b in only.args]
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    """No test talks to anything but this machine."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
                raise OSError(f"test tried to reach {host}: only loopback is allowed")
        return real_connect(sock, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = real_connect  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def twilio() -> Iterator[TwilioEndpoint]:
    endpoint = TwilioEndpoint()
    endpoint.start()
    yield endpoint
    endpoint.stop()


def _base_config(database_url: str, tmp: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "DATABASE_URL": database_url,
        "ARGON2_PROFILE": "CHEAPEST",
        "SENDER_THREAD": False,
        "AUTO_MIGRATE": False,
        "OUTBOX_DIR": str(tmp / "outbox"),
        "BASE_URL": BASE_URL,
    }


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database that each test copies (quicker than migrating each time)."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite3"
    template = create_app(_base_config(f"sqlite:///{path}", folder))
    database.upgrade(template)
    with template.app_context():
        db.engine.dispose()  # the last connection closing folds the WAL into the file we copy
    return path


@pytest.fixture(scope="session")
def postgres_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A schema of its own in the test database, migrated once; dropped at the end."""
    schema = f"sspr_test_{secrets.token_hex(4)}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    migrator = create_app(_base_config(url, tmp_path_factory.mktemp("pg")))
    database.upgrade(migrator)
    with migrator.app_context():
        db.engine.dispose()
    yield url
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        path = tmp_path / "sspr.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_schema")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = [t for t in sa.inspect(conn).get_table_names() if t != "alembic_version"]
        conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def app(
    request: pytest.FixtureRequest, database_url: str, smtp: SmtpServer, twilio: TwilioEndpoint, tmp_path: Path
) -> Iterator[Flask]:
    """The app on a clean database.  @pytest.mark.settings(...) adds config;
    @pytest.mark.policy(...) stores policy values."""
    config = _base_config(database_url, tmp_path)
    config.update(
        {
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp.port,
            "SMTP_TIMEOUT": 5,
            "MAIL_FROM": "sspr@example.test",
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_FROM": TWILIO_FROM,
            "TWILIO_API_BASE": twilio.base_url,
        }
    )
    for marker in reversed(list(request.node.iter_markers("settings"))):
        config.update(marker.kwargs)
    smtp.reset()
    twilio.inbox.clear()
    twilio.fail_status = 0
    application = create_app(config)
    with application.app_context():
        for marker in reversed(list(request.node.iter_markers("policy"))):
            policy.save(marker.kwargs)
        db.session.commit()
        db.session.remove()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_env(app: Flask) -> dict[str, str]:
    """The environment for another process (gunicorn, `sspr worker`) configured as ``app``
    is: every setting as an SSPR_* variable, in JSON, which Flask reads back as such."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSPR_")}
    env.update({f"SSPR_{key}": json.dumps(app.config[key]) for key in DEFAULTS if app.config[key] is not None})
    env["SSPR_TESTING"] = "true"
    return env


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Create a user (committed); keyword arguments as for users.create."""

    def make(username: str = "alice", password: str = PASSWORD, **fields: Any) -> User:
        fields.setdefault("alternate_email", f"{username}@mail.example.org")
        fields.setdefault("phone", "+4520123456")
        with app.app_context():
            user = users.create(username, password, **fields)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


@pytest.fixture
def stored_user(app: Flask) -> Callable[[str], User | None]:
    """The user of that name as the database holds it now (detached), or None."""

    def load(username: str) -> User | None:
        with app.app_context():
            user = users.find(username)
            if user is not None:
                db.session.expunge(user)
            return user

    return load


@pytest.fixture
def deliver(app: Flask) -> Callable[[], int]:
    """Run the outbox sender once over everything due; the number of messages tried."""

    def run() -> int:
        with app.app_context():
            count = outbox.deliver_due()
            db.session.remove()
            return count

    return run
