"""sspr scaled out: two app servers (gunicorn, each its own process) and two
`sspr worker` processes on one PostgreSQL database and one Redis, mail going to
a real SMTP server and SMS to a local Twilio-compatible endpoint.

A reset begun on one server finishes on the other; rate limits and single-use
codes hold across them; a worker killed in the middle of a delivery loses no
message, and none goes out twice.  PostgreSQL and Redis missing is a failure."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import select

from sspr.extensions import db
from sspr.models import OutboxMessage
from sspr.verification import outbox
from tests import pages
from tests.servers import free_port, start_worker
from tests.test_ratelimits import start_server, wait_ready

REDIS_URL = "redis://127.0.0.1:6379/15"
NEW_PASSWORD = "a new passphrase set on the other server"
LEASE_SECONDS = 4

pytestmark = [
    pytest.mark.backends("postgresql"),
    # One xdist worker runs them all, so that one cluster serves the module.
    pytest.mark.xdist_group("scale-out"),
    pytest.mark.settings(
        # Plain HTTP on 127.0.0.1: the session cookie must come back without TLS.
        BASE_URL="http://127.0.0.1",
        RATELIMIT_STORAGE_URL=REDIS_URL,
        RATELIMIT_WIZARD_PER_ACCOUNT="2 per minute",
        # A short lease, so that a killed worker's messages are taken over within seconds.
        SENDER_LEASE_SECONDS=LEASE_SECONDS,
        SMTP_TIMEOUT=1,
        TWILIO_TIMEOUT=1,
        SENDER_POLL_SECONDS=0.2,
    ),
]


@dataclass
class Cluster:
    servers: list[str]  # base URLs
    workers: list[subprocess.Popen[bytes]]
    processes: list[subprocess.Popen[bytes]]


@pytest.fixture(scope="module")
def running() -> Iterator[list[Cluster]]:
    """The module's cluster once `cluster` has started it; stopped when the module is done."""
    started: list[Cluster] = []
    yield started
    stuck = []
    for cluster in started:
        for process in cluster.processes:
            process.terminate()
        for process in cluster.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                stuck.append(process.args)
                process.kill()
                process.wait()
    assert not stuck, f"ignored SIGTERM: {stuck}"


@pytest.fixture
def cluster(running: list[Cluster], app_env: dict[str, str], tmp_path: Path) -> Cluster:
    """Two app servers and two workers configured as the ``app`` fixture is (its
    PostgreSQL schema, this module's settings), sharing rate-limit counters in Redis
    under a prefix of their own.  Started by the first test that asks and shared by the
    module's tests (starting four processes takes longer than the tests themselves)."""
    if running:
        return running[0]
    redis.Redis.from_url(REDIS_URL).ping()  # no Redis is a failure here, not a skip
    env = app_env | {"SSPR_RATELIMIT_KEY_PREFIX": "sspr-test-" + secrets.token_hex(4)}
    ports = [free_port(), free_port()]
    servers = [start_server(env, port, tmp_path / f"server-{port}.log") for port in ports]
    workers = [start_worker(env, tmp_path / f"worker-{n}.log") for n in range(2)]
    running.append(Cluster([f"http://127.0.0.1:{port}" for port in ports], workers, servers + workers))
    for port in ports:
        wait_ready(port)
    return running[0]


def post(session: requests.Session, server: str, page: str, action: str, **fields: str) -> requests.Response:
    """Post the form with this action from a page (as text) to this server, as a browser would."""
    return session.post(server + action, data=pages.hidden(page, action) | fields, timeout=30)


def at_code_step(session: requests.Session, server: str, username: str, method: str) -> str:
    """Walk the wizard on this server up to the code page; its text."""
    page = session.get(f"{server}/password-reset", timeout=30).text
    page = post(session, server, page, "/password-reset", username=username).text
    return post(session, server, page, "/password-reset/method", method=method).text


