"""Verification codes as pure functions: no app, the clock passed in."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from sspr.verification import codes

KEY = b"k" * 32
SCOPE = "c17"
NOW = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
DRAWS = 3000
# Chi-squared with 9 degrees of freedom exceeds this with probability about 1e-6.
CHI2_LIMIT = 47.0


def in_script(text: str, zero: int) -> str:
    """ASCII digits written with another script's digits (``zero`` is its code point for 0)."""
    return "".join(chr(zero + int(ch)) for ch in text)


@pytest.mark.parametrize("digits", [6, 7, 8])
def test_a_code_has_exactly_the_digits_asked_for(digits):
    """Every code is a run of exactly that many ASCII digits."""

    drawn = [codes.generate(digits) for _ in range(200)]

    assert all(len(code) == digits and code.isascii() and code.isdigit() for code in drawn)


def test_leading_zeros_are_kept():
    """Codes below 100000 keep their leading zeros instead of getting shorter."""

    drawn = [codes.generate(6) for _ in range(DRAWS)]

    assert any(code.startswith("0") for code in drawn)
    assert all(len(code) == 6 for code in drawn)


def test_digits_are_uniform():
    """Over many draws each digit turns up about as often as any other, and any may come first."""

    drawn = [codes.generate(6) for _ in range(DRAWS)]

    counts = Counter("".join(drawn))
    expected = DRAWS * 6 / 10
    chi2 = sum((counts[str(d)] - expected) ** 2 / expected for d in range(10))
    assert chi2 < CHI2_LIMIT
    first = Counter(code[0] for code in drawn)
    assert set(first) == set("0123456789")


@pytest.mark.parametrize(
    ("typed", "clean"),
    [
        ("123456", "123456"),
        (" 123 456 ", "123456"),
        ("123-456", "123456"),
        ("12\u00a034\t56", "123456"),
        (in_script("123456", 0xFF10), "123456"),
        (in_script("123456", 0x0660), "123456"),
        (in_script("123456", 0x0966), "123456"),
    ],
    ids=["plain", "spaces", "dash", "no-break-space-and-tab", "full-width", "arabic-indic", "devanagari"],
)
def test_a_typed_code_is_cleaned(typed, clean):
    """Spaces and dashes are dropped and digits of any script become ASCII."""

    assert codes.clean_candidate(typed, 6) == clean


@pytest.mark.parametrize(
    "typed",
    ["12345a", "abcdef", "12345", "1234567", "", "12 34 5", in_script("12345", 0xFF10) + "\uff38"],
    ids=["letter", "letters", "too-short", "too-long", "empty", "short-with-spaces", "full-width-letter"],
)
def test_what_cannot_be_a_code_is_refused(typed):
    """Letters and the wrong number of digits give None, not a code."""

    assert codes.clean_candidate(typed, 6) is None


def test_the_right_code_matches():
    """The code whose digest is stored matches it."""
    stored = codes.digest(KEY, SCOPE, "042917")

    assert codes.matches(KEY, SCOPE, stored, "042917")


@pytest.mark.parametrize(
    ("scope", "candidate"),
    [(SCOPE, None), (SCOPE, ""), (SCOPE, "042918"), ("c18", "042917")],
    ids=["none", "empty", "wrong", "other-challenge"],
)
def test_anything_else_does_not_match(scope, candidate):
    """No code, a wrong code, or the right code for another challenge does not match."""
    stored = codes.digest(KEY, SCOPE, "042917")

    assert not codes.matches(KEY, scope, stored, candidate)


def test_a_digest_of_nothing_never_matches():
    """Even a stored digest of the empty string does not let an empty or malformed code through."""
    stored = codes.digest(KEY, SCOPE, "")

    assert not codes.matches(KEY, SCOPE, stored, None)


@pytest.mark.parametrize(
    ("used_at", "voided_at", "now", "live"),
    [
        (None, None, NOW - timedelta(seconds=1), True),
        (None, None, NOW, False),
        (None, None, NOW + timedelta(minutes=1), False),
        (NOW - timedelta(minutes=1), None, NOW - timedelta(seconds=1), False),
        (None, NOW - timedelta(minutes=1), NOW - timedelta(seconds=1), False),
    ],
    ids=["before-expiry", "at-expiry", "after-expiry", "used", "voided"],
)
def test_a_challenge_is_live_until_it_expires_or_is_used_or_voided(used_at, voided_at, now, live):
    """A code is live only before its expiry time, and only while neither used nor voided."""

    assert codes.is_live(NOW, used_at, voided_at, now) is live
