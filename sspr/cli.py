"""The `sspr` commands beyond Flask's own: users, policy and the outbox worker.

Every command exits 0 on success and 1 with one line on standard error on
failure (click's UsageError, exit 2, for malformed command lines).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import sys
from types import FrameType
from typing import NoReturn, TextIO

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from sspr import audit, policy, users
from sspr.admin import resets
from sspr.extensions import db
from sspr.models import ROLES, User

users_cli = AppGroup("users", help="Create, list and reset users.")
policy_cli = AppGroup("policy", help="Show or change the self-service policy.")


def fail(message: str) -> NoReturn:
    """Stop the command with one clear line on standard error and exit status 1."""
    db.session.rollback()
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _read_password(given: str | None) -> str:
    if given == "-":
        return sys.stdin.readline().rstrip("\r\n")
    if given is not None:
        return given
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_cli.command("add")
@click.argument("username")
@click.option("--password", help="The password; '-' reads it from standard input. Prompted for when left out.")
@click.option("--display-name", default="", help="The name shown for the user.")
@click.option("--alternate-email", help="Where reset codes go by mail.")
@click.option("--phone", help="Mobile number for SMS codes (E.164, or national in SSPR_PHONE_REGION).")
# Checked by users.create, not click.Choice: an unknown role is a failure like a
# bad phone number (one line on standard error), not a usage error.
@click.option("--role", default="user", show_default=True, metavar="|".join(ROLES), help="What the user may do.")
def add_user(
    username: str, password: str | None, display_name: str, alternate_email: str | None, phone: str | None, role: str
) -> None:
    """Create a user."""
    secret = _read_password(password)
    if not secret:
        fail("the password is empty")
    try:
        user = users.create(
            username, secret, display_name=display_name, alternate_email=alternate_email, phone=phone, role=role
        )
    except users.UserError as exc:
        fail(str(exc))
    audit.record("cli.user_added", subject=user, role=role)
    db.session.commit()
    click.echo(f"created {user.username} ({user.role})")


@users_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def list_users(as_json: bool) -> None:
    """Print the users."""
    rows = [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "alternate_email": u.alternate_email,
            "phone": u.phone,
            "must_change_password": u.must_change_password,
            "password_never_expires": u.password_never_expires,
            "password_changed_at": u.password_changed_at.isoformat(),
            "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
        }
        for u in db.session.scalars(select(User).order_by(User.username_key))
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['username']:<24} {row['role']:<15} {row['alternate_email'] or '-':<32} {row['phone'] or '-'}")


def _targets(usernames: tuple[str, ...], everyone: bool, exclude: tuple[str, ...] = ()) -> list[User]:
    """The users named (all must exist), or all users less the excluded ones."""
    if everyone == bool(usernames):
        fail("name the users, or give --all (not both)")
    if exclude and not everyone:
        # Silently ignoring it would reset the users named, the excluded one among them.
        fail("--exclude goes with --all; to leave a user out, do not name them")
    if everyone:
        skip = set()
        for name in exclude:
            user = users.find(name)
            if user is None:  # a misspelt name must not reset the very user it meant to spare
                fail(f"no user named {name} (given with --exclude)")
            skip.add(user.id)
        return [u for u in db.session.scalars(select(User).order_by(User.id)) if u.id not in skip]
    found: dict[int, User] = {}
    for name in usernames:
        user = users.find(name)
        if user is None:
            fail(f"no user named {name}")
        # A name given twice is reset once: a second reset would void the first password printed.
        found.setdefault(user.id, user)
    return list(found.values())


@users_cli.command("reset-password")
@click.argument("usernames", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="Every user (less --exclude).")
@click.option("--exclude", multiple=True, help="A user to leave out of --all (repeatable).")
@click.option("--password", help="Set this password for each user instead of generated ones.")
@click.option(
    "--require-change/--no-require-change",
    default=True,
    show_default=True,
    help="Make each user change the password at next sign-in.",
)
@click.option(
    "--csv-out",
    type=click.Path(dir_okay=False, writable=True),
    help="Write username,password rows to this file (mode 0600) instead of standard output.",
)
@click.option(
    "--csv-in",
    type=click.File("r", encoding="utf-8-sig"),
    help="Also reset the users named in this file: one user name a line, or username[,anything] rows.",
)
def reset_password(
    usernames: tuple[str, ...],
    everyone: bool,
    exclude: tuple[str, ...],
    password: str | None,
    require_change: bool,
    csv_out: str | None,
    csv_in: TextIO | None,
) -> None:
    """Set temporary passwords and print them once."""
    if csv_in is not None:
        usernames += _names_from(csv_in)
        if not usernames and not everyone:
            fail(f"no user names in {csv_in.name}")
    targets = _targets(usernames, everyone, exclude)
    # The file is opened before any password changes: one that cannot be
    # written stops the reset, rather than leaving passwords nobody knows.
    with _open_private(csv_out) if csv_out else contextlib.nullcontext() as out:
        try:
            results = resets.reset_passwords(
                targets, password=password, require_change=require_change, actor=None, progress=_progress(len(targets))
            )
        except resets.ResetRefused as exc:
            fail(str(exc))
        except resets.ResetFailed as exc:
            fail(f"{exc}; nobody was changed")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows(results)
        if out is None:
            click.echo(buffer.getvalue(), nl=False)
            return
        out.truncate(0)
        out.write(buffer.getvalue())
    click.echo(f"reset {len(results)} users; passwords written to {csv_out}", err=True)


def _names_from(rows: TextIO) -> tuple[str, ...]:
    """The user names in the first column of a CSV file (a --csv-out file works as it is);
    blank lines are skipped.  No header row: "username" could be somebody's name."""
    return tuple(row[0].strip() for row in csv.reader(rows) if row and row[0].strip())


