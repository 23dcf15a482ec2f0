"""Start and stop the gunicorn servers the benchmark talks to, in a temp dir.

Everything the servers write (SQLite database, outbox files, logs) stays in that
dir; only 127.0.0.1 is listened on.  The sspr server gets a fixed, minimal set
of SSPR_* variables; any SSPR_* in the caller's environment is dropped so a run
measures what this module says it measures.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sspr.config import RATE_LIMITS

VENV_BIN = Path(sys.executable).parent
WORKERS = 2
# sspr caps codes at 5 per user name an hour and requests per client address
# and per account; the benchmark sends thousands of requests from one address
# to a few dozen names, so the caps are raised (and reported with the results).
# The limiter still runs and counts, so its cost stays in the figures.
CODES_PER_USER_PER_HOUR = 1_000_000
NO_LIMIT = "1000000 per minute"
# gunicorn's access log: the request id the client sent and the time the
# worker spent on the request (microseconds), to separate server time from
# client and connection overhead.
ACCESS_FORMAT = "%({x-bench-id}i)s %(D)s %(s)s"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sspr_env(workdir: Path, port: int) -> dict[str, str]:
    """The sspr server's environment: SQLite, outbox senders, default argon2 and sender thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSPR_")}
    env.update(
        SSPR_SECRET_KEY=secrets.token_hex(32),
        SSPR_DATABASE_URL=f"sqlite:///{workdir / 'sspr.sqlite3'}",
        SSPR_OUTBOX_DIR=str(workdir / "outbox"),
        SSPR_MAIL_BACKEND="outbox",
        SSPR_SMS_BACKEND="outbox",
        SSPR_BASE_URL=f"http://127.0.0.1:{port}",
        SSPR_CODES_PER_USER_PER_HOUR=str(CODES_PER_USER_PER_HOUR),
    )
    env.update({f"SSPR_{key}": NO_LIMIT for key in RATE_LIMITS})
    return env


def terminate(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, a clean exit within 30 s, else SIGKILL."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass
class Gunicorn:
    """One gunicorn master with WORKERS sync workers on 127.0.0.1."""

    name: str
    app: str
    workdir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    ready_path: str = "/"
    # The venv whose gunicorn serves the app (the Django peer has a venv of its own).
    bin_dir: Path = VENV_BIN
    process: subprocess.Popen[bytes] | None = None

    @property
    def access_log(self) -> Path:
        return self.workdir / f"{self.name}-access.log"

    @property
    def error_log(self) -> Path:
        return self.workdir / f"{self.name}-error.log"

    def start(self, timeout: float = 60.0) -> None:
        command = [
            str(self.bin_dir / "gunicorn"),
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--access-logfile",
            str(self.access_log),
            "--access-logformat",
            ACCESS_FORMAT,
            "--error-logfile",
            str(self.error_log),
            "--no-control-socket",  # gunicorn 27 would otherwise put one in ~/.gunicorn, shared by both servers
            self.app,
        ]
        with (self.workdir / f"{self.name}-stdout.log").open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn, fixed arguments
                command, cwd=self.workdir, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.error_log}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.ready_path)
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f} s; see {self.error_log}")

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        return [pid, *(int(c) for c in children)]

    def worker_rss_kib(self) -> dict[int, int]:
        """Resident memory (VmRSS, KiB) of each worker, the master left out."""
        rss: dict[int, int] = {}
        for pid in self.pids()[1:]:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), None)
            if line:
                rss[pid] = int(line.split()[1])
        return rss

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the master and its workers."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def stop(self) -> None:
        terminate(self.process)

    def server_times(self) -> dict[str, int]:
        """Request id -> microseconds the worker spent on it, from the access log."""
        times: dict[str, int] = {}
        if not self.access_log.exists():
            return times
        for line in self.access_log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] != "-":
                times[parts[0]] = int(parts[1])
        return times


class Background:
    """A process of ours beside the servers (a worker, a mail sink), logging to NAME.log in the workdir."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str, command: list[str]) -> None:
        self.workdir = workdir
        self.env = env
        self.name = name
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.workdir / f"{self.name}.log").open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own venv's programs, fixed arguments
                self.command, cwd=self.workdir, env=self.env, stdout=out, stderr=out
            )

    def cpu_seconds(self) -> float:
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        terminate(self.process)


class OutboxWorker(Background):
    """`sspr worker`: delivers the outbox from its own process (for runs with SSPR_SENDER_THREAD=false)."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str = "worker") -> None:
        super().__init__(workdir, env, name, [str(VENV_BIN / "sspr"), "worker"])


def seed(env: dict[str, str], people: list[dict[str, str]]) -> None:
    """Create the users (and the schema) before the servers start, so workers do not race to migrate."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.seed"],
        input=json.dumps(people).encode(),
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
        capture_output=True,
    )
    if done.returncode != 0:
        raise RuntimeError("seeding users failed:\n" + done.stderr.decode(errors="replace")[-3000:])


def pending_outbox(workdir: Path) -> int:
    """Messages the sender threads have not delivered yet (read-only look at the database)."""
    uri = f"file:{workdir / 'sspr.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0])


def wait_outbox_drained(workdir: Path, timeout: float = 60.0) -> float:
    """Wait (bounded) until the sender threads are idle, so their work does not spill into the next window."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if pending_outbox(workdir) == 0:
            break
        time.sleep(0.2)
    return time.monotonic() - start


def _jiffies() -> list[int]:
    return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


class Measured(Protocol):
    """A process of ours whose CPU time counts as ours, not others'."""

    def cpu_seconds(self) -> float: ...


class CpuMeter:
    """Reads /proc/stat and our own processes' CPU, to tell how much of the
    machine other work (other people's test runs, say) took meanwhile."""

    def __init__(self, servers: Sequence[Measured]) -> None:
        self.servers = servers
        self.ncpu = os.cpu_count() or 1
        self._start()

    def _start(self) -> None:
        self.wall = time.monotonic()
        self.jiffies = _jiffies()
        self.own = self.own_cpu()

    def own_cpu(self) -> float:
        return time.process_time() + sum(s.cpu_seconds() for s in self.servers)

    def lap(self) -> dict[str, float]:
        """Cores used since the last lap: by the machine, by us (servers + this client), by others; steal share."""
        before, own_before, wall_before = self.jiffies, self.own, self.wall
        self._start()
        d = [b - a for a, b in zip(before, self.jiffies, strict=True)]
        total = max(sum(d), 1)
        user, nice, system, _idle, _iowait, irq, softirq, steal = d
        busy = (user + nice + system + irq + softirq) / total * self.ncpu
        ours = (self.own - own_before) / max(self.wall - wall_before, 1e-9)
        return {
            "machine_cores": round(busy, 3),
            "our_cores": round(ours, 3),
            "other_cores": round(max(busy - ours, 0.0), 3),
            "steal": round(steal / total, 4),
        }


class RssSampler:
    """Samples each worker's resident memory in a thread while a window runs
    (`with RssSampler(server) as rss:`); per worker the median and the peak, in MiB."""

    def __init__(self, server: Gunicorn, every: float = 0.25) -> None:
        self.server = server
        self.every = every
        self.samples: dict[int, list[int]] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.is_set():
            for pid, kib in self.server.worker_rss_kib().items():
                self.samples.setdefault(pid, []).append(kib)
            self.done.wait(self.every)

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    def per_worker_mib(self) -> list[dict[str, float]]:
        return [
            {"median": round(statistics.median(kib) / 1024, 1), "peak": round(max(kib) / 1024, 1)}
            for kib in self.samples.values()
            if kib
        ]
