"""Requests per second of one wizard step at a time, from several client threads.

Each step's requests need fresh state (a POSTed step token works once), so
the flows a window will use are prepared before it starts, with the same
concurrency, and the window then sends only the step being measured.  A window
ends after its seconds or when its prepared flows run out, whichever is first;
the rate is requests completed over the time the window really lasted.

Flows alternate between a known user and an unknown name (half and half), and
the method between email and SMS.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bench.browser import Browser, Response
from bench.latency import WRONG_CODE, Person
from bench.servers import CpuMeter

# Wrong codes a flow takes before the next one ends it (the default CODE_MAX_WRONG_TRIES is 5).
WRONG_CODES_PER_FLOW = 4


@dataclass
class Flow:
    """A browser that is on the page of the step to be measured."""

    browser: Browser
    method: str = "email"
    posts_left: int = 1


@dataclass
class Window:
    target: str
    clients: int
    seconds: float = 0.0
    completed: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    ran_out: bool = False
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    other_cpu: float = 0.0
    steal: float = 0.0

    @property
    def rate(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


class Pool:
    """Thread-safe source of work items; None when empty."""

    def __init__(self, items: Iterator[Flow]) -> None:
        self.items = items
        self.lock = threading.Lock()

    def take(self) -> Flow | None:
        with self.lock:
            return next(self.items, None)


def run_threads(clients: int, seconds: float, work: Callable[[], bool]) -> tuple[float, bool]:
    """Call ``work`` from ``clients`` threads until ``seconds`` pass or it returns False; (elapsed, ran out)."""
    deadline = time.monotonic() + seconds
    ran_out = threading.Event()

    def loop() -> None:
        while time.monotonic() < deadline and not ran_out.is_set():
            if not work():
                ran_out.set()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    return time.monotonic() - start, ran_out.is_set()


class Names:
    """Known and unknown names in turn, each cycled."""

    def __init__(self, known: list[Person]) -> None:
        self.known = [p.username for p in known]
        self.unknown = [f"bench-nobody-{i}" for i in range(len(known))]
        self.count = 0
        self.lock = threading.Lock()

    def next(self) -> tuple[str, str]:
        """(name, method): alternately known and unknown; the method changes every two."""
        with self.lock:
            i = self.count
            self.count += 1
        names = self.known if i % 2 == 0 else self.unknown
        return names[(i // 2) % len(names)], ("email", "sms")[(i // 2) % 2]


class Prepare:
    """Builds the flows a window needs, with the clients' concurrency (untimed)."""

    def __init__(self, port: int, names: Names, clients: int) -> None:
        self.port = port
        self.names = names
        self.clients = clients
        self.lock = threading.Lock()

    def fresh_session(self) -> Browser:
        """A browser holding the form page's session and CSRF token; clones can each start a flow."""
        browser = Browser(self.port)
        _check(browser.get("/password-reset"), 200)
        return browser

    def flows(self, count: int, step: str, timeout: float) -> list[Flow]:
        """``count`` flows standing on ``step``: "method" (after the user name) or "code" (after the method)."""
        base = self.fresh_session()
        made: list[Flow] = []
        remaining = iter(range(count))

        def one() -> bool:
            with self.lock:
                if next(remaining, None) is None:
                    return False
            name, method = self.names.next()
            browser = base.clone()
            _check(browser.submit("/password-reset", username=name), 303)
            _check(browser.follow(), 200)
            flow = Flow(browser, method)
            if step == "code":
                _check(browser.submit("/password-reset/method", method=method), 200)
                flow.posts_left = WRONG_CODES_PER_FLOW
            with self.lock:
                made.append(flow)
            return True

        run_threads(self.clients, timeout, one)
        return made


class PrepareFailed(AssertionError):
    pass


def _check(response: Response, status: int) -> Response:
    if response.status != status:
        raise PrepareFailed(f"preparing flows: status {response.status}, expected {status}")
    return response


def measure(
    target: str,
    clients: int,
    seconds: float,
    request: Callable[[], Response | None],
    expected: int,
    server_cpu: Callable[[], float],
    meter: CpuMeter,
    accept: Callable[[Response], bool] | None = None,
) -> Window:
    """One timed window of ``request`` calls (None: no work left).  A response counts
    when it has the ``expected`` status and, if given, ``accept`` takes it."""
    window = Window(target, clients)
    lock = threading.Lock()

    def work() -> bool:
        response = request()
        if response is None:
            return False
        ok = response.status == expected and (accept is None or accept(response))
        with lock:
            if ok:
                window.completed += 1
                window.latencies.append(response.seconds)
            else:
                window.failed += 1
        return True

    meter.lap()
    client0, server0 = time.process_time(), server_cpu()
    window.seconds, window.ran_out = run_threads(clients, seconds, work)
    window.client_cpu = (time.process_time() - client0) / window.seconds
    window.server_cpu = (server_cpu() - server0) / window.seconds
    machine = meter.lap()
    window.other_cpu, window.steal = machine["other_cores"], machine["steal"]
    return window


def hello_request(port: int) -> Callable[[], Response]:
    def request() -> Response:
        return Browser(port).get("/")

    return request


def hello_form_request(port: int) -> Callable[[], Response]:
    """A form page on sspr's stack and nothing else, from a new browser each time."""

    def request() -> Response:
        return Browser(port).get("/form")

    return request


def hello_hash_request(port: int) -> Callable[[], Response]:
    """One argon2 hash over HTTP, nothing else: the bound of a password step."""

    def request() -> Response:
        return Browser(port).request("POST", "/hash", {"password": secrets.token_urlsafe(18)})

    return request


def form_request(port: int) -> Callable[[], Response]:
    def request() -> Response:
        return Browser(port).get("/password-reset")

    return request


def username_request(sessions: list[Browser], names: Names) -> Callable[[], Response]:
    """Each thread takes one prepared session (its CSRF token stays valid) and starts a new flow per request."""
    local = threading.local()
    lock = threading.Lock()

    def request() -> Response:
        if not hasattr(local, "browser"):
            with lock:
                local.browser = sessions.pop()
        browser = local.browser.clone()
        return browser.submit("/password-reset", username=names.next()[0])

    return request


def method_page_request(flows: list[Flow]) -> Callable[[], Response]:
    """Each thread takes one flow standing on its first method page and opens that page
    again and again (the name's redirect leads there; opening it uses nothing up)."""
    local = threading.local()
    lock = threading.Lock()

    def request() -> Response:
        if not hasattr(local, "browser"):
            with lock:
                local.browser = flows.pop().browser
        browser: Browser = local.browser
        return browser.get("/password-reset/method")

    return request


def step_request(pool: Pool, action: str, fields: Callable[[Flow], dict[str, str]]) -> Callable[[], Response | None]:
    """Post ``action`` from prepared flows; a flow good for several posts is kept by its thread."""
    local = threading.local()

    def request() -> Response | None:
        flow: Flow | None = getattr(local, "flow", None)
        if flow is None or flow.posts_left <= 0:
            flow = local.flow = pool.take()
            if flow is None:
                return None
        flow.posts_left -= 1
        return flow.browser.submit(action, **fields(flow))

    return request


def method_fields(flow: Flow) -> dict[str, str]:
    return {"method": flow.method}


def wrong_code_fields(_flow: Flow) -> dict[str, str]:
    return {"code": WRONG_CODE}
