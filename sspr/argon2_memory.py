"""argon2 with its memory on huge pages, the mapping kept for the next hash.

argon2-cffi lets libargon2 ``malloc`` the memory of every hash (64 MiB with the
default profile).  glibc maps an allocation that large afresh each time, so every
hash pays 16,384 page faults, the kernel zeroing each page, and a TLB miss on
most of argon2's random reads across 4 KiB pages.  libargon2 takes an allocator
in its context instead: here the memory is mapped with ``MADV_HUGEPAGE`` (2 MiB
pages where the kernel grants them) and one idle mapping per process is kept for
the next hash.  On this project's bench machine that hashes about 20% more
passwords a second with the same parameters and the same output
(docs/PERFORMANCE.md).

The hashes are byte for byte argon2-cffi's: same parameters, same encoding, and
anything this module does not recognise as its own canonical form is verified by
argon2-cffi itself.  libargon2 wipes its memory before handing it back, so a
kept mapping holds no trace of the last password.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import logging
import mmap
import os
import re
import threading
from functools import cache
from typing import Any, Literal

import argon2
from _argon2_cffi_bindings import ffi, lib  # argon2-cffi's own bindings to libargon2
from argon2 import low_level
from argon2.exceptions import HashingError, VerificationError, VerifyMismatchError

log = logging.getLogger(__name__)

# Larger memory (the 2 GiB profile) is mapped per hash and given back at once.
KEEP_AT_MOST = 256 * 1024 * 1024

TYPE_NAMES = {argon2.Type.ID: "id", argon2.Type.I: "i", argon2.Type.D: "d"}
NAME_TYPES = {name: kind for kind, name in TYPE_NAMES.items()}
CANONICAL = re.compile(
    r"\$argon2(?P<type>id|i|d)\$v=19\$m=(?P<m>[1-9][0-9]*),t=(?P<t>[1-9][0-9]*),p=(?P<p>[1-9][0-9]*)"
    r"\$(?P<salt>[A-Za-z0-9+/]+)\$(?P<digest>[A-Za-z0-9+/]+)"
)


class Arenas:
    """Anonymous mappings lent to libargon2; the last one given back is kept for the next hash."""

    def __init__(self, keep_at_most: int = KEEP_AT_MOST) -> None:
        self.keep_at_most = keep_at_most
        self._lock = threading.Lock()
        self._idle: mmap.mmap | None = None
        # Lent mappings by address, with the cffi view that pins each one.
        self._lent: dict[int, tuple[mmap.mmap, Any]] = {}

    def lend(self, size: int) -> Any:
        with self._lock:
            arena = self._idle if self._idle is not None and len(self._idle) == size else None
            if arena is not None:
                self._idle = None
        if arena is None:
            arena = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            # Linux only, and refused by kernels built without huge pages: then plain pages, still reused.
            if hasattr(mmap, "MADV_HUGEPAGE"):
                with contextlib.suppress(OSError):
                    arena.madvise(mmap.MADV_HUGEPAGE)
        view = ffi.from_buffer(arena)
        address = int(ffi.cast("uintptr_t", view))
        with self._lock:
            self._lent[address] = (arena, view)
        return ffi.cast("uint8_t *", view)

    def take_back(self, pointer: Any) -> None:
        with self._lock:
            arena, view = self._lent.pop(int(ffi.cast("uintptr_t", pointer)))
            ffi.release(view)
            # The latest size is the likeliest next one: it replaces an older idle mapping.
            if len(arena) <= self.keep_at_most:
                self._idle, arena = arena, self._idle
        if arena is not None:
            arena.close()

    def after_fork(self) -> None:
        """In a forked child (a bulk reset's process pool): a new lock, since another thread may have
        held the parent's at the fork, and nothing lent, since the threads that borrowed are not here."""
        self._lock = threading.Lock()
        self._lent = {}

    def idle(self) -> mmap.mmap | None:
        """The kept mapping (tests check that it was wiped)."""
        return self._idle

    def lent(self) -> int:
        """How many mappings libargon2 holds now (tests check none is lost)."""
        return len(self._lent)


ARENAS = Arenas()
os.register_at_fork(after_in_child=ARENAS.after_fork)


def _allocation_failed(kind: type[BaseException], error: BaseException, traceback: Any) -> None:
    # The caller gets libargon2's HashingError; the log keeps the reason.
    log.error("argon2's memory could not be mapped", exc_info=(kind, error, traceback))


def _allocate(memory: Any, size: int) -> int:
    # libargon2 ignores this return value and checks the pointer: NULL until lent.
    memory[0] = ffi.NULL
    memory[0] = ARENAS.lend(size)
    return lib.ARGON2_OK  # type: ignore[no-any-return]


def _free(memory: Any, size: int) -> None:
    ARENAS.take_back(memory)


# The C function pointers libargon2 calls; kept here so they live as long as the module.
ALLOCATE = ffi.callback(
    "int(uint8_t **, size_t)", _allocate, error=lib.ARGON2_MEMORY_ALLOCATION_ERROR, onerror=_allocation_failed
)
FREE = ffi.callback("void(uint8_t *, size_t)", _free)


class HugePageHasher(argon2.PasswordHasher):
    """argon2-cffi's PasswordHasher, hashing through libargon2's context API with the arenas above."""

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        salt = salt or os.urandom(self.salt_len)
        params = self._parameters
        digest = raw_hash(_bytes(password, self.encoding), salt, params)
        return encode(params, salt, digest)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        text = hash.decode("ascii", "replace") if isinstance(hash, bytes) else hash
        parsed = _parse_canonical(text)
        if parsed is None:
            # Old versions, odd spellings, garbage: argon2-cffi's own answer.
            return super().verify(hash, password)
        params, salt, digest = parsed
        try:
            computed = raw_hash(_bytes(password, self.encoding), salt, params)
        except HashingError as exc:
            raise VerificationError(*exc.args) from exc
        if hmac.compare_digest(computed, digest):
            return True
        raise VerifyMismatchError(low_level.error_to_str(lib.ARGON2_VERIFY_MISMATCH))


def raw_hash(secret: bytes, salt: bytes, params: argon2.Parameters) -> bytes:
    """The raw argon2 output, computed in memory lent by ``ARENAS``."""
    out = ffi.new("uint8_t[]", params.hash_len)
    c_secret, c_salt = ffi.new("uint8_t[]", secret), ffi.new("uint8_t[]", salt)
    context = ffi.new(
        "argon2_context *",
        {
            "out": out,
            "outlen": params.hash_len,
            "pwd": c_secret,
            "pwdlen": len(secret),
            "salt": c_salt,
            "saltlen": len(salt),
            "secret": ffi.NULL,
            "secretlen": 0,
            "ad": ffi.NULL,
            "adlen": 0,
            "t_cost": params.time_cost,
            "m_cost": params.memory_cost,
            "lanes": params.parallelism,
            "threads": params.parallelism,
            "version": params.version,
            "allocate_cbk": ALLOCATE,
            "free_cbk": FREE,
            "flags": lib.ARGON2_DEFAULT_FLAGS,
        },
    )
    status = lib.argon2_ctx(context, params.type.value)
    if status != lib.ARGON2_OK:
        raise HashingError(low_level.error_to_str(status))
    return bytes(ffi.buffer(out, params.hash_len))


def encode(params: argon2.Parameters, salt: bytes, digest: bytes) -> str:
    """The PHC string libargon2 itself writes for these parameters, salt and digest."""
    return (
        f"$argon2{TYPE_NAMES[params.type]}$v={params.version}"
        f"$m={params.memory_cost},t={params.time_cost},p={params.parallelism}"
        f"${_b64(salt)}${_b64(digest)}"
    )


@cache
def works() -> bool:
    """Whether this build of argon2-cffi and this system answer the context API as
    expected: checked once per process, with tiny parameters, against argon2-cffi's own output."""
    params = argon2.Parameters(
        type=argon2.Type.ID, version=19, salt_len=16, hash_len=16, time_cost=1, memory_cost=64, parallelism=1
    )
    salt = b"sspr self-check!"
    theirs = low_level.hash_secret(
        b"password", salt, params.time_cost, params.memory_cost, params.parallelism, params.hash_len, params.type
    ).decode("ascii")
    try:
        ours = encode(params, salt, raw_hash(b"password", salt, params))
    # A renamed context field is a KeyError, a changed one a TypeError; a failed mapping a HashingError.
    except (HashingError, KeyError, TypeError) as exc:
        log.warning("argon2 hashes with malloc'd memory: libargon2's context API failed (%r)", exc)
        return False
    if ours != theirs:
        log.warning("argon2 hashes with malloc'd memory: libargon2's context API gave another hash")
        return False
    return True


def _parse_canonical(text: str) -> tuple[argon2.Parameters, bytes, bytes] | None:
    match = CANONICAL.fullmatch(text)
    if match is None:
        return None
    try:
        salt, digest = _unb64(match["salt"]), _unb64(match["digest"])
    except binascii.Error:
        return None
    params = argon2.Parameters(
        type=NAME_TYPES[match["type"]],
        version=19,
        salt_len=len(salt),
        hash_len=len(digest),
        time_cost=int(match["t"]),
        memory_cost=int(match["m"]),
        parallelism=int(match["p"]),
    )
    # Only the exact string libargon2 would write takes this path.
    return (params, salt, digest) if encode(params, salt, digest) == text else None


def _bytes(text: str | bytes, encoding: str) -> bytes:
    return text.encode(encoding) if isinstance(text, str) else text


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
