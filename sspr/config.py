"""Every configuration key, its default and its meaning, and start-up validation.

Precedence (lowest first): these defaults, the instance folder's ``config.py``,
the ``config`` mapping given to ``create_app``, then ``SSPR_*`` environment
variables.  Code reads ``current_app.config[KEY]`` and never invents a default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import limits
import phonenumbers
from flask import Flask

from sspr import database
from sspr.errors import ConfigError

DEFAULTS: dict[str, Any] = {
    # Signs sessions and tokens.  None: generated once into the instance folder.
    "SECRET_KEY": None,
    # Earlier secret keys, still accepted when verifying tokens (key rotation).
    "SECRET_KEY_FALLBACKS": [],
    # SQLAlchemy URL.  None: a SQLite file in the instance folder.
    "DATABASE_URL": None,
    # The service's name in pages, mails and SMS.
    "SITE_NAME": "sspr",
    # Apply schema upgrades at start when the database is SQLite (the embedded default).
    "AUTO_MIGRATE": True,
    # Public URL of the service: the only source of links sent out.
    "BASE_URL": "http://127.0.0.1:5000",
    # Mail delivery: "outbox" (files in the instance folder) or "smtp".
    "MAIL_BACKEND": "outbox",
    "SMTP_HOST": "localhost",
    "SMTP_PORT": 25,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_STARTTLS": False,
    # A PEM file of CA certificates to trust for the SMTP server, beside the system's (a private CA).
    "SMTP_CA_FILE": None,
    "SMTP_TIMEOUT": 10.0,
    "MAIL_FROM": "no-reply@localhost",
    # SMS delivery: "outbox" or "twilio".
    "SMS_BACKEND": "outbox",
    "TWILIO_ACCOUNT_SID": None,
    "TWILIO_AUTH_TOKEN": None,
    "TWILIO_FROM": None,
    # Sends the twilio library's requests here instead of api.twilio.com.
    "TWILIO_API_BASE": None,
    "TWILIO_TIMEOUT": 10.0,
    # Rate-limit counters: memory:// or redis://host:port.
    "RATELIMIT_STORAGE_URL": "memory://",
    # Posts per client address (the limits library's notation) to each wizard step, to sign-in and to /account.
    "RATELIMIT_WIZARD": "20 per minute;200 per hour",
    "RATELIMIT_SIGNIN": "30 per minute;300 per hour",
    "RATELIMIT_ACCOUNT": "20 per minute;100 per hour",
    # Posts to the wizard's first step per user name typed, from any address, whether the user exists or not.
    "RATELIMIT_WIZARD_PER_ACCOUNT": "10 per hour",
    # Posts to sign-in per user name typed, from any address, whether the user exists or not;
    # above LOGIN_LOCKOUT_THRESHOLD a minute, so a person meets the lockout (and its message) first.
    "RATELIMIT_SIGNIN_PER_ACCOUNT": "20 per minute;100 per hour",
    # Posts to /account per signed-in user, from any address.
    "RATELIMIT_ACCOUNT_PER_USER": "10 per minute;50 per hour",
    # Posts per client address to /password-check, which the pages' script asks as a new password is typed.
    "RATELIMIT_PASSWORD_CHECK": "30 per minute;300 per hour",
    # X-RateLimit-* headers on every counted post (each costs a read of the counters).
    # A request over a limit gets Retry-After either way.
    "RATELIMIT_HEADERS_ENABLED": False,
    # Put before every counter's key, for a Redis that other applications share.
    "RATELIMIT_KEY_PREFIX": "",
    # While the storage cannot be reached, count in each process's memory (else such posts fail).
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
    # Proxies in front that set X-Forwarded-For and X-Forwarded-Proto (0: none).  Behind
    # one, set 1: otherwise every client has the proxy's address and they share one limit.
    "TRUSTED_PROXIES": 0,
    # Region for phone numbers typed without +country.
    "PHONE_REGION": "DK",
    # Where outbox files go.  None: "outbox" in the instance folder.
    "OUTBOX_DIR": None,
    # Run the outbox sender as a thread inside each app process.  Turn off
    # when `sspr worker` processes deliver instead.
    "SENDER_THREAD": True,
    # Seconds the sender sleeps when it has nothing to do.
    "SENDER_POLL_SECONDS": 1.0,
    # Delivery attempts before a message is given up ("dead").
    "SENDER_MAX_ATTEMPTS": 8,
    # Seconds a sender holds the messages it claimed; one that dies leaves them to others after this.
    "SENDER_LEASE_SECONDS": 120,
    # argon2 parameters: RFC_9106_LOW_MEMORY, RFC_9106_HIGH_MEMORY; CHEAPEST only under TESTING.
    "ARGON2_PROFILE": "RFC_9106_LOW_MEMORY",
    # Digits in a verification code (the contract allows 6 to 8).
    "CODE_DIGITS": 6,
    # Wrong codes a reset flow survives before it must start again.
    "CODE_MAX_WRONG_TRIES": 5,
    # Codes sent per user name in any hour, however many flows ask.
    "CODES_PER_USER_PER_HOUR": 5,
    # Seconds a wizard step's token stays valid (the whole flow has this long per step).
    "FLOW_STEP_SECONDS": 15 * 60,
    # Wrong passwords in a row that lock an account's sign-in, and the first lock's
    # minutes; each further lock doubles, up to a day.  A reset or an admin unlocks.
    "LOGIN_LOCKOUT_THRESHOLD": 10,
    "LOGIN_LOCKOUT_MINUTES": 15,
    # Seconds a sign-in session lasts, at most, from the sign-in.
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    # Seconds an admin's session lasts from the sign-in.
    "ADMIN_SESSION_SECONDS": 3600,
    # Seconds without a request after which a session ends (to the minute), and the same for admins.
    "SESSION_IDLE_SECONDS": 30 * 60,
    "ADMIN_IDLE_SECONDS": 15 * 60,
    # Dangerous admin actions (bulk reset, policy change) ask for the password again after this many seconds.
    "ADMIN_REAUTH_SECONDS": 15 * 60,
    # Seconds the one-time first-admin setup link stays valid.
    "SETUP_LINK_SECONDS": 24 * 3600,
    # Level of sspr's own log lines (audit events, deliveries): DEBUG, INFO, WARNING, ERROR.
    "LOG_LEVEL": "INFO",
    # Largest request body accepted, in bytes.
    "MAX_CONTENT_LENGTH": 64 * 1024,
    # Languages offered; the first is the fallback.
    "LANGUAGES": ["en", "da"],
    # Flask settings that follow from the above.
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "sspr_session",
    # The session cookie is sent again only when it changes (the idle timer's mark, at most
    # once a minute), not with every response; the lifetimes above are checked on the server.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "WTF_CSRF_TIME_LIMIT": 3600,
    # Flask-WTF's HTTPS check wants a Referer on every POST, but the wizard's pages
    # send none (Referrer-Policy: no-referrer, which the tokens in them call for).
    # The CSRF token in every form and the SameSite session cookie do the work.
    "WTF_CSRF_SSL_STRICT": False,
    # Send the session cookie over HTTPS only.  None: when SSPR_BASE_URL is https://.
    "SESSION_COOKIE_SECURE": None,
}

MAIL_BACKENDS = ("outbox", "smtp")
SMS_BACKENDS = ("outbox", "twilio")
# The request limits, each "N per minute;M per hour" (the limits library's notation).
RATE_LIMITS = (
    "RATELIMIT_WIZARD",
    "RATELIMIT_SIGNIN",
    "RATELIMIT_ACCOUNT",
    "RATELIMIT_WIZARD_PER_ACCOUNT",
    "RATELIMIT_SIGNIN_PER_ACCOUNT",
    "RATELIMIT_ACCOUNT_PER_USER",
    "RATELIMIT_PASSWORD_CHECK",
)
# SMTP servers on this machine: a login to them never crosses a network.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
ARGON2_PROFILES = ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")


def load(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, instance file, overrides and environment."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    if overrides:
        app.config.from_mapping(overrides)
    app.config.from_prefixed_env("SSPR")
    _coerce(app)
    _fill_instance_defaults(app)
    validate(app.config)


def _coerce(app: Flask) -> None:
    """Environment values arrive as strings unless they parse as JSON."""
    cfg = app.config
    for key in (
        "SMTP_STARTTLS",
        "SENDER_THREAD",
        "AUTO_MIGRATE",
        "RATELIMIT_HEADERS_ENABLED",
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED",
        "SESSION_COOKIE_SECURE",
    ):
        value = cfg[key]
        if isinstance(value, str):
            if value.strip().lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ConfigError(f"SSPR_{key} must be true or false, not {value!r}")
            cfg[key] = value.strip().lower() in ("true", "1", "yes", "on")
    for key in (
        "PERMANENT_SESSION_LIFETIME",
        "TRUSTED_PROXIES",
        "LOGIN_LOCKOUT_THRESHOLD",
        "LOGIN_LOCKOUT_MINUTES",
        "ADMIN_SESSION_SECONDS",
        "SESSION_IDLE_SECONDS",
        "ADMIN_IDLE_SECONDS",
        "ADMIN_REAUTH_SECONDS",
        "SMTP_PORT",
        "CODE_DIGITS",
        "CODE_MAX_WRONG_TRIES",
        "CODES_PER_USER_PER_HOUR",
        "FLOW_STEP_SECONDS",
        "SENDER_MAX_ATTEMPTS",
        "SENDER_LEASE_SECONDS",
        "SETUP_LINK_SECONDS",
        "MAX_CONTENT_LENGTH",
    ):
        try:
            cfg[key] = int(cfg[key])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"SSPR_{key} must be a whole number, not {cfg[key]!r}") from exc
    for key in ("SMTP_TIMEOUT", "TWILIO_TIMEOUT", "SENDER_POLL_SECONDS"):
        try:
            cfg[key] = float(cfg[key])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"SSPR_{key} must be a number, not {cfg[key]!r}") from exc
    for key in ("TWILIO_FROM", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        if cfg[key] is not None:
            cfg[key] = str(cfg[key])
    if isinstance(cfg["SECRET_KEY_FALLBACKS"], str):
        cfg["SECRET_KEY_FALLBACKS"] = [k for k in cfg["SECRET_KEY_FALLBACKS"].split(",") if k]
    cfg["BASE_URL"] = str(cfg["BASE_URL"]).rstrip("/")
    if cfg["SESSION_COOKIE_SECURE"] is None:
        cfg["SESSION_COOKIE_SECURE"] = cfg["BASE_URL"].startswith("https://")


def _fill_instance_defaults(app: Flask) -> None:
    """The embedded defaults: secret key, database and outbox in the instance folder."""
    instance = Path(app.instance_path)
    cfg = app.config
    needs_instance = not cfg["SECRET_KEY"] or not cfg["DATABASE_URL"] or not cfg["OUTBOX_DIR"]
    if needs_instance:
        instance.mkdir(parents=True, exist_ok=True)
    if not cfg["SECRET_KEY"]:
        cfg["SECRET_KEY"] = _stored_secret_key(instance / "secret_key")
    if not cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = f"sqlite:///{instance / 'sspr.sqlite3'}"
    if not cfg["OUTBOX_DIR"]:
        cfg["OUTBOX_DIR"] = str(instance / "outbox")
    cfg["SQLALCHEMY_DATABASE_URI"] = cfg["DATABASE_URL"]
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(cfg["DATABASE_URL"])


def _stored_secret_key(path: Path) -> str:
    """Read the generated key, or create it (0600) without racing other workers."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 32:
            raise ConfigError(f"{path} holds no usable secret key; delete it to make a new one") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def _validate_smtp(cfg: Any) -> None:
    if cfg["SMTP_USERNAME"] and not cfg["SMTP_STARTTLS"] and cfg["SMTP_HOST"] not in LOOPBACK_HOSTS:
        raise ConfigError(
            "SSPR_SMTP_USERNAME without SSPR_SMTP_STARTTLS=true would send the SMTP password unencrypted"
        )
    ca_file = cfg["SMTP_CA_FILE"]
    if ca_file and not os.access(ca_file, os.R_OK):
        raise ConfigError(f"SSPR_SMTP_CA_FILE {ca_file} cannot be read")


