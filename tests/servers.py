"""Real local servers the tests talk to: an SMTP server (aiosmtpd) and an HTTP
endpoint that speaks Twilio's Messages API, reached through the real `twilio`
library.  Both record what they receive and can be told to fail."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email
import email.policy
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """Messages received, with a wait for the one a test expects."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.cond = threading.Condition()

    def add(self, item: Any) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def clear(self) -> None:
        with self.cond:
            self.items.clear()

    def wait(self, predicate: Any = lambda item: True, timeout: float = 5.0) -> Any:
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for item in self.items:
                    if predicate(item):
                        return item
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching message within {timeout}s; got {self.items!r}")
                self.cond.wait(left)


@dataclass
class ReceivedMail:
    envelope_from: str
    recipients: list[str]
    message: EmailMessage
    connection: tuple[str, int]  # the sender's (host, port): one per connection

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return part.get_content() if part else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        return part.get_content() if part else ""


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_EHLO(
        self, server: Any, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if session.peer not in self.server.connections:  # again after STARTTLS, on the same connection
            self.server.connections.append(session.peer)
        return responses

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        # A held server keeps each sender waiting here, before any message is accepted:
        # tests stop a worker at this point, mid-delivery, with nothing delivered.
        if self.server.hold.is_set():
            self.server.held.add(session.peer)
            while self.server.hold.is_set():
                await asyncio.sleep(0.02)
        if address in self.server.refused:
            return "450 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.server.refuse:
            return "451 4.3.0 try again later"
        if self.server.dropped.intersection(envelope.rcpt_tos):
            # Closed with no answer (the reply below goes nowhere): the sender cannot tell whether the mail was taken.
            server.transport.close()
            return "421 4.3.2 closing"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.server.inbox.add(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message, session.peer))
        return "250 OK"


class SmtpServer:
    """Plain SMTP by default; given a TLS context and credentials, a relay like a
    real provider's: STARTTLS required, then AUTH required (only over TLS)."""

    def __init__(self, tls: ssl.SSLContext | None = None, credentials: tuple[str, str] | None = None) -> None:
        self.inbox = Inbox()
        self.refuse = False  # every mail refused (451 at the end of DATA)
        self.refused: set[str] = set()  # recipients refused (450 at RCPT TO)
        self.dropped: set[str] = set()  # recipients whose mail ends with the connection closed, unanswered
        self.connections: list[tuple[str, int]] = []  # the sender's (host, port) of each connection greeted
        self.hold = threading.Event()
        self.held = Inbox()
        self.logins: list[str] = []
        self.credentials = credentials
        secure: dict[str, Any] = {}
        if tls is not None:
            secure = {"tls_context": tls, "require_starttls": True}
        if credentials is not None:
            secure |= {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": True}
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=free_port(), **secure)

    def _authenticate(self, server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> Any:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) == (
            self.credentials
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def reset(self) -> None:
        """Nothing received, nothing refused: as new, for the next test."""
        self.inbox.clear()
        self.refuse = False
        self.refused.clear()
        self.dropped.clear()
        self.connections.clear()

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def wait_for(self, to: str, timeout: float = 5.0) -> ReceivedMail:
        return self.inbox.wait(lambda m: to.lower() in [r.lower() for r in m.recipients], timeout)  # type: ignore

    @contextlib.contextmanager
    def holding(self) -> Iterator[Inbox]:
        """Inside, every sender waits at RCPT TO, nothing accepted yet, until the block
        ends or ``hold`` is cleared; yields the (host, port) of each sender held."""
        self.held.clear()
        self.hold.set()
        try:
            yield self.held
        finally:
            self.hold.clear()


@dataclass
class ReceivedSms:
    account_sid: str
    to: str
    from_: str
    body: str
    auth: tuple[str, str] | None = field(default=None)


class _TwilioHandler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        endpoint: TwilioEndpoint = self.server.endpoint
        parts = self.path.split("/")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        header = self.headers.get("Authorization", "")
        auth = tuple(base64.b64decode(header[6:]).decode().split(":", 1)) if header.startswith("Basic ") else None
        if len(parts) != 5 or parts[1] != "2010-04-01" or parts[4] != "Messages.json":
            return self._reply(404, {"code": 20404, "message": "not found", "status": 404})
        if auth != (endpoint.account_sid, endpoint.auth_token) or parts[3] != endpoint.account_sid:
            return self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if endpoint.fail_status:
            status = endpoint.fail_status
            return self._reply(status, {"code": 30001, "message": "failing", "status": status})
        sms = ReceivedSms(parts[3], form.get("To", ""), form.get("From", ""), form.get("Body", ""), auth)  # type: ignore
        endpoint.inbox.add(sms)
        sid = "SM" + uuid.uuid4().hex
        uri = f"/2010-04-01/Accounts/{parts[3]}/Messages/{sid}.json"
        return self._reply(
            201,
            {
                "sid": sid,
                "account_sid": parts[3],
                "to": sms.to,
                "from": sms.from_,
                "body": sms.body,
                "status": "queued",
                "num_segments": "1",
                "api_version": "2010-04-01",
                "uri": uri,
            },
        )


class TwilioEndpoint:
    """POST /2010-04-01/Accounts/{Sid}/Messages.json with basic auth, as Twilio answers it."""

    account_sid = "AC" + "0" * 32
    auth_token = "test-auth-token"

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.fail_status = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _TwilioHandler)
        self.httpd.endpoint = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def wait_for(self, to: str, timeout: float = 5.0) -> ReceivedSms:
        return self.inbox.wait(lambda m: m.to == to, timeout)  # type: ignore[no-any-return]


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`sspr worker` in a process of its own, configured by ``env``, writing to ``log``."""
    sspr = str(Path(sys.executable).parent / "sspr")
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sspr, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
