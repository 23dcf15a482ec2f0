"""Latency of each wizard step for a known and an unknown user name, interleaved.

Each pair walks two browsers through the wizard side by side, step by step:
the known user's request, then the unknown user's (or the other way round on
every other pair), so throttling and drift on this shared machine hit both
alike.  Every response is checked (status and the next form) so a
benchmark of error pages cannot pass for one of the wizard.

The known user then goes on alone: the right code (read from the outbox
folder) and a new password.  Unknown names never reach those pages.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.browser import Browser, Outbox, Response
from bench.servers import CpuMeter

WRONG_CODE = "000000"
STEPS = (
    "GET form",
    "POST username",
    "GET method page",
    "POST method (email)",
    "POST method (sms)",
    "POST code (wrong)",
)
KNOWN_ONLY = ("POST code (right)", "POST password")


@dataclass
class Person:
    username: str
    password: str
    email: str
    phone: str

    def destination(self, method: str) -> str:
        return self.email if method == "email" else self.phone


@dataclass
class Sample:
    step: str
    who: str  # "known" or "unknown"
    pair: int
    seconds: float
    request_id: str
    server_us: int | None = None


def people(count: int) -> list[Person]:
    """Known users with both a mail address and a phone number."""
    return [
        Person(
            f"bench-known-{i}",
            new_password(),
            f"bench-known-{i}@example.com",
            f"+452012{i:04d}",
        )
        for i in range(count)
    ]


def new_password() -> str:
    """Long and random: passes the length, common-password and zxcvbn checks."""
    return "bench-" + secrets.token_urlsafe(18)


class WrongPage(AssertionError):
    """The server answered with something other than the page the step leads to."""


def _expect(response: Response, status: int, form: str | None, what: str) -> Response:
    if response.status != status or (form is not None and not response.has_form(form)):
        raise WrongPage(f"{what}: status {response.status}, expected {status} with a form posting to {form}")
    return response


class Pairs:
    """Runs the interleaved pairs and keeps their samples."""

    def __init__(self, port: int, outbox_dir: Path, known: list[Person], think: float, meter: CpuMeter) -> None:
        self.port = port
        self.meter = meter
        self.machine: list[dict[str, float]] = []  # per recorded pair: cores used by us and by others
        self.outbox = Outbox(outbox_dir)
        self.known = known
        # As many unknown names as known ones, cycled alike, so both have the
        # same history of codes per name (the per-name count is a query).
        self.unknown = [f"bench-nobody-{i}" for i in range(len(known))]
        self.think = think
        self.samples: list[Sample] = []

    def run(self, pairs: int, warmup: int, seconds: float, password_every: int) -> dict[str, object]:
        """``warmup`` unrecorded pairs, then up to ``pairs`` pairs or ``seconds``, whichever ends first."""
        for i in range(warmup):
            self.pair(i, record=False, with_password=True)
        start = time.monotonic()
        done = 0
        while done < pairs and time.monotonic() - start < seconds:
            self.meter.lap()
            self.pair(done, record=True, with_password=done % password_every == 0)
            self.machine.append({"pair": done, **self.meter.lap()})
            done += 1
        return {"pairs": done, "seconds": time.monotonic() - start}

    def pair(self, index: int, *, record: bool, with_password: bool) -> None:
        person = self.known[index % len(self.known)]
        names = {"known": person.username, "unknown": self.unknown[index % len(self.unknown)]}
        # Order alternates every pair; the method every two pairs, so each
        # method gets both orders.
        order = ("known", "unknown") if index % 2 == 0 else ("unknown", "known")
        method = ("email", "sms")[(index // 2) % 2]
        browsers = {who: Browser(self.port) for who in order}

        def step(name: str, status: int, form: str | None, act: Callable[[Browser, str], Response]) -> None:
            for who in order:
                if self.think:
                    time.sleep(self.think)
                response = _expect(act(browsers[who], who), status, form, f"{name} ({who})")
                if record:
                    self.samples.append(Sample(name, who, index, response.seconds, response.request_id))

        step("GET form", 200, "/password-reset", lambda b, _w: b.get("/password-reset"))
        step("POST username", 303, None, lambda b, w: b.submit("/password-reset", username=names[w]))
        step("GET method page", 200, "/password-reset/method", lambda b, _w: b.follow())
        step(
            f"POST method ({method})",
            200,
            "/password-reset/code",
            lambda b, _w: b.submit("/password-reset/method", method=method),
        )
        step(
            "POST code (wrong)",
            400,
            "/password-reset/code",
            lambda b, _w: b.submit("/password-reset/code", code=WRONG_CODE),
        )
        code = self.outbox.code_for(person.destination(method))
        if not with_password or code == WRONG_CODE:
            return
        self._known_alone(browsers["known"], person, code, index, record)

    def _known_alone(self, browser: Browser, person: Person, code: str, index: int, record: bool) -> None:
        if self.think:
            time.sleep(self.think)
        right = _expect(browser.submit("/password-reset/code", code=code), 200, "/password-reset/password", "code")
        if self.think:
            time.sleep(self.think)
        new = new_password()
        done = browser.submit("/password-reset/password", password=new, confirm=new)
        _expect(done, 200, None, "password")
        if done.has_form("/password-reset/password"):
            raise WrongPage("password refused: " + done.body[:500])
        person.password = new
        if record:
            self.samples.append(Sample("POST code (right)", "known", index, right.seconds, right.request_id))
            self.samples.append(Sample("POST password", "known", index, done.seconds, done.request_id))

    def attach_server_times(self, times: dict[str, int]) -> None:
        for s in self.samples:
            s.server_us = times.get(s.request_id)

    def as_json(self) -> list[dict[str, object]]:
        return [asdict(s) for s in self.samples]
