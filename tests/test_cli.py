"""The `sspr users` and `sspr policy` commands of the operator contract: exit 0
on success, and non-zero with one line on standard error and nothing changed
on failure."""

from __future__ import annotations

import csv
import json
import stat

import pytest
from sqlalchemy import func, select

from sspr import passwords, users
from sspr.extensions import db
from sspr.models import User
from tests.conftest import PASSWORD

NEW_PASSWORD = "a fresh passphrase for spring"
DEFAULT_POLICY = {
    "methods": ["email", "sms"],
    "methods_required": 1,
    "code_lifetime_minutes": 10,
    "notify_user_on_reset": True,
    "notify_admins_on_admin_reset": True,
    "password_min_length": 15,
    "password_expiry_days": 0,
}


@pytest.fixture
def signs_in(app):
    """Whether this password is the user's password now."""

    def check(username, password):
        with app.app_context():
            user = users.find(username)
            return user is not None and passwords.verify(user.password_hash, password)

    return check


@pytest.fixture
def user_count(app):
    def count():
        with app.app_context():
            return db.session.scalar(select(func.count()).select_from(User))

    return count


@pytest.fixture
def three_users(make_user):
    for name in ("alice", "bob", "carol"):
        make_user(name)


@pytest.fixture
def policy_now(runner):
    """The policy as `sspr policy show` prints it."""

    def show():
        result = runner.invoke(args=["policy", "show"])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    return show


def failed_with_one_line(result):
    return result.exit_code != 0 and len(result.stderr.strip().splitlines()) == 1


def rows(text):
    return list(csv.reader(text.splitlines()))


# users add


def test_users_add_creates_the_user_with_every_detail(runner, stored_user, signs_in):
    """Every flag of the contract lands on the new user; a national number gets the region's prefix."""
    args = ["users", "add", "carol", "--password", PASSWORD, "--display-name", "Carol Jensen"]
    args += ["--alternate-email", "carol@mail.example.org", "--phone", "20 12 34 56", "--role", "password-admin"]

    result = runner.invoke(args=args)

    carol = stored_user("carol")
    assert result.exit_code == 0, result.stderr
    assert (carol.display_name, carol.alternate_email, carol.phone, carol.role) == (
        "Carol Jensen",
        "carol@mail.example.org",
        "+4520123456",
        "password-admin",
    )
    assert signs_in("carol", PASSWORD)


def test_users_add_reads_the_password_from_standard_input(runner, signs_in):
    """--password - takes the password from standard input, not the command line."""

    result = runner.invoke(args=["users", "add", "carol", "--password", "-"], input=f"{PASSWORD}\n")

    assert result.exit_code == 0, result.stderr
    assert signs_in("carol", PASSWORD)


@pytest.mark.parametrize(
    "details",
    [["--phone", "12"], ["--alternate-email", "carol at example"], ["--role", "emperor"]],
    ids=["bad-phone", "bad-email", "unknown-role"],
)
def test_users_add_refuses_bad_details(runner, stored_user, details):
    """A bad phone number, address or role fails with one line and creates no one."""

    result = runner.invoke(args=["users", "add", "carol", "--password", PASSWORD, *details])

    assert failed_with_one_line(result), result.stderr
    assert stored_user("carol") is None


def test_users_add_refuses_a_duplicate_user(runner, make_user, stored_user, user_count):
    """A name that exists (in any case) fails with one line and leaves the user as it was."""
    make_user("alice", display_name="Alice")

    result = runner.invoke(args=["users", "add", "ALICE", "--password", PASSWORD, "--display-name", "Imposter"])

    assert failed_with_one_line(result), result.stderr
    assert "alice" in result.stderr.lower()
    assert user_count() == 1
    assert stored_user("alice").display_name == "Alice"


# users list


def test_users_list_prints_every_user(runner, three_users):
    """The table has one line per user, with name and role."""

    result = runner.invoke(args=["users", "list"])

    assert result.exit_code == 0, result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        ["alice", "user"],
        ["bob", "user"],
        ["carol", "user"],
    ]


def test_users_list_json_prints_every_user(runner, make_user):
    """--json prints a list of objects a script can read."""
    make_user("alice", phone="+4520123456", role="global-admin")

    result = runner.invoke(args=["users", "list", "--json"])

    assert result.exit_code == 0, result.stderr
    [alice] = json.loads(result.stdout)
    assert alice["username"] == "alice"
    assert alice["role"] == "global-admin"
    assert alice["phone"] == "+4520123456"
    assert alice["must_change_password"] is False


