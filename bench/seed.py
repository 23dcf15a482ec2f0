"""Create the benchmark's users in the benchmark's database (run as a subprocess
with the server's environment, so the schema and hasher are the server's own).

Reads a JSON list of {"username", "password", "email", "phone"} on standard input.
The policy's message limits are lifted past what the console allows (thousands
of codes go to a few dozen addresses); the results report the server's settings.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from sspr import create_app, policy, users
from sspr.extensions import db

LIFTED_LIMITS = {"codes_per_destination_per_hour": 1_000_000, "sms_per_hour": 1_000_000}


def main() -> None:
    wanted = json.load(sys.stdin)
    # create_app() outside a click command counts as "serving" and prints the
    # first-admin setup link; that is noise here.
    with contextlib.redirect_stdout(io.StringIO()):
        app = create_app({"SENDER_THREAD": False})
    with app.app_context():
        for u in wanted:
            users.create(u["username"], u["password"], alternate_email=u["email"], phone=u["phone"])
        policy.save(LIFTED_LIMITS)
        db.session.commit()
    print(f"created {len(wanted)} users")


if __name__ == "__main__":
    main()
