"""The two apps `bench.peer` compares, each seen as the same five requests:
the reset form (GET), the first step for a known or an unknown user (POST),
the page that step redirects to (GET), and setting the new password at the
end of a prepared reset (POST).

sspr's first step takes a user name; Django's PasswordResetView an e-mail
address (a known one is mailed a link, to a file; an unknown one is not).
sspr's password step ends a flow verified by a code read from the outbox
folder; Django's PasswordResetConfirmView POST uses a link from the peer's seed
script, opened first (that GET moves the token into the session and redirects
to the form).  Everything a timed request needs is prepared before the window.
"""

from __future__ import annotations

import itertools
import json
import queue
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from bench import wrk
from bench.browser import Browser, Outbox, Response
from bench.latency import Person, WrongPage, new_password
from bench.load import Flow, Pool, run_threads
from bench.servers import Gunicorn

Request = Callable[[], Response | None]


def _expect(response: Response, status: int, what: str) -> Response:
    if response.status != status:
        raise WrongPage(f"{what}: status {response.status}, expected {status}")
    return response


def _first_post(base: Browser, action: str, field: str, names: dict[str, list[str]]) -> Callable[[str], Response]:
    """who -> one first-step POST from a copy of ``base`` (its session and CSRF token
    stay valid), the names of each kind taken in turn."""
    turns = {who: itertools.count() for who in names}
    lock = threading.Lock()

    def send(who: str) -> Response:
        with lock:
            i = next(turns[who])
        return base.clone().submit(action, **{field: names[who][i % len(names[who])]})

    return send


def _wrk_first_post(base: Browser, action: str, field: str, names: list[str], expected: int) -> wrk.Requests:
    """The first-step posts for wrk: ``base``'s cookies and hidden inputs, the names in turn."""
    headers = {**_wrk_cookies(base), "Content-Type": "application/x-www-form-urlencoded"}
    hidden = base.page.hidden(action) if base.page else {}
    return wrk.Requests("POST", action, expected, headers, tuple(urlencode({**hidden, field: n}) for n in names))


def _wrk_cookies(base: Browser) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in base.cookies.items())}


def _password_request(pool: Pool, action: str | None, fields: Callable[[str], dict[str, str]]) -> Request:
    """Each call takes the next prepared flow and sets a new password; ``action``
    None posts the page's form back to the page (Django's forms have no action)."""

    def request() -> Response | None:
        flow = pool.take()
        if flow is None:
            return None
        assert flow.browser.page is not None
        new = new_password()
        return flow.browser.submit(action or flow.browser.page.path, **fields(new))

    return request


class Sspr:
    name = "sspr"
    form_path = "/password-reset"
    first_status = 303  # to the method page, known or not
    password_status = 200
    # The password step hashes the new password; it verifies it against the current
    # hash too ("not the same as now", a second argon2 operation) only for a password
    # that has expired or must change, which the bench's users' passwords need not.
    argon2_per_password = 1

    def __init__(self, server: Gunicorn, people: list[Person], clients: int) -> None:
        self.server = server
        self.people = people
        self.clients = clients
        self.outbox = Outbox(server.workdir / "outbox")
        self.outbox_lock = threading.Lock()

    def form(self) -> Request:
        return lambda: Browser(self.server.port).get(self.form_path)

    def names(self) -> dict[str, list[str]]:
        # As many unknown names as known ones, each taken as often (limits count per name).
        return {
            "known": [p.username for p in self.people],
            "unknown": [f"bench-nobody-{i}" for i in range(len(self.people))],
        }

    def first_post(self) -> Callable[[str], Response]:
        base = Browser(self.server.port)
        _expect(base.get(self.form_path), 200, "sspr form")
        return _first_post(base, self.form_path, "username", self.names())

    def landing(self) -> Request:
        """The method page the first step redirects to (opening it again uses nothing up)."""
        base = Browser(self.server.port)
        _expect(base.get(self.form_path), 200, "sspr form")
        _expect(base.submit(self.form_path, username=self.people[0].username), 303, "user name")
        _expect(base.follow(), 200, "method page")
        return lambda: base.clone().get("/password-reset/method")

    def wrk_requests(self, kind: str) -> wrk.Requests:
        """The form, the first step for known or unknown names, or its landing page, for wrk."""
        if kind == "form":
            return wrk.Requests("GET", self.form_path, 200)
        base = Browser(self.server.port)
        _expect(base.get(self.form_path), 200, "sspr form")
        if kind == "landing":
            _expect(base.submit(self.form_path, username=self.people[0].username), 303, "user name")
            return wrk.Requests("GET", "/password-reset/method", 200, _wrk_cookies(base))
        return _wrk_first_post(base, self.form_path, "username", self.names()[kind], self.first_status)

    def password_posts(self, count: int, timeout: float) -> Request:
        """``count`` flows verified by e-mail and standing on the password page; each
        user's flows are made one at a time, so the outbox's next code is theirs."""
        free: queue.Queue[Person] = queue.Queue()
        for person in self.people:
            free.put(person)
        made: list[Flow] = []
        left = iter(range(count))
        lock = threading.Lock()

        def one() -> bool:
            with lock:
                if next(left, None) is None:
                    return False
            person = free.get()
            try:
                browser = Browser(self.server.port)
                _expect(browser.get(self.form_path), 200, "form")
                _expect(browser.submit(self.form_path, username=person.username), 303, "user name")
                _expect(browser.follow(), 200, "method page")
                _expect(browser.submit("/password-reset/method", method="email"), 200, "method")
                with self.outbox_lock:
                    code = self.outbox.code_for(person.email)
                page = _expect(browser.submit("/password-reset/code", code=code), 200, "code")
                if not page.has_form("/password-reset/password"):
                    raise WrongPage("code: no password form")
            finally:
                free.put(person)
            with lock:
                made.append(Flow(browser))
            return True

        run_threads(min(self.clients, len(self.people)), timeout, one)
        return _password_request(Pool(iter(made)), "/password-reset/password", lambda p: {"password": p, "confirm": p})

    @staticmethod
    def password_done(response: Response) -> bool:
        """The done page, not the password page again with a refusal."""
        return not response.has_form("/password-reset/password")


