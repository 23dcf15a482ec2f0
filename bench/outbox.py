"""Outbox delivery: messages per second that 1, 2 and 4 `sspr worker` processes
hand to a local SMTP server.

    .venv/bin/python -m bench.outbox [--messages 2000] [--workers 1 2 4] [--db sqlite postgresql]

For each database and each number of workers, in a fresh database (a SQLite
file in a temp dir, or a schema of its own in the PostgreSQL test database):
a counting SMTP server starts in its own process (bench/smtp_sink.py), then
the workers, unchanged (`sspr worker`, SSPR_MAIL_BACKEND=smtp); once each has
said it is delivering, N code mails are queued in one commit (composed once
by sspr's own templates, queued to N distinct addresses through sspr's
outbox).  The run waits, bounded by --timeout, until no message is pending,
then stops the workers with SIGTERM.  The rate is the messages sent over the
time from the first delivery to the last (each message's sent_at); the SMTP
server's count says whether any message went out twice.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from bench import report, servers
from bench.wizard import QUIET_LIMIT, ROOT, code_version, machine, wait_quiet
from sspr import create_app, database, notifications
from sspr.extensions import db
from sspr.verification import outbox

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# What `sspr worker` prints once it is delivering (sspr/cli.py).
READY = "worker: delivering the outbox"
PER_WORKER_TARGET = 200.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.outbox", description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=2000, help="messages queued before each run")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="worker processes per run")
    p.add_argument("--db", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    p.add_argument("--postgres-url", default=POSTGRES_URL, help="a database where a schema may be made and dropped")
    p.add_argument("--timeout", type=float, default=120, help="time bound of one run")
    p.add_argument("--wait-quiet", type=float, default=20, help="wait up to this long for other load to settle")
    p.add_argument("--quiet-limit", type=float, default=QUIET_LIMIT, help="others' cores over which it is not quiet")
    p.add_argument("--quick", action="store_true", help="a smoke run: 300 messages, 1 and 2 workers, SQLite")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--report", type=Path, metavar="JSON", help="print the table of an earlier run and exit")
    args = p.parse_args(argv)
    if args.quick:  # smoke-run defaults; options given explicitly still win
        p.set_defaults(messages=300, workers=[1, 2], db=["sqlite"], wait_quiet=0)
        args = p.parse_args(argv)
    return args


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path, name: str, postgres_url: str) -> Iterator[str]:
    """The URL of an empty database for one run; a PostgreSQL schema is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / name}.sqlite3"
        return
    schema = f"sspr_bench_{secrets.token_hex(4)}"
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{postgres_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def worker_env(url: str, smtp_port: int, workdir: Path) -> dict[str, str]:
    """The workers' environment: only what this module sets of SSPR_*, mail by SMTP to the sink."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSPR_")}
    env.update(
        SSPR_SECRET_KEY=secrets.token_hex(32),
        SSPR_DATABASE_URL=url,
        SSPR_MAIL_BACKEND="smtp",
        SSPR_SMTP_HOST="127.0.0.1",
        SSPR_SMTP_PORT=str(smtp_port),
        SSPR_SENDER_THREAD="false",
        SSPR_AUTO_MIGRATE="false",
        SSPR_OUTBOX_DIR=str(workdir / "outbox"),
        SSPR_BASE_URL="http://127.0.0.1:5000",
    )
    return env


def migrated_app(env: dict[str, str]) -> Flask:
    """An app in this process on the run's database, its schema made."""
    overrides = {k.removeprefix("SSPR_"): v for k, v in env.items() if k.startswith("SSPR_")}
    # create_app() outside a click command counts as serving: it prints the first-admin
    # link, or warns that there is no database yet (there is none before upgrade()).
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        app = create_app(overrides)
    database.upgrade(app)
    return app


def queue(app: Flask, count: int) -> None:
    """``count`` code mails queued as the wizard queues one, in one commit (rendered
    once: the workers' cost does not depend on who rendered the body)."""
    with app.test_request_context():
        link = f"{app.config['BASE_URL']}/password-reset/link/x"
        mail = notifications.verification_code("email", "x@example.com", "123456", minutes=10, locale=None, link=link)
        for i in range(count):
            recipient = f"outbox-bench-{i}@example.com"
            outbox.enqueue("email", recipient, kind=mail.kind, subject=mail.subject, text=mail.text, html=mail.html)
        db.session.commit()
        db.engine.dispose()


def wait_ready(crew: list[servers.OutboxWorker], timeout: float = 60) -> bool:
    """Wait (bounded) until every worker has said it delivers, so none is still starting
    when the messages come; False if some never said so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = [(w.workdir / f"{w.name}.log") for w in crew]
        if all(log.exists() and READY in log.read_text(errors="replace") for log in logs):
            return True
        time.sleep(0.1)
    return False


def statuses(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM outbox GROUP BY status")).all()
    return {str(status): int(n) for status, n in rows}


def delivery_times(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        first, last, retried = conn.execute(
            sa.text("SELECT min(sent_at), max(sent_at), sum(CASE WHEN attempts > 1 THEN 1 ELSE 0 END) FROM outbox")
        ).one()
    if isinstance(first, str):  # SQLite hands datetimes back as text
        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    return {"first": first, "last": last, "retried": int(retried or 0)}


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"SMTP sink not listening on {port} within {timeout:.0f} s")


def one_run(args: argparse.Namespace, kind: str, workers: int, workdir: Path) -> dict[str, Any]:
    tag = f"{kind}-{workers}w"
    with fresh_database(kind, workdir, tag, args.postgres_url) as url:
        port = servers.free_port()
        env = worker_env(url, port, workdir)
        app = migrated_app(env)
        counts_file = workdir / f"smtp-{tag}.json"
        sink = servers.Background(
            workdir,
            {**env, "PYTHONPATH": str(ROOT)},
            f"smtp-{tag}",
            [sys.executable, "-m", "bench.smtp_sink", str(port), str(counts_file)],
        )
        crew = [servers.OutboxWorker(workdir, env, name=f"worker-{tag}-{i}") for i in range(workers)]
        try:
            sink.start()
            wait_port(port)
            for worker in crew:
                worker.start()
            ready = wait_ready(crew)
            result = deliver(args, app, url, sink, crew)
        finally:
            for process in [*crew, sink]:
                process.stop()
        result.update(db=kind, workers=workers, all_ready=ready, smtp=json.loads(counts_file.read_text()))
    return result


def deliver(
    args: argparse.Namespace, app: Flask, url: str, sink: servers.Background, crew: list[servers.OutboxWorker]
) -> dict[str, Any]:
    """Queue the messages for the running workers and wait (bounded) until nothing is pending."""
    engine = sa.create_engine(url)
    meter = servers.CpuMeter([sink, *crew])
    cpu_before = {"workers": sum(w.cpu_seconds() for w in crew), "sink": sink.cpu_seconds()}
    queued_at = datetime.now(UTC).replace(tzinfo=None)
    queue(app, args.messages)
    started = time.monotonic()
    seen = statuses(engine)
    while seen.get("pending", 0) and time.monotonic() - started < args.timeout:
        time.sleep(0.2)
        seen = statuses(engine)
    cores = meter.lap()
    cpu = {"workers": sum(w.cpu_seconds() for w in crew), "sink": sink.cpu_seconds()}
    cpu = {k: v - cpu_before[k] for k, v in cpu.items()}
    times = delivery_times(engine)
    engine.dispose()
    sent = seen.get("sent", 0)
    span = (times["last"] - times["first"]).total_seconds() if sent > 1 else 0.0
    rate = (sent - 1) / span if span else 0.0
    return {
        "messages": args.messages,
        "statuses": seen,
        "timed_out": bool(seen.get("pending", 0)),
        "delivery_seconds": round(span, 3),
        "rate": round(rate, 1),
        "per_worker": round(rate / len(crew), 1),
        "first_after_seconds": round((times["first"] - queued_at).total_seconds(), 2) if sent else None,
        "retried": times["retried"],
        "worker_cpu_ms_per_message": round(cpu["workers"] / sent * 1000, 2) if sent else None,
        "sink_cpu_ms_per_message": round(cpu["sink"] / sent * 1000, 2) if sent else None,
        "other_cores": cores["other_cores"],
        "steal": cores["steal"],
    }


def render(results: dict[str, Any]) -> str:
    m, code = results["machine"], results["code"]
    rows = [
        [
            r["db"],
            r["workers"],
            r["messages"],
            r["statuses"].get("sent", 0),
            r["delivery_seconds"],
            r["rate"],
            r["per_worker"],
            "yes" if r["per_worker"] >= PER_WORKER_TARGET else "NO",
            r["worker_cpu_ms_per_message"],
            r["first_after_seconds"],
            r["retried"],
            r["statuses"].get("dead", 0),
            r["smtp"]["received"],
            r["smtp"]["duplicates"],
            f"{r['other_cores']:.2f}",
        ]
        for r in results["runs"]
    ]
    header = [
        "db",
        "workers",
        "queued",
        "sent",
        "first to last s",
        "msg/s",
        "msg/s per worker",
        f">= {PER_WORKER_TARGET:g}/worker",
        "worker CPU ms/msg",
        "first sent after s",
        "retried",
        "dead",
        "SMTP received",
        "sent twice",
        "others' cores",
    ]
    parts = [
        f"\n{m['date']}, {m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}; sspr at {code['commit']} "
        f"({code['sspr_files_changed']} files under sspr/ uncommitted)",
        report.table(header, rows),
    ]
    late = [f"{r['db']} {r['workers']}" for r in results["runs"] if not r["all_ready"]]
    if late:
        parts.append(f"\nNot every worker said it was delivering before the messages came (db, workers): {late}")
    warning = report.not_quiet([r["other_cores"] for r in results["runs"]], results["settings"]["quiet_limit"])
    if warning:
        parts.append(f"\n**{warning}**")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        print(render(json.loads(args.report.read_text())))
        return 0
    # Queueing creates the app in this process, where SSPR_* variables would override the run's settings.
    for key in [k for k in os.environ if k.startswith("SSPR_")]:
        print(f"ignoring {key} from the environment")
        del os.environ[key]
    results: dict[str, Any] = {
        "machine": machine(),
        "code": code_version(),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "runs": [],
    }
    results["machine"]["before"] = wait_quiet(servers.CpuMeter([]), args.wait_quiet, args.quiet_limit)
    with tempfile.TemporaryDirectory(prefix="sspr-bench-outbox-") as tmp:
        for kind in args.db:
            for workers in args.workers:
                run = one_run(args, kind, workers, Path(tmp))
                results["runs"].append(run)
                print(
                    f"{kind} {workers} workers: {run['statuses']} in {run['delivery_seconds']} s, {run['rate']} msg/s"
                    f" ({run['per_worker']} per worker); SMTP got {run['smtp']}; others {run['other_cores']:.2f} cores",
                    flush=True,
                )
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"outbox-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(results, indent=1, default=str))
    print(render(results))
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
