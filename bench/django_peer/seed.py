"""Users for the peer, made in its database with its settings (run by the benchmark
with the Django venv's Python and the server's environment):

    python -m bench.django_peer.seed known N   # migrate; N users by e-mail; prints their addresses
    python -m bench.django_peer.seed links N   # N more users; prints one valid reset link each

All users share one hash made by the configured hasher: neither the reset form
nor the confirm view verifies the old password, and hashing N passwords here
would cost what is being measured.  A link stops working once its user's
password changes, so every password POST needs a user of its own.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.django_peer.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402 - needs django.setup() first
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.tokens import default_token_generator  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils.encoding import force_bytes  # noqa: E402
from django.utils.http import urlsafe_base64_encode  # noqa: E402


def make_users(prefix: str, count: int) -> list[Any]:
    user_model = get_user_model()
    shared = make_password(secrets.token_urlsafe(18))
    users = [
        user_model(username=f"{prefix}-{i}", email=f"{prefix}-{i}@example.com", password=shared) for i in range(count)
    ]
    return user_model.objects.bulk_create(users)


def known(count: int) -> list[str]:
    call_command("migrate", verbosity=0)
    return [u.email for u in make_users("django-known", count)]


def links(count: int) -> list[str]:
    made = make_users(f"django-reset-{secrets.token_hex(4)}", count)
    return [
        reverse(
            "password_reset_confirm",
            kwargs={"uidb64": urlsafe_base64_encode(force_bytes(u.pk)), "token": default_token_generator.make_token(u)},
        )
        for u in made
    ]


def main() -> None:
    what, count = sys.argv[1], int(sys.argv[2])
    print(json.dumps(known(count) if what == "known" else links(count)))


if __name__ == "__main__":
    main()