def _progress(total: int) -> resets.Progress | None:
    if total < 50 or not sys.stderr.isatty():
        return None
    bar = click.progressbar(length=total, label="hashing", file=sys.stderr)
    return bar.update


def _open_private(path: str) -> TextIO:
    """Open the file for writing, readable by its owner only before any secret is in it."""
    try:
        if os.path.exists(path):
            os.chmod(path, 0o600)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


@users_cli.command("force-change")
@click.argument("usernames", nargs=-1)
@click.option("--all", "everyone", is_flag=True, help="Every user.")
def force_change(usernames: tuple[str, ...], everyone: bool) -> None:
    """Make users change their password at next sign-in."""
    targets = _targets(usernames, everyone)
    for user in targets:
        user.must_change_password = True
        audit.record("admin.force_change", subject=user, via="cli")
    db.session.commit()
    click.echo(f"{len(targets)} users must change their password at next sign-in")


@users_cli.command("never-expire")
@click.argument("username")
@click.option("--off", is_flag=True, help="Clear the flag: the expiry policy applies again.")
def never_expire(username: str, off: bool) -> None:
    """Set or clear "password never expires" for a user."""
    user = _targets((username,), False)[0]
    user.password_never_expires = not off
    audit.record("admin.never_expire", subject=user, value=not off, via="cli")
    db.session.commit()
    click.echo(f"{user.username}: password {'follows the expiry policy' if off else 'never expires'}")


@policy_cli.command("show")
def policy_show() -> None:
    """Print the self-service policy as JSON."""
    click.echo(json.dumps(policy.load().as_json(), indent=2, ensure_ascii=False))


@policy_cli.command("set")
@click.argument("assignments", nargs=-1, required=True)
def policy_set(assignments: tuple[str, ...]) -> None:
    """Change the policy: KEY=VALUE ... (the same settings as the admin console)."""
    changes = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep:
            fail(f"expected KEY=VALUE, got {item!r}")
        try:
            changes[key.strip()] = policy.parse(key.strip(), raw)
        except policy.PolicyError as exc:
            fail(str(exc))
    try:
        before, after = policy.save(changes)
    except policy.PolicyError as exc:
        fail(str(exc))
    changed = {k: {"from": before.as_json()[k], "to": after.as_json()[k]} for k in changes}
    audit.record("policy.changed", via="cli", changes=changed)
    db.session.commit()
    click.echo(json.dumps(after.as_json(), indent=2, ensure_ascii=False))


@click.command("worker")
def worker() -> None:
    """Deliver queued mail and SMS until stopped (SIGTERM or Ctrl-C end it cleanly)."""
    sender = current_app.extensions["sspr.sender"]

    def stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"worker: signal {signum}, finishing the message in hand", err=True)
        sender.stopping.set()
        sender.wake.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("worker: delivering the outbox", err=True)
    sender.run()
    click.echo("worker: stopped", err=True)


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(policy_cli)
    app.cli.add_command(worker)
