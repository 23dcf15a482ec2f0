"""The database tables, as SQLAlchemy 2 typed models.

Times are stored as naive UTC and read back timezone-aware, so SQLite and
PostgreSQL behave the same.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sspr import clock
from sspr.extensions import db

ROLES = ("user", "password-admin", "global-admin")
ADMIN_ROLES = ("password-admin", "global-admin")
# The largest id an integer key holds on every backend: an id typed into a URL
# beyond it names nobody (and SQLite would refuse the query with an overflow).
MAX_ID = 2**31 - 1


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def new_session_version() -> str:
    return secrets.token_hex(16)


class User(db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As typed at creation, for display.
    username: Mapped[str] = mapped_column(String(150))
    # NFKC + casefold of the user name: what sign-in and the wizard compare.
    username_key: Mapped[str] = mapped_column(String(600), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="user")
    # Verified contact details; pending changes live in challenges until confirmed.
    alternate_email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    # Rotated whenever the password changes: every session and link made before dies.
    session_version: Mapped[str] = mapped_column(String(32), default=new_session_version)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_never_expires: Mapped[bool] = mapped_column(default=False)
    # Sign-in refused until an admin unblocks (also set by "this wasn't me").
    blocked: Mapped[bool] = mapped_column(default=False)
    # Sign-in refused until then, after too many wrong passwords.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(default=0)
    # Comma-separated group names, for a self-service policy limited to a group.
    groups: Mapped[str] = mapped_column(String(500), default="")
    # When the user last confirmed their contact details are current.
    contacts_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    def verified_methods(self) -> list[str]:
        return [m for m, value in (("email", self.alternate_email), ("sms", self.phone)) if value]

    def destination(self, method: str) -> str | None:
        return {"email": self.alternate_email, "sms": self.phone}.get(method)


class ResetFlow(db.Model):  # type: ignore[name-defined]
    """One run through the wizard.  Unknown user names get a flow too (a decoy
    with no user) so that both walk the same steps and the same queries."""

    __tablename__ = "reset_flows"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Keyed digest of the normalised user name typed: code limits count per name.
    subject_key: Mapped[str] = mapped_column(String(64), index=True)
    # Digest of the browser-session nonce the flow is bound to.
    binding: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(20))
    # Bumped by every change: an optimistic lock, so of two concurrent posts one fails.
    version: Mapped[int] = mapped_column(default=0)
    # Random, renewed at every step; the page's token carries it, so each token works once.
    step_nonce: Mapped[str] = mapped_column(String(32), default="")
    methods_verified: Mapped[str] = mapped_column(String(50), default="")
    current_method: Mapped[str | None] = mapped_column(String(10))
    wrong_tries: Mapped[int] = mapped_column(default=0)
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it once

    def verified(self) -> list[str]:
        return [m for m in self.methods_verified.split(",") if m]


class Challenge(db.Model):  # type: ignore[name-defined]
    """A code sent to a destination, stored only as a keyed digest."""

    __tablename__ = "challenges"
    __table_args__ = (
        Index("ix_challenges_subject_created", "subject_key", "created_at"),
        Index("ix_challenges_destination_created", "destination_key", "created_at"),
        Index("ix_challenges_channel_created", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "reset" (wizard) or "contact" (confirming a new address or number at /account).
    purpose: Mapped[str] = mapped_column(String(10))
    flow_id: Mapped[str | None] = mapped_column(ForeignKey("reset_flows.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    subject_key: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10))
    # Only for "contact": the new address or number waiting to be confirmed.
    pending_destination: Mapped[str | None] = mapped_column(String(320))
    # Keyed digest of the normalised address or number, set only when a message went
    # out: the per-destination limit and the SMS ceiling count these (sspr.message_limits).
    destination_key: Mapped[str | None] = mapped_column(String(64))
    code_digest: Mapped[str] = mapped_column(String(64))
    link_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Wrong codes against this challenge (reset flows count theirs on the flow).
    wrong_tries: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """A mail or SMS waiting for delivery, written in the same transaction as
    what caused it.  The body is erased once it cannot be sent any more."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(320))
    # What the message is ("code", "password_changed", "reveal", ...: its template's name).
    kind: Mapped[str] = mapped_column(String(30), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    # "pending", "sent", "dead" (gave up after errors; an admin may retry it), "expired"
    # (too late to matter), "discarded" (given up by an admin).
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # A message past this time is no longer worth sending (an expired code).
    not_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")


class AuditEvent(db.Model):  # type: ignore[name-defined]
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    event: Mapped[str] = mapped_column(String(50), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")


class PasswordReminder(db.Model):  # type: ignore[name-defined]
    """One expiry reminder sent: unique per password and offset, so never twice."""

    __tablename__ = "password_reminders"
    __table_args__ = (UniqueConstraint("user_id", "password_changed_at", "days_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    days_before: Mapped[int] = mapped_column()
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class RevealLink(db.Model):  # type: ignore[name-defined]
    """A temporary password set by an admin, shown once through a link and then erased."""

    __tablename__ = "reveal_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # The password, encrypted with a key derived from SECRET_KEY; emptied once shown.
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Setting(db.Model):  # type: ignore[name-defined]
    """One stored policy value (JSON), shared by every app server."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
