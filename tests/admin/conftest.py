"""Fixtures for the console's tests: admins signed in, users made in bulk, audit rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from sspr import contacts, passwords, users
from sspr.extensions import db
from sspr.models import AuditEvent, User
from tests import pages
from tests.conftest import PASSWORD


@pytest.fixture
def admin_browser(app: Flask, make_user: Callable[..., User]) -> Callable[..., tuple[FlaskClient, User]]:
    """Make an admin (or any user) and a browser signed in as them just now: (client, user)."""

    def make(username: str = "root", role: str = "global-admin", **fields: Any) -> tuple[FlaskClient, User]:
        user = make_user(username, role=role, **fields)
        browser = app.test_client()
        response = pages.sign_in(browser, username, PASSWORD)
        assert response.status_code == 302, response.get_data(as_text=True)
        return browser, user

    return make


@pytest.fixture
def signs_in(app: Flask) -> Callable[[str, str], str | None]:
    """Sign in afresh with this password: where the sign-in leads (None when refused)."""

    def attempt(username: str, password: str) -> str | None:
        response = pages.sign_in(app.test_client(), username, password)
        return response.location if response.status_code == 302 else None

    return attempt


@pytest.fixture
def bulk_users(app: Flask) -> Callable[..., list[int]]:
    """Insert many plain users at once (one hash shared, one commit): their ids."""

    def make(count: int, prefix: str = "user", **fields: Any) -> list[int]:
        with app.app_context():
            password_hash = passwords.hash_password(PASSWORD)
            made = [
                User(
                    username=f"{prefix}{n:04d}",
                    username_key=contacts.username_key(f"{prefix}{n:04d}"),
                    password_hash=password_hash,
                    **fields,
                )
                for n in range(count)
            ]
            db.session.add_all(made)
            db.session.commit()
            return [u.id for u in made]

    return make


@pytest.fixture
def audit_rows(app: Flask) -> Callable[[str], list[AuditEvent]]:
    """The audit rows of one event, oldest first (detached)."""

    def load(event: str) -> list[AuditEvent]:
        with app.app_context():
            rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.event == event).order_by(AuditEvent.id)))
            db.session.expunge_all()
            return rows

    return load


@pytest.fixture
def user_id(app: Flask) -> Callable[[str], int]:
    """The id of the user of that name."""

    def find(username: str) -> int:
        with app.app_context():
            user = users.find(username)
            assert user is not None
            return user.id

    return find