# users reset-password


def test_reset_password_resets_the_users_named(runner, three_users, stored_user, signs_in):
    """Each user named gets the temporary password printed for them and must
    change it at next sign-in; the others are untouched."""

    result = runner.invoke(args=["users", "reset-password", "alice", "bob"])

    assert result.exit_code == 0, result.stderr
    printed = dict(rows(result.stdout))
    assert list(printed) == ["alice", "bob"]
    assert all(signs_in(name, password) for name, password in printed.items())
    assert stored_user("alice").must_change_password and stored_user("bob").must_change_password
    assert signs_in("carol", PASSWORD)


def test_reset_password_all_leaves_out_the_excluded(runner, three_users, signs_in):
    """--all resets everyone but the users given with --exclude."""

    result = runner.invoke(args=["users", "reset-password", "--all", "--exclude", "BOB"])

    assert result.exit_code == 0, result.stderr
    assert [name for name, _password in rows(result.stdout)] == ["alice", "carol"]
    assert signs_in("bob", PASSWORD)


def test_exclude_without_all_resets_nobody(runner, three_users, signs_in):
    """--exclude beside named users is refused (not ignored), and nobody is reset."""

    result = runner.invoke(args=["users", "reset-password", "alice", "bob", "--exclude", "bob"])

    assert failed_with_one_line(result), result.stderr
    assert "--exclude goes with --all" in result.stderr
    assert all(signs_in(name, PASSWORD) for name in ("alice", "bob", "carol"))


def test_reset_password_with_an_unknown_exclusion_resets_nobody(runner, three_users, signs_in):
    """A misspelt --exclude fails instead of resetting the user it meant to spare."""

    result = runner.invoke(args=["users", "reset-password", "--all", "--exclude", "bbo"])

    assert failed_with_one_line(result), result.stderr
    assert all(signs_in(name, PASSWORD) for name in ("alice", "bob", "carol"))


def test_reset_password_writes_a_private_csv(runner, three_users, signs_in, tmp_path):
    """--csv-out writes exactly the users named, to a file only its owner can read,
    and prints no password."""
    out = tmp_path / "passwords.csv"

    result = runner.invoke(args=["users", "reset-password", "alice", "carol", "--csv-out", str(out)])

    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    written = dict(rows(out.read_text()))
    assert list(written) == ["alice", "carol"]
    assert all(signs_in(name, password) for name, password in written.items())
    assert result.stdout == ""


def test_reset_password_with_an_unwritable_csv_resets_nobody(runner, three_users, signs_in, tmp_path):
    """When the passwords cannot be written, no password is changed (and lost)."""
    out = tmp_path / "missing-folder" / "passwords.csv"

    result = runner.invoke(args=["users", "reset-password", "alice", "--csv-out", str(out)])

    assert failed_with_one_line(result), result.stderr
    assert signs_in("alice", PASSWORD)


def test_reset_password_no_require_change(runner, three_users, stored_user):
    """--no-require-change lets the user keep the new password."""

    result = runner.invoke(args=["users", "reset-password", "alice", "--no-require-change"])

    assert result.exit_code == 0, result.stderr
    assert stored_user("alice").must_change_password is False


def test_reset_password_sets_the_password_given(runner, three_users, signs_in):
    """--password sets that password instead of a generated one."""

    result = runner.invoke(args=["users", "reset-password", "alice", "--password", NEW_PASSWORD])

    assert result.exit_code == 0, result.stderr
    assert rows(result.stdout) == [["alice", NEW_PASSWORD]]
    assert signs_in("alice", NEW_PASSWORD)


def test_reset_password_refuses_a_weak_password(runner, three_users, signs_in):
    """A --password the policy refuses fails with one line and resets nobody."""

    result = runner.invoke(args=["users", "reset-password", "alice", "bob", "--password", "passwordpassword"])

    assert failed_with_one_line(result), result.stderr
    assert signs_in("alice", PASSWORD) and signs_in("bob", PASSWORD)


def test_reset_password_of_an_unknown_user_resets_nobody(runner, three_users, signs_in):
    """An unknown name fails with one line, and a user named before it is untouched."""

    result = runner.invoke(args=["users", "reset-password", "alice", "nobody"])

    assert failed_with_one_line(result), result.stderr
    assert "nobody" in result.stderr
    assert signs_in("alice", PASSWORD)


