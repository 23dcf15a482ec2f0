"""`sspr users reset-password --csv-in FILE`: user names read from a file, beside
the names and flags the contract gives, with the same all-or-nothing reset."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import PASSWORD


def rows(text):
    return list(csv.reader(text.splitlines()))


@pytest.fixture
def team(make_user):
    for name in ("alice", "bob", "carol", "dave"):
        make_user(name)


def test_names_come_from_the_first_column_of_the_file(runner, team, signs_in, tmp_path):
    """One name a line or username,anything rows, blank lines skipped: each named user is reset once."""
    names = tmp_path / "names.csv"
    names.write_text("alice\n\nbob,Bob Berg,accounts\nALICE\n", encoding="utf-8")

    result = runner.invoke(args=["users", "reset-password", "--csv-in", str(names)])

    assert result.exit_code == 0, result.stderr
    printed = dict(rows(result.stdout))
    assert list(printed) == ["alice", "bob"]
    assert all(signs_in(name, password) == "/password" for name, password in printed.items())
    assert signs_in("carol", PASSWORD) == "/account"


def test_the_file_adds_to_the_names_given(runner, team, tmp_path):
    """Names on the command line and in the file are reset together."""
    names = tmp_path / "names.txt"
    names.write_text("bob\n", encoding="utf-8")

    result = runner.invoke(args=["users", "reset-password", "dave", "--csv-in", str(names), "--no-require-change"])

    assert result.exit_code == 0, result.stderr
    assert [name for name, _password in rows(result.stdout)] == ["dave", "bob"]


def test_a_csv_out_file_can_be_read_back(runner, team, signs_in, tmp_path):
    """The file --csv-out wrote (username,password) works as --csv-in: the same users are reset again."""
    first = tmp_path / "first.csv"
    runner.invoke(args=["users", "reset-password", "alice", "carol", "--csv-out", str(first)])

    again = runner.invoke(args=["users", "reset-password", "--csv-in", str(first)])

    assert again.exit_code == 0, again.stderr
    assert [name for name, _password in rows(again.stdout)] == ["alice", "carol"]


def test_an_unknown_name_in_the_file_resets_nobody(runner, team, signs_in, tmp_path):
    """A name nobody has fails the command with one line, before any password changes."""
    names = tmp_path / "names.csv"
    names.write_text("alice\nnobody\n", encoding="utf-8")

    result = runner.invoke(args=["users", "reset-password", "--csv-in", str(names)])

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no user named nobody"
    assert signs_in("alice", PASSWORD) == "/account"


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [("", [], "no user names in"), ("alice\n", ["--all"], "not both")],
    ids=["empty-file", "with-all"],
)
def test_an_empty_file_or_one_with_all_is_refused(runner, team, signs_in, tmp_path, content, extra, message):
    """An empty file names nobody, and a file with --all is ambiguous: both fail and change nothing."""
    names = tmp_path / "names.csv"
    names.write_text(content, encoding="utf-8")

    result = runner.invoke(args=["users", "reset-password", "--csv-in", str(names), *extra])

    assert result.exit_code == 1
    assert message in result.stderr
    assert signs_in("alice", PASSWORD) == "/account"