def test_a_reset_begun_on_one_server_finishes_on_the_other(cluster, make_user, smtp):
    """Name and method on server A, the mailed code (sent by a worker) and the new
    password on server B; then the new password signs in on A."""
    make_user("alice")
    a, b = cluster.servers
    browser = requests.Session()
    code_page = at_code_step(browser, a, "alice", "email")
    code = pages.code_in(smtp.wait_for("alice@mail.example.org", timeout=20).text)

    password_page = post(browser, b, code_page, "/password-reset/code", code=code)
    done = post(browser, b, password_page.text, "/password-reset/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)

    sign_in = requests.Session()
    login = sign_in.get(f"{a}/login", timeout=30).text
    signed_in = post(sign_in, a, login, "/login", username="alice", password=NEW_PASSWORD)
    assert password_page.status_code == 200
    assert done.status_code == 200
    assert signed_in.history and signed_in.history[0].status_code == 302


def test_a_code_posted_to_both_servers_at_once_works_once(cluster, make_user, twilio):
    """The page with the code (sent by SMS) posted to A and to B at the same moment,
    from the same browser: one server takes it, the other refuses it."""
    make_user("bob", phone="+4520998877")
    a, b = cluster.servers
    browser = requests.Session()
    code_page = at_code_step(browser, a, "bob", "sms")
    code = pages.code_in(twilio.wait_for("+4520998877", timeout=20).body)
    tabs = [requests.Session(), requests.Session()]
    for tab in tabs:
        tab.cookies.update(browser.cookies)
    barrier = threading.Barrier(2)
    answers: dict[str, requests.Response] = {}

    def send(tab: requests.Session, server: str) -> None:
        barrier.wait()
        answers[server] = post(tab, server, code_page, "/password-reset/code", code=code)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(tabs, (a, b), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    took = [server for server, answer in answers.items() if 'action="/password-reset/password"' in answer.text]
    refused = [answer.status_code for server, answer in answers.items() if server not in took]
    assert len(took) == 1
    assert len(refused) == 1
    assert 400 <= refused[0] < 500


def test_the_per_account_limit_holds_across_servers(cluster):
    """Two starts for one user name, one on each server, use up its limit of two a
    minute (counted in Redis): a third, on either server, gets the 429 page."""
    a, b = cluster.servers

    statuses = []
    for server in (a, b, a):
        browser = requests.Session()
        page = browser.get(f"{server}/password-reset", timeout=30).text
        statuses.append(post(browser, server, page, "/password-reset", username="victim").status_code)

    assert statuses == [200, 200, 429]


def owner(port: int, processes: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes] | None:
    """The process with a TCP socket on this local port (read from /proc), if any."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for process in processes:
        fd_dir = Path(f"/proc/{process.pid}/fd")
        for fd in fd_dir.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:  # closed since it was listed
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return process
    return None


def sent_or_not(app, prefix: str, timeout: float) -> list[str]:
    """The statuses of the messages to recipients with this prefix, once all are "sent"
    or the time is up (a mail arrives a moment before its sender records it)."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            query = select(OutboxMessage.status).where(OutboxMessage.recipient.startswith(prefix))
            statuses = list(db.session.scalars(query))
        if set(statuses) == {"sent"} or time.monotonic() > deadline:
            return statuses
        time.sleep(0.2)


def test_a_worker_killed_mid_delivery_loses_nothing_and_sends_nothing_twice(app, cluster, smtp):
    """Six mails queued while the SMTP server holds every sender before it accepts
    anything; the worker caught in a delivery is killed (SIGKILL).  Once its lease
    has run out, the other worker delivers every mail, each exactly once."""
    recipients = [f"batch{n}@mail.example.org" for n in range(6)]
    with smtp.holding() as held:
        with app.app_context():
            for to in recipients:
                outbox.enqueue("email", to, subject="Notice", text=f"For {to}.")
            db.session.commit()
        killed = None
        while killed is None:
            _host, port = held.wait(lambda peer: owner(peer[1], cluster.workers) is not None, timeout=20)
            killed = owner(port, cluster.workers)
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
    survivor = next(worker for worker in cluster.workers if worker is not killed)

    statuses = sent_or_not(app, "batch", timeout=LEASE_SECONDS + 20)

    assert statuses == ["sent"] * 6
    # Only this batch: a notice from an earlier test may still have been on its way.
    assert sorted(to for mail in smtp.inbox.items for to in mail.recipients if to.startswith("batch")) == recipients
    assert survivor.poll() is None
