"""What each wizard step does for a known and an unknown name, without a clock:
the SQL statements it runs and the step token it hands out.

`.venv/bin/python -m bench.statements` runs the app in-process (Flask test
client, SQLite in a temp dir, no sender thread) and walks one known and one
unknown name through user name (and the method page it redirects to), method
and three wrong codes.  Timing on this
shared machine is noisy; these counts are not, so they show where a
known/unknown gap comes from.

The step token is signed, not encrypted: anyone can read its payload, so its
fields must be the same for both kinds of name too.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import secrets
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.browser import FORM_RE, INPUT_RE, _attrs
from sspr import create_app, users
from sspr.extensions import db


def hidden(html: str, action: str) -> dict[str, str]:
    for attrs, inner in FORM_RE.findall(html):
        if _attrs(attrs).get("action") == action:
            inputs = [_attrs(i) for i in INPUT_RE.findall(inner)]
            return {i["name"]: i.get("value", "") for i in inputs if i.get("type") == "hidden" and "name" in i}
    raise AssertionError(f"no form posting to {action}")


def token_payload(token: str) -> dict[str, Any]:
    """The readable part of an itsdangerous token (what any browser can decode);
    a leading "." marks a payload itsdangerous compressed."""
    body = token.removeprefix(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return json.loads(zlib.decompress(raw) if token.startswith(".") else raw)  # type: ignore[no-any-return]


def walk(client: FlaskClient, name: str, method: str, log: list[str]) -> list[dict[str, Any]]:
    """Steps of one flow: the statements each ran and the token it returned."""
    page = client.get("/password-reset").get_data(as_text=True)
    steps = [
        ("POST username", "/password-reset", {"username": name}, None),
        ("GET method page", None, {}, "/password-reset/method"),
        ("POST method", "/password-reset/method", {"method": method}, "/password-reset/code"),
        *[("POST code (wrong)", "/password-reset/code", {"code": "000000"}, "/password-reset/code")] * 3,
    ]
    seen = []
    location = ""
    for label, action, fields, next_action in steps:
        log.clear()
        if action is None:  # the page the last post redirected to
            response = client.get(location)
        else:
            response = client.post(action, data={**hidden(page, action), **fields})
        location = response.location or ""
        if next_action is None:
            seen.append({"step": label, "status": response.status_code, "statements": list(log), "token": None})
            continue
        page = response.get_data(as_text=True)
        payload = token_payload(hidden(page, next_action)["token"])
        payload.pop("f", None)  # the flow id and the page's nonce are random by design
        payload.pop("n", None)
        seen.append({"step": label, "status": response.status_code, "statements": list(log), "token": payload})
    return seen


def _only_in(mine: list[str], theirs: list[str]) -> list[str]:
    rest = list(theirs)
    only = []
    for statement in mine:
        if statement in rest:
            rest.remove(statement)
        else:
            only.append(statement)
    return only


def main() -> None:
    method = sys.argv[1] if len(sys.argv) > 1 else "email"
    with tempfile.TemporaryDirectory(prefix="sspr-statements-") as tmp:
        compare(method, Path(tmp))


def compare(method: str, workdir: Path) -> None:
    config = {
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"sqlite:///{workdir / 'sspr.sqlite3'}",
        "OUTBOX_DIR": str(workdir / "outbox"),
        "SENDER_THREAD": False,
    }
    with contextlib.redirect_stdout(io.StringIO()):  # create_app outside a command prints the setup link
        app = create_app(config)
    with app.app_context():
        users.create(
            "known", "bench-" + secrets.token_urlsafe(18), alternate_email="k@example.com", phone="+4520120000"
        )
        db.session.commit()
    log: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        log.append(re.sub(r"\s+", " ", statement))

    event.listen(Engine, "before_cursor_execute", record)
    known = walk(app.test_client(), "known", method, log)
    unknown = walk(app.test_client(), "nobody", method, log)
    event.remove(Engine, "before_cursor_execute", record)

    print(f"method: {method}")
    for k, u in zip(known, unknown, strict=True):
        same_token = k["token"] == u["token"]
        print(
            f"{k['step']:<18} statements known {len(k['statements']):2} unknown {len(u['statements']):2}  "
            f"token known {k['token']} unknown {u['token']}{'' if same_token else '  <-- differs'}"
        )
        for who, mine, theirs in (("known", k, u), ("unknown", u, k)):
            for statement in _only_in(mine["statements"], theirs["statements"]):
                print(f"    {who} only: {statement[:110]}")


if __name__ == "__main__":
    main()
