"""The first global admin: while there is none, the console shows a one-time
link that lets whoever runs the server create it.

The link is a signed, expiring token that works only while no global admin
exists, so it dies the moment it has been used, on every app server.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError

from sspr import audit, tokens, users
from sspr.errors import SetupUnavailable
from sspr.extensions import db
from sspr.models import User

log = logging.getLogger(__name__)


def admin_exists() -> bool:
    return bool(db.session.scalar(select(exists().where(User.role == "global-admin"))))


def link() -> str:
    return f"{current_app.config['BASE_URL']}/setup/{tokens.dump(tokens.SETUP, {'p': 'first-admin'})}"


def check_link(token: str) -> None:
    try:
        tokens.load(tokens.SETUP, token, current_app.config["SETUP_LINK_SECONDS"])
    except tokens.TokenInvalid as exc:
        raise SetupUnavailable("setup token invalid or expired") from exc
    if admin_exists():
        raise SetupUnavailable("a global admin exists")


def create_first_admin(token: str, username: str, display_name: str, password: str, confirm: str) -> User | list[str]:
    """The new global admin (staged and committed), or the password problems."""
    check_link(token)
    problems = users.password_problems(username, password, confirm)
    if problems:
        return problems
    try:
        user = users.create(username, password, display_name=display_name, role="global-admin")
    except users.UserError as exc:
        return [str(exc)]
    audit.record("setup.first_admin", actor=user, subject=user)
    db.session.commit()
    return user


def announce(app: Flask) -> None:
    """Print the setup link on the console when the service starts without a global admin."""
    with app.app_context():
        try:
            if admin_exists():
                return
            url = link()
        except SQLAlchemyError:
            log.warning("no database yet: run `sspr db upgrade`, then restart to get the first-admin setup link")
            return
        finally:
            db.session.remove()
    print(
        f"\n  No administrator yet. Create the first one here (link valid for "
        f"{app.config['SETUP_LINK_SECONDS'] // 3600} hours):\n  {url}\n",
        flush=True,
    )
