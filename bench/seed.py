"""Create the benchmark's users in the benchmark's database (run as a subprocess
with the server's environment, so the schema and hasher are the server's own).

Reads a JSON list of {"username", "password", "email", "phone"} on standard input.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from sspr import create_app, users
from sspr.extensions import db


def main() -> None:
    wanted = json.load(sys.stdin)
    # create_app() outside a click command counts as "serving" and prints the
    # first-admin setup link; that is noise here.
    with contextlib.redirect_stdout(io.StringIO()):
        app = create_app({"SENDER_THREAD": False})
    with app.app_context():
        for u in wanted:
            users.create(u["username"], u["password"], alternate_email=u["email"], phone=u["phone"])
        db.session.commit()
    print(f"created {len(wanted)} users")


if __name__ == "__main__":
    main()