class Django:
    name = "Django"
    form_path = "/accounts/password_reset/"
    first_status = 302  # to the "check your mail" page, known or not
    password_status = 302  # to the "password changed" page; a bad link gets a 200 page
    argon2_per_password = 1  # SetPasswordForm hashes; nothing is verified

    def __init__(self, server: Gunicorn, python: Path, known: list[str], clients: int) -> None:
        self.server = server
        self.python = python
        self.known = known
        self.clients = clients

    def form(self) -> Request:
        return lambda: Browser(self.server.port).get(self.form_path)

    def names(self) -> dict[str, list[str]]:
        return {"known": self.known, "unknown": [f"django-nobody-{i}@example.com" for i in range(len(self.known))]}

    def first_post(self) -> Callable[[str], Response]:
        base = Browser(self.server.port)
        _expect(base.get(self.form_path), 200, "Django form")
        return _first_post(base, self.form_path, "email", self.names())

    def wrk_requests(self, kind: str) -> wrk.Requests:
        """The form, the first step for known or unknown addresses, or its landing page, for wrk."""
        if kind == "form":
            return wrk.Requests("GET", self.form_path, 200)
        if kind == "landing":
            return wrk.Requests("GET", self.form_path + "done/", 200)
        base = Browser(self.server.port)
        _expect(base.get(self.form_path), 200, "Django form")
        return _wrk_first_post(base, self.form_path, "email", self.names()[kind], self.first_status)

    def landing(self) -> Request:
        """The "check your mail" page the first step redirects to."""
        return lambda: Browser(self.server.port).get(self.form_path + "done/")

    def seed(self, what: str, count: int) -> list[str]:
        """Run the peer's seed script (bench/django_peer/seed.py) with the server's environment."""
        done = subprocess.run(  # noqa: S603 - the peer venv's Python, our own module
            [str(self.python), "-m", "bench.django_peer.seed", what, str(count)],
            env=self.server.env,
            cwd=self.server.workdir,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError("Django seed failed:\n" + done.stderr.decode(errors="replace")[-3000:])
        found: list[str] = json.loads(done.stdout)
        return found

    def password_posts(self, count: int, timeout: float) -> Request:
        """``count`` users of their own, each with its link opened: on the set-password form."""
        links = iter(self.seed("links", count))
        made: list[Flow] = []
        lock = threading.Lock()

        def one() -> bool:
            with lock:
                link = next(links, None)
            if link is None:
                return False
            browser = Browser(self.server.port)
            _expect(browser.get(link), 302, "reset link")
            form = link.rstrip("/").rsplit("/", 1)[0] + "/set-password/"
            page = _expect(browser.get(form), 200, "set-password form")
            if not page.has_form(form):
                raise WrongPage("reset link refused: " + page.body[:300])
            with lock:
                made.append(Flow(browser))
            return True

        run_threads(self.clients, timeout, one)
        return _password_request(Pool(iter(made)), None, lambda p: {"new_password1": p, "new_password2": p})
