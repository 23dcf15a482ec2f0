"""argon2 through libargon2's context API with memory on reused huge pages
(sspr.argon2_memory): the same hashes as argon2-cffi, the same answers to odd
stored strings, memory wiped and never lost, and a plain hasher where the API
does not answer as expected."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
from pathlib import Path

import argon2
import argon2.profiles
import pytest
from argon2.exceptions import HashingError, InvalidHashError, VerificationError, VerifyMismatchError

from sspr import argon2_memory, passwords

DEFAULT = argon2.profiles.RFC_9106_LOW_MEMORY
CHEAP = argon2.profiles.CHEAPEST
PASSWORD = "correct horse battery staple"


def test_the_same_salt_gives_argon2_cffis_exact_string():
    """With the default profile and a fixed salt, the encoded hash is byte for byte argon2-cffi's."""
    salt = os.urandom(16)

    ours = argon2_memory.HugePageHasher.from_parameters(DEFAULT).hash(PASSWORD, salt=salt)

    assert ours == argon2.PasswordHasher.from_parameters(DEFAULT).hash(PASSWORD, salt=salt)


@pytest.mark.parametrize("kind", [argon2.Type.ID, argon2.Type.I, argon2.Type.D])
def test_hashes_verify_both_ways_for_every_argon2_type(kind):
    """argon2-cffi verifies our hashes and we verify argon2-cffi's, for argon2id, argon2i and argon2d."""
    ours = argon2_memory.HugePageHasher(time_cost=1, memory_cost=64, parallelism=2, type=kind)
    theirs = argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=2, type=kind)

    assert theirs.verify(ours.hash(PASSWORD), PASSWORD)
    assert ours.verify(theirs.hash(PASSWORD), PASSWORD)


def test_a_wrong_password_is_a_mismatch():
    """Another password raises VerifyMismatchError, as argon2-cffi does."""
    hasher = argon2_memory.HugePageHasher.from_parameters(CHEAP)

    with pytest.raises(VerifyMismatchError):
        hasher.verify(hasher.hash(PASSWORD), PASSWORD + "!")


@pytest.mark.parametrize(
    "stored",
    [
        "$argon2id$v=19$broken",
        "not a hash at all",
        # A salt under libargon2's minimum of 8 bytes.
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
        # Padding that libargon2 never writes.
        "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA==$aGFzaGhhc2hoYXNoaGFzaA",
        # An argon2 1.0 hash (no version field), which argon2-cffi still reads.
        "$argon2i$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
    ],
)
def test_odd_stored_strings_get_argon2_cffis_own_answer(stored):
    """Whatever argon2-cffi raises for a stored string, ours raises the same, with the same message."""
    with pytest.raises((InvalidHashError, VerificationError)) as theirs:
        argon2.PasswordHasher.from_parameters(CHEAP).verify(stored, PASSWORD)

    with pytest.raises((InvalidHashError, VerificationError)) as ours:
        argon2_memory.HugePageHasher.from_parameters(CHEAP).verify(stored, PASSWORD)

    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


def test_the_kept_memory_is_wiped_after_a_hash():
    """After a default-profile hash the kept 64 MiB mapping holds only zeros: no trace of the password."""
    argon2_memory.HugePageHasher.from_parameters(DEFAULT).hash(PASSWORD)

    kept = argon2_memory.ARENAS.idle()

    assert kept is not None and len(kept) == DEFAULT.memory_cost * 1024
    assert kept[:] == bytes(len(kept))


def test_the_kept_memory_is_advised_for_huge_pages():
    """The kernel's own record of the kept mapping carries the huge-page advice ("hg" in VmFlags)."""
    argon2_memory.HugePageHasher.from_parameters(DEFAULT).hash(PASSWORD)
    kept = argon2_memory.ARENAS.idle()
    assert kept is not None
    view = argon2_memory.ffi.from_buffer(kept)
    start = int(argon2_memory.ffi.cast("uintptr_t", view))
    argon2_memory.ffi.release(view)

    flags = _vm_flags(start)

    assert "hg" in flags.split()