def validate(cfg: Any) -> None:
    """Refuse to start on settings that cannot work, with one clear line each."""
    if len(str(cfg["SECRET_KEY"])) < 16:
        raise ConfigError("SSPR_SECRET_KEY must be at least 16 characters")
    if cfg["MAIL_BACKEND"] not in MAIL_BACKENDS:
        raise ConfigError(f"SSPR_MAIL_BACKEND must be one of {', '.join(MAIL_BACKENDS)}")
    if cfg["SMS_BACKEND"] not in SMS_BACKENDS:
        raise ConfigError(f"SSPR_SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}")
    if cfg["SMS_BACKEND"] == "twilio":
        missing = [k for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM") if not cfg[k]]
        if missing:
            raise ConfigError("SSPR_SMS_BACKEND=twilio needs " + ", ".join("SSPR_" + k for k in missing))
    if cfg["MAIL_BACKEND"] == "smtp":
        _validate_smtp(cfg)
    if cfg["ARGON2_PROFILE"] not in ARGON2_PROFILES:
        raise ConfigError(f"SSPR_ARGON2_PROFILE must be one of {', '.join(ARGON2_PROFILES)}")
    if cfg["ARGON2_PROFILE"] == "CHEAPEST" and not cfg.get("TESTING"):
        raise ConfigError("SSPR_ARGON2_PROFILE=CHEAPEST is for tests only")
    if str(cfg["LOG_LEVEL"]).upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("SSPR_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
    for key in ("SESSION_IDLE_SECONDS", "ADMIN_IDLE_SECONDS"):
        if cfg[key] < 60:
            raise ConfigError(f"SSPR_{key} must be at least 60 (seconds)")
    # A message is started only in the first half of its lease (sspr.verification.outbox), so
    # that half must hold a slow send: else another sender could take the message and send it again.
    if cfg["SENDER_LEASE_SECONDS"] < 4 * max(cfg["SMTP_TIMEOUT"], cfg["TWILIO_TIMEOUT"]):
        raise ConfigError(
            "SSPR_SENDER_LEASE_SECONDS must be at least 4 times the longer of SSPR_SMTP_TIMEOUT and SSPR_TWILIO_TIMEOUT"
        )
    if not 6 <= cfg["CODE_DIGITS"] <= 8:
        raise ConfigError("SSPR_CODE_DIGITS must be 6, 7 or 8")
    if not str(cfg["BASE_URL"]).startswith(("http://", "https://")):
        raise ConfigError("SSPR_BASE_URL must start with http:// or https://")
    for key in RATE_LIMITS:
        try:
            limits.parse_many(str(cfg[key]))
        except ValueError:
            raise ConfigError(f"SSPR_{key} must be limits like '20 per minute;200 per hour'") from None
    if not str(cfg["RATELIMIT_STORAGE_URL"]).startswith(("memory://", "redis://", "rediss://")):
        raise ConfigError("SSPR_RATELIMIT_STORAGE_URL must be memory:// or redis://host:port")
    if cfg["PHONE_REGION"] not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"SSPR_PHONE_REGION {cfg['PHONE_REGION']!r} is not a known region code")
