"""Benchmark the reset wizard: `.venv/bin/python -m bench.wizard` (see bench/README.md).

Starts gunicorn (2 sync workers) serving sspr:create_app() on SQLite and a
hello-world Flask app the same way, in a temp dir; measures per-step latency
for known and unknown user names (interleaved pairs) and then requests per
second per step (round-robin windows, hello-world in every round); stops the
servers; prints Markdown tables and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench import load, report, servers
from bench.browser import Response
from bench.latency import Pairs, people

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("hello", "GET form", "POST username", "GET method page", "POST method", "POST code (wrong)")
QUIET_LIMIT = 0.3  # cores others may use while a run still counts as on a quiet machine


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.wizard", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=10, help="known users (and as many unknown names), cycled")
    p.add_argument("--pairs", type=int, default=120, help="recorded known/unknown pairs (latency)")
    p.add_argument("--warmup", type=int, default=4, help="unrecorded pairs first")
    p.add_argument("--latency-seconds", type=float, default=120, help="time bound of the recorded pairs")
    p.add_argument("--password-every", type=int, default=5, help="the known user finishes every Nth pair")
    p.add_argument("--think-ms", type=float, default=20, help="pause before each latency request (a person reading)")
    p.add_argument("--rounds", type=int, default=3, help="round-robin rounds of throughput windows")
    p.add_argument("--seconds", type=float, default=5, help="length of one throughput window")
    p.add_argument("--clients", type=int, default=8, help="concurrent client threads in throughput windows")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra SSPR_KEY=VALUE for the sspr server, for experiments (recorded in the results)",
    )
    p.add_argument(
        "--outbox-worker",
        action="store_true",
        help="deliver with a separate `sspr worker` process instead of the sender thread (an experiment)",
    )
    p.add_argument("--wait-quiet", type=float, default=20, help="wait up to this long for other load to settle")
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-throughput", action="store_true")
    p.add_argument("--quick", action="store_true", help="a smoke run: few pairs, one short round")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (database, outbox, logs)")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--report", type=Path, metavar="JSON", help="print the tables of an earlier run and exit")
    args = p.parse_args(argv)
    if args.quick:
        args.pairs, args.warmup, args.rounds, args.seconds, args.latency_seconds = 8, 2, 1, 2, 30
        args.wait_quiet = 0
    return args


def code_version() -> dict[str, Any]:
    """The commit measured, and whether sspr/ had uncommitted changes (read-only git calls)."""

    def git(*command: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed read-only git commands
            ["git", "--no-optional-locks", *command],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "sspr").splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"), "sspr_files_changed": len(changed)}


def machine() -> dict[str, Any]:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in ("gunicorn", "flask", "sqlalchemy", "argon2-cffi", "sspr")},
    }


def wait_quiet(meter: servers.CpuMeter, timeout: float, limit: float = QUIET_LIMIT) -> dict[str, float]:
    """Wait (bounded) until other work on the machine uses under ``limit`` cores; what was seen last."""
    deadline = time.monotonic() + timeout
    while True:
        meter.lap()
        time.sleep(2)
        seen = meter.lap()
        if seen["other_cores"] < limit or time.monotonic() > deadline:
            return seen
        print(f"others use {seen['other_cores']:.2f} cores; waiting for a quieter machine", flush=True)


def run_latency(args: argparse.Namespace, sspr: servers.Gunicorn, pairs: Pairs) -> dict[str, Any]:
    print(f"latency: {args.warmup} warm-up pairs, then up to {args.pairs} pairs or {args.latency_seconds:.0f} s")
    ran: dict[str, Any] = pairs.run(args.pairs, args.warmup, args.latency_seconds, args.password_every)
    pairs.attach_server_times(sspr.server_times())
    rows = report.latency_summary(pairs.samples)
    others = [m["other_cores"] for m in pairs.machine]
    ran["other_cores_median"] = round(statistics.median(others), 2) if others else None
    print(f"latency: {ran['pairs']} pairs in {ran['seconds']:.0f} s; others used {ran['other_cores_median']} cores")
    return {"run": ran, "summary": rows, "machine_per_pair": pairs.machine, "samples": pairs.as_json()}


def _pool_size(rate_guess: float, seconds: float) -> int:
    return max(100, min(6000, math.ceil(rate_guess * seconds * 1.5)))


def run_throughput(
    args: argparse.Namespace,
    sspr: servers.Gunicorn,
    hello: servers.Gunicorn,
    guesses: dict[str, float],
    meter: servers.CpuMeter,
) -> list[load.Window]:
    names = load.Names(people(args.users))
    prepare = load.Prepare(sspr.port, names, args.clients)
    windows: list[load.Window] = []
    for r in range(args.rounds):
        order = TARGETS[r % len(TARGETS) :] + TARGETS[: r % len(TARGETS)]  # rotate: no target always first
        for target in order:
            server = hello if target == "hello" else sspr
            request, expected = _request_for(target, args, prepare, names, hello, guesses)
            drained = servers.wait_outbox_drained(sspr.workdir)
            window = load.measure(target, args.clients, args.seconds, request, expected, server.cpu_seconds, meter)
            windows.append(window)
            guesses[target] = max(guesses.get(target, 0.0), window.rate)
            print(
                f"round {r + 1} {target:<18} {window.rate:7.1f} req/s  {window.completed} ok {window.failed} failed"
                f"  {window.seconds:.1f} s{' (flows ran out)' if window.ran_out else ''}"
                f"  cores: server {window.server_cpu:.2f} client {window.client_cpu:.2f} others {window.other_cpu:.2f}"
                f"  (outbox drained in {drained:.1f} s)",
                flush=True,
            )
    return windows


def _request_for(
    target: str,
    args: argparse.Namespace,
    prepare: load.Prepare,
    names: load.Names,
    hello: servers.Gunicorn,
    guesses: dict[str, float],
) -> tuple[Callable[[], Response | None], int]:
    """The request a window sends and the status it should get; flows prepared first when it needs them."""
    if target == "hello":
        return load.hello_request(hello.port), 200
    if target == "GET form":
        return load.form_request(prepare.port), 200
    if target == "POST username":
        sessions = [prepare.fresh_session() for _ in range(args.clients)]
        return load.username_request(sessions, names), 303
    if target == "GET method page":
        return load.method_page_request(prepare.flows(args.clients, "method", timeout=60)), 200
    count = _pool_size(guesses.get(target, 200.0), args.seconds)
    if target == "POST method":
        flows = prepare.flows(count, "method", timeout=60)
        return load.step_request(load.Pool(iter(flows)), "/password-reset/method", load.method_fields), 200
    flows = prepare.flows(math.ceil(count / load.WRONG_CODES_PER_FLOW), "code", timeout=60)
    return load.step_request(load.Pool(iter(flows)), "/password-reset/code", load.wrong_code_fields), 400


def _rate_guesses(latency: dict[str, Any] | None) -> dict[str, float]:
    """Requests per second two workers could serve at the server times seen in the latency pairs."""
    guesses: dict[str, float] = {}
    if not latency:
        return guesses
    for row in latency["summary"]:
        ms = row.get("unknown_server_ms") or row.get("known_server_ms")
        if not ms:
            continue
        step = "POST method" if row["step"].startswith("POST method") else row["step"]
        guesses[step] = max(guesses.get(step, 0.0), servers.WORKERS * 1000 / ms)
    return guesses


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        earlier = json.loads(args.report.read_text())
        if "throughput" in earlier:  # runs from before this column existed
            report.fill_cpu_per_request(earlier["throughput"]["summary"], earlier["throughput"]["windows"])
        print(render(earlier, argparse.Namespace(**{**vars(args), **earlier["settings"]})))
        return 0
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="sspr-bench-"))
    known = people(args.users)
    port = servers.free_port()
    env = servers.sspr_env(workdir, port)
    for item in args.set:
        key, _, value = item.partition("=")
        env["SSPR_" + key.removeprefix("SSPR_")] = value
    worker = servers.OutboxWorker(workdir, env) if args.outbox_worker else None
    if worker:
        env["SSPR_SENDER_THREAD"] = "false"
    print(f"workdir {workdir}; creating {len(known)} users (argon2, default parameters)", flush=True)
    servers.seed(env, [vars(p) for p in known])
    sspr = servers.Gunicorn("sspr", "sspr:create_app()", workdir, env, port=port, ready_path="/healthz")
    hello_env = {k: v for k, v in os.environ.items() if not k.startswith("SSPR_")}
    hello_env["PYTHONPATH"] = str(ROOT)
    hello = servers.Gunicorn("hello", "bench.hello:app", workdir, hello_env)
    results: dict[str, Any] = {
        "machine": machine(),
        "code": code_version(),
        "settings": {
            **{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "workers": servers.WORKERS,
            "server_env": {k: v for k, v in env.items() if k.startswith("SSPR_") and k != "SSPR_SECRET_KEY"},
        },
    }
    try:
        sspr.start()
        hello.start()
        if worker:
            worker.start()
        meter = servers.CpuMeter([sspr, hello, *([worker] if worker else [])])
        results["machine"]["before"] = wait_quiet(meter, args.wait_quiet)
        if not args.skip_latency:
            pairs = Pairs(port, workdir / "outbox", known, args.think_ms / 1000, meter)
            results["latency"] = run_latency(args, sspr, pairs)
        if not args.skip_throughput:
            windows = run_throughput(args, sspr, hello, _rate_guesses(results.get("latency")), meter)
            results["throughput"] = {
                "summary": report.throughput_summary(windows),
                "windows": [{k: v for k, v in vars(w).items() if k != "latencies"} for w in windows],
            }
    finally:
        sspr.stop()
        hello.stop()
        if worker:
            worker.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["seconds"] = round(time.monotonic() - started, 1)

    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"wizard-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(results, indent=1))
    print(render(results, args))
    print(f"\nresults: {out}")
    return 0


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    m = results["machine"]
    code = results["code"]
    parts = [
        f"\n{m['date']}, {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}, {results['seconds']:.0f} s; "
        f"sspr at {code['commit']} ({code['sspr_files_changed']} files under sspr/ uncommitted)"
    ]
    if args.set or args.outbox_worker:
        parts.append(f"experiment: --set {' '.join(args.set)} {'--outbox-worker' if args.outbox_worker else ''}")
    others = [p["other_cores"] for p in results.get("latency", {}).get("machine_per_pair", [])]
    others += [w["other_cpu"] for w in results.get("throughput", {}).get("windows", [])]
    warning = report.not_quiet(others, QUIET_LIMIT)
    if warning:
        parts.append(f"\n**{warning}**")
    if "latency" in results:
        run = results["latency"]["run"]
        parts.append(
            f"\nLatency per step: medians over {run['pairs']} interleaved known/unknown pairs, "
            f"{args.think_ms:g} ms think time (client side; server = gunicorn's request time); "
            f"others' load {run['other_cores_median']} cores (median per pair)"
        )
        parts.append(report.latency_table(results["latency"]["summary"]))
    if "throughput" in results:
        parts.append(
            f"\nThroughput: {args.clients} client threads, medians of {args.rounds} round-robin rounds "
            f"of {args.seconds:g} s windows"
        )
        parts.append(report.throughput_table(results["throughput"]["summary"]))
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
