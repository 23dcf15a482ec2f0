"""How passwords are stored: argon2id with the configured profile's real
parameters (these tests use them; the rest of the suite hashes cheaply), and
every password NFKC-normalised first, so one typed on another keyboard matches."""

from __future__ import annotations

import argon2

from sspr import passwords

COMPOSED = "Blåbærgrød med fløde og kanel"
# The same text with å, æ and ø written as a letter plus a combining mark where Unicode has one.
DECOMPOSED = "Bla\u030abærgrød med fløde og kanel"


def test_the_stored_hash_is_argon2id_with_the_default_profiles_parameters(app):
    """A hash made by the default profile carries RFC 9106's low-memory parameters (64 MiB, 3 passes, 4 lanes)."""
    hasher = passwords.build_hasher("RFC_9106_LOW_MEMORY")

    stored = argon2.extract_parameters(hasher.hash("correct horse battery staple"))

    assert stored.type is argon2.Type.ID
    assert (stored.memory_cost, stored.time_cost, stored.parallelism) == (64 * 1024, 3, 4)
    assert stored.salt_len == 16


def test_the_high_memory_profile_asks_for_two_gibibytes(app):
    """SSPR_ARGON2_PROFILE=RFC_9106_HIGH_MEMORY builds a hasher with RFC 9106's first choice (2 GiB, 1 pass)."""
    hasher = passwords.build_hasher("RFC_9106_HIGH_MEMORY")

    assert (hasher.type, hasher.memory_cost, hasher.time_cost) == (argon2.Type.ID, 2 * 1024 * 1024, 1)


def test_the_same_password_gets_a_new_salt_each_time(app):
    """Two hashes of one password differ (random salt), and both verify."""
    with app.app_context():
        first, second = passwords.hash_password(COMPOSED), passwords.hash_password(COMPOSED)

        assert first != second
        assert passwords.verify(first, COMPOSED) and passwords.verify(second, COMPOSED)


def test_a_password_typed_in_another_normal_form_still_matches(app):
    """A password set with precomposed letters verifies when typed decomposed, and the other way round."""
    assert COMPOSED != DECOMPOSED
    with app.app_context():
        assert passwords.verify(passwords.hash_password(COMPOSED), DECOMPOSED)
        assert passwords.verify(passwords.hash_password(DECOMPOSED), COMPOSED)


def test_a_different_password_does_not_match(app):
    """Normalising folds only equivalent spellings: another letter is another password."""
    with app.app_context():
        assert not passwords.verify(passwords.hash_password(COMPOSED), COMPOSED.replace("å", "a"))


def test_a_broken_stored_hash_matches_nothing(app):
    """A stored hash that cannot be read refuses the password instead of failing the request."""
    with app.app_context():
        assert not passwords.verify("$argon2id$v=19$broken", COMPOSED)


def test_a_banned_word_is_refused_even_inside_a_longer_password(app):
    """The policy's banned words are refused in any case and inside longer words; other passwords pass."""
    with app.test_request_context():

        def problems(password):
            found = passwords.check_new_password(
                password, username="alice", min_length=15, banned_words=("acme", "spring")
            )
            return [p.code for p in found]

        assert problems("violet lamp harbour ACMEcorp") == ["banned_word"]
        assert problems("violet lamp harbour springtime") == ["banned_word"]
        assert problems("violet lamp harbour seventeen") == []
