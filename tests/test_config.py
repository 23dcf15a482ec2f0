"""Start-up configuration: defaults, SSPR_* variables, and settings that cannot work refused in one line."""

from __future__ import annotations

import stat

import pytest

from sspr import config, create_app
from sspr.errors import ConfigError

BASE = {"SECRET_KEY": "k" * 32, "DATABASE_URL": "sqlite://", "AUTO_MIGRATE": False, "SENDER_THREAD": False}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"MAIL_BACKEND": "carrier-pigeon"}, "SSPR_MAIL_BACKEND must be one of outbox, smtp"),
        ({"SMS_BACKEND": "twilio"}, "SSPR_SMS_BACKEND=twilio needs SSPR_TWILIO_ACCOUNT_SID"),
        ({"ARGON2_PROFILE": "CHEAPEST"}, "SSPR_ARGON2_PROFILE=CHEAPEST is for tests only"),
        ({"CODE_DIGITS": 5}, "SSPR_CODE_DIGITS must be 6, 7 or 8"),
        ({"BASE_URL": "reset.example.org"}, "SSPR_BASE_URL must start with http:// or https://"),
        ({"PHONE_REGION": "XX"}, "not a known region code"),
        ({"RATELIMIT_STORAGE_URL": "mongodb://x"}, "SSPR_RATELIMIT_STORAGE_URL must be memory://"),
        ({"SECRET_KEY": "short"}, "SSPR_SECRET_KEY must be at least 16 characters"),
        ({"RATELIMIT_WIZARD": "twenty a minute"}, "SSPR_RATELIMIT_WIZARD must be limits like"),
        ({"RATELIMIT_SIGNIN_PER_ACCOUNT": "5 per fortnight"}, "SSPR_RATELIMIT_SIGNIN_PER_ACCOUNT must be limits"),
        ({"ADMIN_IDLE_SECONDS": 30}, "SSPR_ADMIN_IDLE_SECONDS must be at least 60"),
        ({"SENDER_LEASE_SECONDS": 30, "TWILIO_TIMEOUT": 10}, "SSPR_SENDER_LEASE_SECONDS must be at least 4 times"),
        (
            {"MAIL_BACKEND": "smtp", "SMTP_HOST": "smtp.example.org", "SMTP_USERNAME": "relay-user"},
            "without SSPR_SMTP_STARTTLS=true would send the SMTP password unencrypted",
        ),
        (
            {"MAIL_BACKEND": "smtp", "SMTP_STARTTLS": True, "SMTP_CA_FILE": "/nonexistent/ca.pem"},
            "SSPR_SMTP_CA_FILE /nonexistent/ca.pem cannot be read",
        ),
    ],
)
def test_settings_that_cannot_work_stop_the_start(overrides, message):
    """Each impossible setting is refused at start-up with a line naming the variable."""
    with pytest.raises(ConfigError, match=message):
        create_app(BASE | overrides)


def test_environment_overrides_the_config_given(monkeypatch):
    """SSPR_* variables win, and yes/no style booleans are understood."""
    monkeypatch.setenv("SSPR_SMTP_STARTTLS", "yes")
    monkeypatch.setenv("SSPR_SMTP_PORT", "2525")
    monkeypatch.setenv("SSPR_BASE_URL", "https://reset.example.org/")

    app = create_app(BASE | {"SMTP_PORT": 25})

    assert app.config["SMTP_STARTTLS"] is True
    assert app.config["SMTP_PORT"] == 2525
    assert app.config["BASE_URL"] == "https://reset.example.org"


def test_a_bad_boolean_is_refused(monkeypatch):
    """A boolean variable that is neither true nor false stops the start."""
    monkeypatch.setenv("SSPR_SENDER_THREAD", "perhaps")

    with pytest.raises(ConfigError, match="SSPR_SENDER_THREAD must be true or false"):
        create_app(BASE)


def test_generated_secret_key_is_kept_private_and_reused(tmp_path):
    """The embedded default makes a key once (mode 0600) and reads the same key after."""
    path = tmp_path / "secret_key"

    first = config._stored_secret_key(path)
    again = config._stored_secret_key(path)

    assert first == again
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
