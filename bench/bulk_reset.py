"""Bulk reset from the CLI against its ideal: `sspr users reset-password --all`
for N users, timed against N bare argon2 hashes with the same parameters spread
over every core, measured round-robin in one run so throttling hits both.

    .venv/bin/python -m bench.bulk_reset [--users 10000] [--rounds 2]

Generated temporary passwords are hashed with sspr.admin.resets.GENERATED_PROFILE
(about 115 random bits need no slow hash; the configured profile takes over at
the user's first sign-in).  For context the run also times the configured
profile and extrapolates what N hashes of it would cost.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import argon2
import argon2.profiles
import sqlalchemy as sa

from sspr import passwords
from sspr.admin.resets import GENERATED_PROFILE, temporary_password

RESULTS = Path(__file__).parent / "results"
SSPR = str(Path(sys.executable).parent / "sspr")  # the console script of this venv


def _hash_batch(parameters: argon2.Parameters, count: int, sspr_memory: bool) -> int:
    hasher = passwords.hasher_for(parameters) if sspr_memory else argon2.PasswordHasher.from_parameters(parameters)
    for _ in range(count):
        hasher.hash(temporary_password())
    return count


def ideal_seconds(
    parameters: argon2.Parameters, count: int, workers: int | None = None, *, sspr_memory: bool = False
) -> float:
    """N hashes over ``workers`` processes (every core by default), in batches, as a pool does it at best:
    with argon2-cffi as it comes, or with sspr's hasher (its memory on reused huge pages)."""
    workers = workers or os.cpu_count() or 1
    batches = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        assert sum(pool.map(_hash_batch, [parameters] * workers, batches, [sspr_memory] * workers)) == count
    return time.perf_counter() - started


def seed(env: dict[str, str], database: Path, count: int) -> None:
    """The schema through `sspr db upgrade`, then N users inserted in one statement
    (one shared hash: the reset replaces it, and hashing N passwords here would
    cost what is being measured)."""
    # Our own console script with fixed arguments.
    subprocess.run([SSPR, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
    shared = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST).hash("seed")
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "username": f"bulk{i:05d}",
            "username_key": f"bulk{i:05d}",
            "display_name": "",
            "password_hash": shared,
            "role": "user",
            "alternate_email": f"bulk{i:05d}@example.org",
            "phone": None,
            "session_version": secrets.token_hex(16),
            "must_change_password": False,
            "password_never_expires": False,
            "password_changed_at": now,
            "created_at": now,
            "blocked": False,
            "failed_logins": 0,
            "groups": "",
        }
        for i in range(count)
    ]
    engine = sa.create_engine(f"sqlite:///{database}")
    users = sa.Table("users", sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(users.insert(), rows)
    engine.dispose()


def cli_seconds(env: dict[str, str], workdir: Path, round_no: int) -> float:
    out = workdir / f"passwords-{round_no}.csv"
    started = time.perf_counter()
    command = [SSPR, "users", "reset-password", "--all", "--csv-out", str(out)]
    subprocess.run(command, env=env, check=True, capture_output=True)  # noqa: S603 - our own script
    elapsed = time.perf_counter() - started
    out.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sspr-bench-bulk-") as tmp:
        workdir = Path(tmp)
        database = workdir / "sspr.sqlite3"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": tmp,
            "SSPR_SECRET_KEY": secrets.token_hex(32),
            "SSPR_DATABASE_URL": f"sqlite:///{database}",
            "SSPR_OUTBOX_DIR": str(workdir / "outbox"),
            "SSPR_SENDER_THREAD": "false",
            "SSPR_LOG_LEVEL": "WARNING",
        }
        seed(env, database, args.users)
        ideal, cli = [], []
        for round_no in range(args.rounds):
            ideal.append(ideal_seconds(GENERATED_PROFILE, args.users))
            cli.append(cli_seconds(env, workdir, round_no))
            print(f"round {round_no + 1}: ideal {ideal[-1]:.2f} s, CLI {cli[-1]:.2f} s", flush=True)
    configured = argon2.profiles.RFC_9106_LOW_MEMORY
    sample = 8
    full = ideal_seconds(configured, sample) / sample * args.users
    result = {
        "users": args.users,
        "cores": os.cpu_count(),
        "ideal_seconds": ideal,
        "cli_seconds": cli,
        "ratio": min(cli) / min(ideal),
        "configured_profile_ideal_seconds_extrapolated": full,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bulk-reset-{result['at'].replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=2))
    print("\n| users | ideal (best) s | CLI (best) s | CLI / ideal | configured profile, ideal, extrapolated |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| {args.users} | {min(ideal):.2f} | {min(cli):.2f} | {result['ratio']:.2f} | {full / 60:.0f} min |")
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
