"""Each app process keeps the policy it read for REREAD_SECONDS: a change counts at
once in the process that made it, and on every other once its copy is that old."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from sspr import create_app, policy
from sspr.extensions import db
from sspr.policy import Policy, SharedCopy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_copy_is_kept_for_its_seconds_then_read_again():
    """Reads within REREAD_SECONDS get the first read's policy; the next one reads again."""
    clock = Clock()
    copy = SharedCopy(monotonic=clock)
    copy.get(lambda: Policy(helpdesk="first"))
    clock.now = policy.REREAD_SECONDS - 0.01
    kept = copy.get(lambda: Policy(helpdesk="second"))
    clock.now = policy.REREAD_SECONDS

    again = copy.get(lambda: Policy(helpdesk="second"))

    assert kept.helpdesk == "first"
    assert again.helpdesk == "second"


def test_a_read_that_a_change_overtook_is_not_kept():
    """A read that began before forget() may hold the old values: it serves its own request only."""
    copy = SharedCopy(monotonic=Clock())

    def read_while_a_change_commits() -> Policy:
        copy.forget()
        return Policy(helpdesk="from before the change")

    copy.get(read_while_a_change_commits)
    after = copy.get(lambda: Policy(helpdesk="changed"))

    assert after.helpdesk == "changed"


def helpdesk_shown(server: Flask) -> str:
    page = server.test_client().get("/password-reset").get_data(as_text=True)
    return "changed" if "Contact the changed desk" in page else "as before"


def change_helpdesk(server: Flask) -> None:
    with server.app_context():
        policy.save({"helpdesk": "the changed desk"})
        db.session.commit()


@pytest.fixture
def other_server(app: Flask) -> Iterator[tuple[Flask, Clock]]:
    """A second app server on the same database, its policy copy on a clock the test moves."""
    other = create_app(
        {
            key: app.config[key]
            for key in ("TESTING", "SECRET_KEY", "DATABASE_URL", "ARGON2_PROFILE", "SENDER_THREAD", "OUTBOX_DIR")
        }
        | {"AUTO_MIGRATE": False}
    )
    clock = Clock()
    other.extensions["sspr.policy"] = SharedCopy(monotonic=clock)
    yield other, clock
    with other.app_context():
        db.engine.dispose()


def test_the_server_that_made_a_change_has_it_at_once(app):
    """The admin's own server shows the change on the next page, however fresh its copy."""
    helpdesk_shown(app)

    change_helpdesk(app)

    assert helpdesk_shown(app) == "changed"


def test_another_server_has_a_change_once_its_copy_is_old_enough(app, other_server):
    """Another server keeps its copy for REREAD_SECONDS, then shows the change."""
    other, clock = other_server
    helpdesk_shown(other)
    change_helpdesk(app)
    clock.now = policy.REREAD_SECONDS - 0.01
    before = helpdesk_shown(other)
    clock.now = policy.REREAD_SECONDS

    after = helpdesk_shown(other)

    assert before == "as before"
    assert after == "changed"


def test_a_change_given_up_is_not_kept_even_if_read_before_the_rollback(app):
    """Values staged and read in the same transaction, then rolled back, are not what the next page shows."""
    with app.app_context():
        policy.save({"helpdesk": "the changed desk"})
        staged = policy.current().helpdesk
        db.session.rollback()

    shown = helpdesk_shown(app)

    assert staged == "the changed desk"
    assert shown == "as before"