def test_the_two_gib_profile_is_not_kept():
    """Memory above the keeping limit goes back to the system after the hash."""
    arenas = argon2_memory.Arenas(keep_at_most=1024 * 1024)

    arenas.take_back(arenas.lend(2 * 1024 * 1024))

    assert arenas.idle() is None and arenas.lent() == 0


def test_threads_hashing_at_once_each_get_their_own_memory():
    """Eight threads hashing together all get argon2-cffi's result, and every mapping comes back."""
    ours, theirs = argon2_memory.HugePageHasher.from_parameters(CHEAP), argon2.PasswordHasher.from_parameters(CHEAP)
    salts = [os.urandom(16) for _ in range(8)]
    results: dict[int, str] = {}

    def work(i: int) -> None:
        for _ in range(20):
            results[i] = ours.hash(f"{PASSWORD} {i}", salt=salts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {i: theirs.hash(f"{PASSWORD} {i}", salt=salts[i]) for i in range(8)}
    assert argon2_memory.ARENAS.lent() == 0


def test_a_forked_child_hashes_though_the_parent_held_the_lock_at_the_fork():
    """A process forked while another thread was lending memory (a bulk reset's pool) does not deadlock."""
    hasher = argon2_memory.HugePageHasher.from_parameters(CHEAP)
    stored = hasher.hash(PASSWORD)

    with argon2_memory.ARENAS._lock:
        child = os.fork()
        if child == 0:  # the child reports by its exit code
            signal.alarm(10)  # a deadlock ends the child with SIGALRM instead of hanging the suite
            os._exit(0 if hasher.verify(stored, PASSWORD) else 1)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0


def test_memory_that_cannot_be_mapped_is_a_hashing_error(monkeypatch, caplog):
    """A failed mapping raises HashingError (no crash, no half-made hash), logs why, and leaves nothing lent."""

    class Exhausted(argon2_memory.Arenas):
        def lend(self, size: int) -> object:
            raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(argon2_memory, "ARENAS", Exhausted())

    with pytest.raises(HashingError, match="allocation"):
        argon2_memory.HugePageHasher.from_parameters(CHEAP).hash(PASSWORD)

    assert argon2_memory.ARENAS.lent() == 0
    assert "Cannot allocate memory" in caplog.text


def test_the_self_check_passes_on_this_system():
    """This argon2-cffi and this kernel answer the context API as expected, so sspr uses it."""
    assert argon2_memory.works()
    assert isinstance(passwords.build_hasher("CHEAPEST"), argon2_memory.HugePageHasher)


def test_a_changed_context_api_falls_back_to_argon2_cffi(monkeypatch, caplog):
    """If a new argon2-cffi renamed a context field, sspr hashes the plain way and says so in the log."""

    def renamed_field(*args: object) -> bytes:
        raise KeyError("allocate_cbk")

    monkeypatch.setattr(argon2_memory, "raw_hash", renamed_field)
    argon2_memory.works.cache_clear()

    with caplog.at_level(logging.WARNING, logger="sspr.argon2_memory"):
        hasher = passwords.build_hasher("CHEAPEST")

    argon2_memory.works.cache_clear()
    assert type(hasher) is argon2.PasswordHasher
    assert hasher.verify(hasher.hash(PASSWORD), PASSWORD)
    assert "context API failed (KeyError('allocate_cbk'))" in caplog.text


def _vm_flags(start: int) -> str:
    """The VmFlags line of the mapping that begins at ``start``, from /proc/self/smaps."""
    blocks = re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", Path("/proc/self/smaps").read_text())
    block = next(b for b in blocks if int(b.split("-", 1)[0], 16) == start)
    return next(line for line in block.splitlines() if line.startswith("VmFlags:")).split(":", 1)[1]
