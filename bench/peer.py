"""sspr against its peer, Django's built-in password reset: `.venv/bin/python -m bench.peer` (see bench/README.md).

Starts three gunicorn servers the same way (2 sync workers, 127.0.0.1, SQLite
in a temp dir): sspr, the Django peer (bench/django_peer/, in a venv of its
own) and the hello-world bound.  Runs the known/unknown pair probe on one
client for each app, then round-robin rounds of throughput windows: hello, bare
argon2 in 2 processes, and per app the form, the first step (known, unknown,
and both at once on many connections) and the password step; the resident
memory of every worker is sampled during each window.  Prints Markdown tables
of ratios measured in the same rounds and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import argon2
import argon2.profiles

from bench import bulk_reset, load, peer_report, probe, servers, wrk
from bench.browser import Response
from bench.latency import people
from bench.peer_apps import Django, Request, Sspr
from bench.wizard import QUIET_LIMIT, ROOT, code_version, machine, wait_quiet
from sspr.config import DEFAULTS

DJANGO_VENV = ROOT / "bench" / ".venv-django"
PASSWORD_POOL_MIN = 20
KINDS = (
    "hello",
    "argon2",
    "argon2-sspr",
    "hello-form",
    "hello-hash",
    "form",
    "known",
    "unknown",
    "both",
    "landing",
    "password",
)
# The windows wrk can send (each request needs nothing prepared for it alone).
WRK_KINDS = ("hello", "hello-form", "form", "known", "unknown", "landing")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=10, help="known users per app (and as many unknown names)")
    p.add_argument("--rounds", type=int, default=3, help="round-robin rounds of throughput windows")
    p.add_argument(
        "--hash-rounds",
        type=int,
        default=6,
        help="rounds of the password-step and argon2 windows (the rounds after --rounds hold only these)",
    )
    p.add_argument("--seconds", type=float, default=5, help="length of a form or first-step window")
    p.add_argument("--hash-seconds", type=float, default=10, help="length of a password-step or bare argon2 window")
    p.add_argument("--clients", type=int, default=8, help="client threads in throughput windows")
    p.add_argument("--load-clients", type=int, default=16, help="client threads of the known+unknown window")
    p.add_argument("--pairs", type=int, default=2000, help="known/unknown pairs of the one-client probe, per app")
    p.add_argument("--pairs-seconds", type=float, default=300, help="time bound of each app's pair probe")
    p.add_argument("--wait-quiet", type=float, default=20, help="wait up to this long for other load to settle")
    p.add_argument("--quiet-limit", type=float, default=QUIET_LIMIT, help="others' cores over which it is not quiet")
    p.add_argument("--django-venv", type=Path, default=DJANGO_VENV, help="the peer's own venv (made if missing)")
    p.add_argument("--slices", type=int, default=40, help="alternating known/unknown slices per app")
    p.add_argument("--slice-seconds", type=float, default=1.0, help="length of one alternating slice")
    p.add_argument("--skip-pairs", action="store_true", help="no pair probe")
    p.add_argument(
        "--only",
        nargs="+",
        choices=KINDS,
        metavar="KIND",
        help=f"only these windows ({', '.join(KINDS)}); a partial run, for a closer look at one step",
    )
    p.add_argument(
        "--load",
        choices=("wrk", "python"),
        default="wrk",
        help="the client of the page and first-step windows: wrk (default), or bench.load's Python client",
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: 200 pairs, one round of short windows")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (databases, mail, logs)")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--report", type=Path, metavar="JSON", help="print the tables of an earlier run and exit")
    args = p.parse_args(argv)
    if args.quick:  # smoke-run defaults; options given explicitly still win
        p.set_defaults(pairs=200, rounds=1, hash_rounds=1, seconds=2, hash_seconds=4, wait_quiet=0, slices=4)
        args = p.parse_args(argv)
    return args


def django_requirements() -> list[str]:
    """Django, and the same argon2-cffi and gunicorn as sspr's venv, so only the app differs."""
    return ["django~=5.2.0", f"argon2-cffi=={version('argon2-cffi')}", f"gunicorn=={version('gunicorn')}"]