# users force-change and never-expire


def test_force_change_marks_the_users_named(runner, three_users, stored_user):
    """The users named must change their password at next sign-in; the others need not."""

    result = runner.invoke(args=["users", "force-change", "alice", "bob"])

    assert result.exit_code == 0, result.stderr
    assert [stored_user(name).must_change_password for name in ("alice", "bob", "carol")] == [True, True, False]


def test_force_change_all_marks_everyone(runner, three_users, stored_user):
    """--all makes every user change their password."""

    result = runner.invoke(args=["users", "force-change", "--all"])

    assert result.exit_code == 0, result.stderr
    assert all(stored_user(name).must_change_password for name in ("alice", "bob", "carol"))


def test_never_expire_sets_the_flag(runner, three_users, stored_user):
    """never-expire exempts the user from the expiry policy."""

    result = runner.invoke(args=["users", "never-expire", "alice"])

    assert result.exit_code == 0, result.stderr
    assert stored_user("alice").password_never_expires is True
    assert stored_user("bob").password_never_expires is False


def test_never_expire_off_clears_the_flag(runner, three_users, stored_user):
    """--off puts the user under the expiry policy again."""
    runner.invoke(args=["users", "never-expire", "alice"])

    result = runner.invoke(args=["users", "never-expire", "alice", "--off"])

    assert result.exit_code == 0, result.stderr
    assert stored_user("alice").password_never_expires is False


def test_never_expire_of_an_unknown_user_fails(runner):
    """An unknown name fails with one line."""

    result = runner.invoke(args=["users", "never-expire", "nobody"])

    assert failed_with_one_line(result), result.stderr


# policy


def test_policy_show_prints_the_defaults(policy_now):
    """With nothing set, the policy has the contract's keys at their defaults."""

    shown = policy_now()

    assert {key: shown[key] for key in DEFAULT_POLICY} == DEFAULT_POLICY


def test_policy_set_changes_the_policy(runner, policy_now):
    """Good values for the contract's keys are stored and shown."""
    wanted = {
        "methods": "email",
        "code_lifetime_minutes": "5",
        "notify_user_on_reset": "false",
        "notify_admins_on_admin_reset": "false",
        "password_min_length": "12",
        "password_expiry_days": "90",
    }

    result = runner.invoke(args=["policy", "set", *(f"{key}={value}" for key, value in wanted.items())])

    assert result.exit_code == 0, result.stderr
    assert policy_now() == json.loads(result.stdout)
    assert {key: policy_now()[key] for key in DEFAULT_POLICY} == {
        "methods": ["email"],
        "methods_required": 1,
        "code_lifetime_minutes": 5,
        "notify_user_on_reset": False,
        "notify_admins_on_admin_reset": False,
        "password_min_length": 12,
        "password_expiry_days": 90,
    }


@pytest.mark.parametrize(
    "assignments",
    [
        ["colour=blue"],
        ["code_lifetime_minutes=61"],
        ["password_min_length=twelve"],
        ["notify_user_on_reset=maybe"],
        ["methods=email,fax"],
        ["methods=email", "methods_required=2"],
        ["code_lifetime_minutes=5", "colour=blue"],
        ["code_lifetime_minutes"],
    ],
    ids=[
        "unknown-key",
        "out-of-range",
        "not-a-number",
        "not-a-boolean",
        "unknown-method",
        "two-required-of-one",
        "good-with-bad",
        "no-equals",
    ],
)
def test_policy_set_refuses_bad_assignments(runner, policy_now, assignments):
    """An unknown key, a bad value or an impossible combination fails with one
    line and changes nothing, not even the good values given with it."""

    result = runner.invoke(args=["policy", "set", *assignments])

    assert failed_with_one_line(result), result.stderr
    assert {key: policy_now()[key] for key in DEFAULT_POLICY} == DEFAULT_POLICY


@pytest.mark.policy(methods=("email",))
def test_policy_set_refuses_two_required_when_one_method_is_on(runner, policy_now):
    """methods_required=2 is refused while only one method is enabled."""

    result = runner.invoke(args=["policy", "set", "methods_required=2"])

    assert failed_with_one_line(result), result.stderr
    assert policy_now()["methods_required"] == 1
