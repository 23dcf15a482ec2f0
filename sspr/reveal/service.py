"""Reveal links: the temporary password an admin set, shown once through a mailed
link and then erased.  The password itself never goes into a mail.

The link carries a random secret.  The database keeps only the secret's SHA-256
digest (to find the row) and the password encrypted with Fernet under a key
derived from SECRET_KEY *and* the secret: a copy of the database, even with the
secret key, opens nothing without the mail.  The encrypted payload also holds
the user's session version, which rotates with every password change, so a
link dies as soon as the password it shows is no longer the user's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import select, update

from sspr import audit
from sspr.errors import RevealExpired, RevealInvalid, RevealUsed
from sspr.extensions import db
from sspr.models import RevealLink, User

# How long a link shows its password: a weekend, so a Friday reset reaches Monday.
LIFETIME = timedelta(hours=72)
PURPOSE = b"sspr.reveal"


def _fernet(secret: str) -> MultiFernet:
    """Fernet keys for this link: the current SECRET_KEY first, then the fallbacks (key rotation)."""
    cfg = current_app.config
    keys = []
    for key in [cfg["SECRET_KEY"], *cfg["SECRET_KEY_FALLBACKS"]]:
        purpose_key = hmac.new(str(key).encode(), PURPOSE, hashlib.sha256).digest()
        link_key = hmac.new(purpose_key, secret.encode(), hashlib.sha256).digest()
        keys.append(Fernet(base64.urlsafe_b64encode(link_key)))
    return MultiFernet(keys)


def digest(secret: str) -> str:
    """What the database keeps of the secret: enough to find the row, useless to rebuild the link.
    A plain hash suffices: the secret is 256 random bits, not something to guess."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create(user: User, password: str, now: datetime) -> str:
    """Stage a link for the password just set (in the caller's transaction); the secret for its URL.
    Call after the password is set: the link is bound to the session version that change made."""
    secret = secrets.token_urlsafe(32)
    payload = json.dumps({"p": password, "v": user.session_version}).encode()
    db.session.add(
        RevealLink(
            user_id=user.id,
            secret_digest=digest(secret),
            ciphertext=_fernet(secret).encrypt(payload).decode(),
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    return secret


def url(secret: str) -> str:
    """The link for a mail: built from BASE_URL only, never from the request's Host."""
    return f"{current_app.config['BASE_URL']}/reveal/{secret}"


@dataclass(frozen=True)
class Opened:
    link: RevealLink
    user: User
    password: str


def find(secret: str, now: datetime) -> Opened:
    """What this secret's link would show, while it still can; else the error page to show."""
    link: RevealLink | None = db.session.scalar(select(RevealLink).where(RevealLink.secret_digest == digest(secret)))
    if link is None:
        raise RevealInvalid("no reveal link with this digest")
    if link.used_at is not None:
        raise RevealUsed(f"reveal link {link.id} used at {link.used_at.isoformat()}")
    if link.expires_at <= now or not link.ciphertext:
        raise RevealExpired(f"reveal link {link.id} expired")
    try:
        payload = json.loads(_fernet(secret).decrypt(link.ciphertext.encode()))
    except InvalidToken as exc:  # the secret key changed with no fallback kept
        raise RevealExpired(f"reveal link {link.id} cannot be decrypted") from exc
    user = db.session.get(User, link.user_id)
    if user is None or payload["v"] != user.session_version:
        raise RevealExpired(f"reveal link {link.id}: the password changed since")
    return Opened(link, user, str(payload["p"]))


def reveal(secret: str, now: datetime) -> tuple[User, str]:
    """The user and the password, once: the row is claimed and its ciphertext erased
    by one conditional UPDATE, so two tabs posting at once cannot both see it.
    Staged in the caller's transaction, which must commit before the page is sent."""
    opened = find(secret, now)
    claimed = db.session.execute(
        update(RevealLink)
        .where(RevealLink.id == opened.link.id, RevealLink.used_at.is_(None))
        .values(used_at=now, ciphertext="")
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise RevealUsed(f"reveal link {opened.link.id} used by a concurrent request")
    audit.record("reveal.shown", subject=opened.user)
    return opened.user, opened.password