def ensure_django_venv(venv: Path) -> Path:
    """The peer's venv (its bin dir), made or brought up to date on demand: Django never
    goes into sspr's venv, and sspr never depends on it."""
    wanted = "\n".join(django_requirements())
    marker = venv / "bench-requirements.txt"
    if marker.exists() and marker.read_text() == wanted:
        return venv / "bin"
    print(f"making the Django peer's own venv in {venv} ({', '.join(django_requirements())}); sspr's is untouched")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603 - fixed arguments
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *django_requirements()], check=True)  # noqa: S603 - fixed package names
    marker.write_text(wanted)
    return venv / "bin"


def argon2_parameters() -> dict[str, dict[str, int | str]]:
    """What each side hashes with: sspr's default profile; the peer's hasher takes argon2-cffi's defaults."""
    sspr = getattr(argon2.profiles, DEFAULTS["ARGON2_PROFILE"])
    cffi = argon2.PasswordHasher()
    return {
        "sspr": {
            "profile": DEFAULTS["ARGON2_PROFILE"],
            "time_cost": sspr.time_cost,
            "memory_kib": sspr.memory_cost,
            "parallelism": sspr.parallelism,
        },
        "Django": {
            "profile": "argon2.PasswordHasher() defaults",
            "time_cost": cffi.time_cost,
            "memory_kib": cffi.memory_cost,
            "parallelism": cffi.parallelism,
        },
    }


@dataclass
class Plan:
    """What a window sends, the status it should get, with how many clients for how
    long, and an extra check of the response."""

    request: Request
    expected: int
    clients: int
    seconds: float
    accept: Callable[[Response], bool] | None = None


@dataclass
class Target:
    """One kind of window: its label, the app (None: hello, argon2) and what it sends."""

    label: str
    kind: str  # one of KINDS
    app: Sspr | Django | None = None


def targets(apps: list[Sspr | Django], only: list[str] | None = None) -> list[list[Target]]:
    """The windows of a round, in groups that run back to back: each step of both apps, with
    the bound it is compared with, so the two windows of a ratio run seconds apart rather than
    minutes, and the machine's drift falls on both alike."""

    def each_app(label: str, kind: str) -> list[Target]:
        return [Target(f"{app.name} {label}", kind, app) for app in apps]

    found = [
        [Target("hello", "hello")],
        [Target("hello GET form", "hello-form"), *each_app("GET form", "form")],
        each_app("POST first, known", "known"),
        each_app("POST first, unknown", "unknown"),
        each_app("POST first, both", "both"),
        each_app("GET page after first", "landing"),
        [
            Target("argon2 (bare, 2 processes)", "argon2"),
            Target("argon2, sspr's hasher (bare, 2 processes)", "argon2-sspr"),
            Target("hello POST argon2", "hello-hash"),
            *each_app("POST password", "password"),
        ],
    ]
    groups = [[t for t in group if only is None or t.kind in only] for group in found]
    return [group for group in groups if group]


