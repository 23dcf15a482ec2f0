"""sspr: self-service password reset.

``create_app`` loads and validates the configuration, wires the extensions,
blueprints, error pages and commands.  Nothing else lives here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask

from sspr import (
    cli,
    database,
    errors,
    i18n,
    passwords,
    policy,
    ratelimits,
    reminders,
    retention,
    security,
    sessions,
    setup,
)
from sspr import config as configuration
from sspr.account.views import bp as account
from sspr.admin.blueprint import bp as admin
from sspr.auth.views import bp as auth
from sspr.extensions import csrf, db, migrate
from sspr.health import bp as health
from sspr.pages import bp as pages
from sspr.password_check import bp as password_check
from sspr.reset.views import bp as reset
from sspr.reveal.views import bp as reveal
from sspr.verification import outbox
from sspr.verification.email import MailSender, OutboxMailSender, SmtpMailSender
from sspr.verification.sms import OutboxSmsSender, SmsSender, TwilioSmsSender

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application, configured from defaults, instance file, ``config`` and SSPR_* variables."""
    app = Flask(__name__, instance_relative_config=True)
    configuration.load(app, config)
    app.logger.setLevel(str(app.config["LOG_LEVEL"]).upper())

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)
    ratelimits.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    sessions.init_app(app)
    errors.register(app)
    database.init_app(app)
    policy.init_app(app)

    app.extensions["sspr.hasher"] = passwords.build_hasher(app.config["ARGON2_PROFILE"])
    app.extensions["sspr.senders"] = _senders(app.config)
    outbox.init_app(app, chores=(retention.purge, reminders.send_due))

    for blueprint in (health, pages, auth, account, reset, reveal, admin, password_check):
        app.register_blueprint(blueprint)
    cli.register(app)

    if _serving() and not app.testing:
        setup.announce(app)
    return app


def _senders(cfg: Any) -> dict[str, MailSender | SmsSender]:
    mail = (
        SmtpMailSender(cfg) if cfg["MAIL_BACKEND"] == "smtp" else OutboxMailSender(cfg["OUTBOX_DIR"], cfg["MAIL_FROM"])
    )
    sms = TwilioSmsSender(cfg) if cfg["SMS_BACKEND"] == "twilio" else OutboxSmsSender(cfg["OUTBOX_DIR"])
    return {"email": mail, "sms": sms}


def _serving() -> bool:
    """True for a web server (gunicorn, `sspr run`), false for the other commands."""
    ctx = click.get_current_context(silent=True)
    return ctx is None or ctx.info_name == "run"


__all__ = ["create_app"]