class Run:
    """The servers of one run and its windows."""

    def __init__(self, args: argparse.Namespace, hello: servers.Gunicorn, apps: list[Sspr | Django]) -> None:
        self.args = args
        self.hello = hello
        self.apps = apps
        self.meter = servers.CpuMeter([hello, *(a.server for a in apps)])
        self.parameters = getattr(argon2.profiles, DEFAULTS["ARGON2_PROFILE"])
        self.guesses: dict[str, float] = {}
        self.records: list[dict[str, Any]] = []

    def calibrate(self) -> None:
        """A first guess of the argon2 rate, to size the first windows' prepared work."""
        hasher = argon2.PasswordHasher.from_parameters(self.parameters)
        started = time.perf_counter()
        hasher.hash("calibration")
        bare = servers.WORKERS / (time.perf_counter() - started)
        self.guesses["argon2"] = bare
        for app in self.apps:
            self.guesses[app.name] = bare / app.argon2_per_password

    def probe_pairs(self) -> dict[str, Any]:
        found = {}
        for app in self.apps:
            self.meter.lap()
            found[app.name] = probe.pairs(app.first_post(), app.first_status, self.args.pairs, self.args.pairs_seconds)
            found[app.name]["other_cores"] = self.meter.lap()["other_cores"]
            print(f"pairs {app.name}: {found[app.name]}", flush=True)
        return found

    def alternate(self) -> dict[str, Any]:
        """The first step's known/unknown throughput from short slices in turn (known,
        unknown, unknown, known, ...: drift and throttling fall on both alike), rather
        than from two whole windows, which differ by several percent from drift alone."""
        found = {}
        for app in self.apps:
            send = app.first_post()
            totals = {who: {"completed": 0, "failed": 0, "seconds": 0.0} for who in ("known", "unknown")}
            for i in range(self.args.slices):
                who = ("known", "unknown")[(i + i // 2) % 2]  # K U U K K U U K ...
                slice_ = load.measure(
                    f"{app.name} {who}",
                    self.args.clients,
                    self.args.slice_seconds,
                    functools.partial(send, who),
                    app.first_status,
                    app.server.cpu_seconds,
                    self.meter,
                )
                for key in ("completed", "failed", "seconds"):
                    totals[who][key] += getattr(slice_, key)
            rates = {who: t["completed"] / t["seconds"] for who, t in totals.items()}
            found[app.name] = {**totals, "ratio": rates["known"] / rates["unknown"]}
            print(f"alternating {app.name}: known {rates['known']:.1f}/s unknown {rates['unknown']:.1f}/s", flush=True)
        return found

    def rounds(self) -> None:
        groups = targets(self.apps, self.args.only)
        for r in range(max(self.args.rounds, self.args.hash_rounds)):
            turn = [kept for group in groups if (kept := [t for t in group if self.runs_in(t, r)])]
            if not turn:
                continue
            for group in turn[r % len(turn) :] + turn[: r % len(turn)]:  # rotate the groups: none always first
                # Every other round a group runs backwards: neither app always first.
                for target in group if r % 2 == 0 else reversed(group):
                    self.run_window(target, r)

    def runs_in(self, target: Target, r: int) -> bool:
        """A 10 s argon2 window's rate drifts with the machine by more than the 0.95 target's
        margin, so the hashing windows get more rounds of their own."""
        return r < (self.args.hash_rounds if target.kind in peer_report.HASH_KINDS else self.args.rounds)

    def run_window(self, target: Target, r: int) -> None:
        record = self.window(target)
        record["round"] = r
        self.records.append(record)
        print(
            f"round {r + 1} {target.label:<30} {record['rate']:8.1f}/s  {record['completed']} ok"
            f" {record['failed']} failed  {record['seconds']:.1f} s{' (ran out)' if record['ran_out'] else ''}"
            f"  others {record['other_cpu']:.2f} cores",
            flush=True,
        )

    def window(self, target: Target) -> dict[str, Any]:
        if target.kind in ("argon2", "argon2-sspr"):
            return self.bare_argon2(target)
        server = self.hello if target.app is None else target.app.server
        if isinstance(target.app, Sspr):
            servers.wait_outbox_drained(server.workdir)  # the last window's mail is not sent during this one
        if self.args.load == "wrk" and target.kind in WRK_KINDS:
            return self.wrk_window(target, server)
        plan = self.plan(target)
        with servers.RssSampler(server) as rss:
            window = load.measure(
                target.label,
                plan.clients,
                plan.seconds,
                plan.request,
                plan.expected,
                server.cpu_seconds,
                self.meter,
                plan.accept,
            )
        record: dict[str, Any] = {k: v for k, v in vars(window).items() if k != "latencies"}
        record.update(kind=target.kind, app=target.app.name if target.app else None, rate=window.rate)
        record["rss_mib"] = rss.per_worker_mib()
        record["latency_p50_ms"] = round(statistics.median(window.latencies) * 1000, 2) if window.latencies else None
        if isinstance(plan.request, probe.Mixed):
            record["p50_gap_ms"] = plan.request.p50_gap_ms()
        if target.kind == "password" and target.app is not None:
            self.guesses[target.app.name] = max(self.guesses[target.app.name], window.rate)
        return record

    def wrk_window(self, target: Target, server: servers.Gunicorn) -> dict[str, Any]:
        """A window of wrk's requests, recorded as load.measure records a window."""
        if target.app is None:
            spec = wrk.Requests("GET", "/form" if target.kind == "hello-form" else "/", 200)
        else:
            spec = target.app.wrk_requests(target.kind)
        self.meter.lap()
        server0 = server.cpu_seconds()
        with servers.RssSampler(server) as rss:
            result = wrk.run(server.port, spec, round(self.args.seconds), self.args.clients)
        server_cpu = (server.cpu_seconds() - server0) / result.seconds
        machine = self.meter.lap()
        # The meter counts this process and the servers as ours; wrk is ours too.
        client_cpu = result.client_cpu_seconds / result.seconds
        return {
            "target": target.label,
            "kind": target.kind,
            "app": target.app.name if target.app else None,
            "clients": self.args.clients,
            "seconds": result.seconds,
            "completed": result.completed,
            "failed": result.failed,
            "ran_out": False,
            "rate": result.completed / result.seconds,
            "client_cpu": client_cpu,
            "server_cpu": server_cpu,
            "other_cpu": max(machine["other_cores"] - client_cpu, 0.0),
            "steal": machine["steal"],
            "rss_mib": rss.per_worker_mib(),
            "latency_p50_ms": result.latency_p50_ms,
            "load": "wrk",
        }

    def plan(self, target: Target) -> Plan:
        """The window's requests, with the work they need prepared first (untimed)."""
        args, app = self.args, target.app
        if target.kind == "hello-form":
            return Plan(load.hello_form_request(self.hello.port), 200, args.clients, args.seconds)
        if target.kind == "hello-hash":
            return Plan(load.hello_hash_request(self.hello.port), 200, args.clients, args.hash_seconds)
        if app is None:
            return Plan(load.hello_request(self.hello.port), 200, args.clients, args.seconds)
        if target.kind == "form":
            return Plan(app.form(), 200, args.clients, args.seconds)
        if target.kind == "landing":
            return Plan(app.landing(), 200, args.clients, args.seconds)
        if target.kind == "both":
            return Plan(
                probe.Mixed(app.first_post(), app.first_status), app.first_status, args.load_clients, args.seconds
            )
        if target.kind in ("known", "unknown"):
            send, who = app.first_post(), target.kind
            return Plan(lambda: send(who), app.first_status, args.clients, args.seconds)
        count = max(PASSWORD_POOL_MIN, math.ceil(self.guesses[app.name] * args.hash_seconds * 1.3) + args.clients)
        accept = Sspr.password_done if isinstance(app, Sspr) else None
        return Plan(
            app.password_posts(count, timeout=300), app.password_status, args.clients, args.hash_seconds, accept
        )

    def bare_argon2(self, target: Target) -> dict[str, Any]:
        """The limit: argon2 with sspr's parameters, nothing else, in as many processes as app workers;
        with argon2-cffi as it comes (the issue's bound) or with sspr's hasher."""
        count = max(2 * servers.WORKERS, math.ceil(self.guesses["argon2"] * self.args.hash_seconds))
        self.meter.lap()
        before = os.times()
        seconds = bulk_reset.ideal_seconds(
            self.parameters, count, servers.WORKERS, sspr_memory=target.kind == "argon2-sspr"
        )
        after = os.times()
        seen = self.meter.lap()
        # The pool's processes are ours, though the meter counts only this process and the servers.
        pool = (after.children_user + after.children_system - before.children_user - before.children_system) / seconds
        if target.kind == "argon2":
            self.guesses["argon2"] = count / seconds
        return {
            "target": target.label,
            "kind": target.kind,
            "app": None,
            "clients": servers.WORKERS,
            "seconds": seconds,
            "completed": count,
            "failed": 0,
            "ran_out": False,
            "rate": count / seconds,
            "client_cpu": 0.0,
            "server_cpu": pool,
            "other_cpu": max(seen["other_cores"] - pool, 0.0),
            "steal": seen["steal"],
            "rss_mib": [],
            "latency_p50_ms": None,
        }


def start(
    args: argparse.Namespace, workdir: Path, running: list[servers.Gunicorn]
) -> tuple[servers.Gunicorn, list[Sspr | Django], dict[str, Any]]:
    """Seed and start the three servers (each added to ``running`` before it starts, for
    the caller to stop); what ran, for the results."""
    django_bin = ensure_django_venv(args.django_venv)
    known = people(args.users)
    port = servers.free_port()
    env = servers.sspr_env(workdir, port)
    print(f"workdir {workdir}; creating {len(known)} users per app", flush=True)
    servers.seed(env, [vars(p) for p in known])
    sspr = servers.Gunicorn("sspr", "sspr:create_app()", workdir, env, port=port, ready_path="/healthz")
    plain = {k: v for k, v in os.environ.items() if not k.startswith(("SSPR_", "DJANGO_"))}
    hello = servers.Gunicorn("hello", "bench.hello:app", workdir, {**plain, "PYTHONPATH": str(ROOT)})
    django_env = {
        **plain,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.django_peer.settings",
        "DJANGO_PEER_DIR": str(workdir),
        "DJANGO_PEER_SECRET_KEY": secrets.token_urlsafe(50),
    }
    django = servers.Gunicorn(
        "django",
        "bench.django_peer.wsgi:application",
        workdir,
        django_env,
        ready_path="/accounts/password_reset/",
        bin_dir=django_bin,
    )
    peer = Django(django, django_bin / "python", [], args.clients)
    peer.known = peer.seed("known", args.users)
    for server in (sspr, hello, django):
        running.append(server)
        server.start()
    django_version = subprocess.run(  # noqa: S603 - the peer venv's Python, a fixed one-liner
        [str(django_bin / "python"), "-c", "import django; print(django.get_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ran = {
        "django": django_version,
        "argon2": argon2_parameters(),
        "argon2_per_password": {app.name: app.argon2_per_password for app in (Sspr, Django)},
        "server_env": {k: v for k, v in env.items() if k.startswith("SSPR_") and k != "SSPR_SECRET_KEY"},
    }
    return hello, [Sspr(sspr, known, args.clients), peer], ran


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        earlier = json.loads(args.report.read_text())
        print(peer_report.render(earlier))
        return 0
    if args.load == "wrk" and shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (or run with --load python)", file=sys.stderr)
        return 2
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="sspr-bench-peer-"))
    results: dict[str, Any] = {
        "machine": machine(),
        "code": code_version(),
        "settings": {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}},
    }
    running: list[servers.Gunicorn] = []
    try:
        hello, apps, results["ran"] = start(args, workdir, running)
        run = Run(args, hello, apps)
        results["machine"]["before"] = wait_quiet(run.meter, args.wait_quiet, args.quiet_limit)
        run.calibrate()
        if not args.skip_pairs:
            results["pairs"] = run.probe_pairs()
        if args.slices and (args.only is None or {"known", "unknown"} & set(args.only)):
            results["alternating"] = run.alternate()
        run.rounds()
        results["windows"] = run.records
    finally:
        for server in running:
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["seconds"] = round(time.monotonic() - started, 1)
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"peer-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(results, indent=1))
    print(peer_report.render(results))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
