"""Mail senders: write to the outbox folder, or hand over to an SMTP server."""

from __future__ import annotations

import contextlib
import email.policy
import functools
import logging
import smtplib
import ssl
from contextlib import AbstractContextManager
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from sspr.errors import DeliveryFailed

log = logging.getLogger(__name__)


class Mail(Protocol):
    """What a sender needs of a queued mail."""

    id: int
    recipient: str
    subject: str
    body_text: str
    body_html: str


class MailBatch(Protocol):
    def send(self, mail: Mail) -> None:
        """Deliver or raise DeliveryFailed."""


class MailSender(MailBatch, Protocol):
    def batch(self) -> AbstractContextManager[MailBatch]:
        """A sender for several mails in a row (SMTP: on one connection) until the block ends."""


class _ParsedHeaders(HeaderRegistry):
    """The standard header registry, minus repeated work: the stock one makes a new class
    for every header it parses and parses every value anew, though From, Auto-Submitted
    and each part's Content-Type and Content-Transfer-Encoding are the same in every
    mail.  Together about half the cost of building a mail.  A parsed header is an
    immutable str, so mails may share one."""

    def __init__(self) -> None:
        super().__init__()
        self.classes: dict[str, type[BaseHeader]] = {}
        self.parsed = functools.lru_cache(maxsize=256)(self._parse)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if key not in self.classes:
            self.classes[key] = super().__getitem__(key)
        return self.classes[key]

    def __call__(self, name: str, value: Any) -> BaseHeader:
        return self.parsed(name, value) if isinstance(value, str) else self._parse(name, value)

    def _parse(self, name: str, value: Any) -> BaseHeader:
        return self[name](name, value)


# email.policy.default (what EmailMessage() uses) with the registry above: the same mail, byte for byte.
POLICY = email.policy.default.clone(header_factory=_ParsedHeaders())


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """A multipart/alternative mail: plain text first, HTML second."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = mail.recipient
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.body_text)
    if mail.body_html:
        msg.add_alternative(mail.body_html, subtype="html")
    return msg


class OutboxMailSender:
    """Development default: each mail becomes an .eml file in the outbox folder."""

    def __init__(self, folder: str, sender: str) -> None:
        self.folder = Path(folder) / "mail"
        self.sender = sender

    def send(self, mail: Mail) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{mail.id:08d}.eml"
            path.write_bytes(bytes(build_message(mail, self.sender)))
        except OSError as exc:
            raise DeliveryFailed(f"cannot write to {self.folder}: {exc}") from exc
        log.info("mail %d to %s written to %s", mail.id, mail.recipient, path)

    def batch(self) -> AbstractContextManager[OutboxMailSender]:
        return contextlib.nullcontext(self)


class SmtpMailSender:
    def __init__(self, config: Any) -> None:
        self.host = config["SMTP_HOST"]
        self.port = config["SMTP_PORT"]
        self.username = config["SMTP_USERNAME"]
        self.password = config["SMTP_PASSWORD"]
        self.starttls = config["SMTP_STARTTLS"]
        # Certificates are always checked; SMTP_CA_FILE adds a private CA to the system's.
        self.tls = ssl.create_default_context()
        if config["SMTP_CA_FILE"]:
            self.tls.load_verify_locations(cafile=config["SMTP_CA_FILE"])
        self.timeout = config["SMTP_TIMEOUT"]
        self.sender = config["MAIL_FROM"]

    def send(self, mail: Mail) -> None:
        """Deliver one mail on a connection of its own."""
        with self.batch() as connection:
            connection.send(mail)

    def batch(self) -> SmtpBatch:
        return SmtpBatch(self)


class SmtpBatch:
    """Mails handed over one after another on one SMTP connection: opened at the first
    mail, closed when the block ends.  A mail the server refuses fails alone, and the
    connection serves the next one; after any other failure the connection may be
    broken, so it is dropped and the next mail opens a new one."""

    def __init__(self, settings: SmtpMailSender) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpBatch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.smtp.quit()
            self._drop()

    def send(self, mail: Mail) -> None:
        cfg = self.settings
        message = build_message(mail, cfg.sender)
        try:
            self._connection().send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
            self._reset_after_refusal()
            raise DeliveryFailed(f"SMTP {cfg.host}:{cfg.port}: {exc}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryFailed(f"SMTP {cfg.host}:{cfg.port}: {exc}") from exc
        log.info("mail %d to %s handed to %s:%s", mail.id, mail.recipient, cfg.host, cfg.port)

    def _connection(self) -> smtplib.SMTP:
        if self.smtp is None:
            cfg = self.settings
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            try:
                if cfg.starttls:
                    smtp.starttls(context=cfg.tls)
                if cfg.username:
                    smtp.login(cfg.username, cfg.password or "")
                # Greeted before it serves a mail: a refusal from here on is about that mail.
                smtp.ehlo_or_helo_if_needed()
            except BaseException:
                smtp.close()
                raise
            self.smtp = smtp
        return self.smtp

    def _reset_after_refusal(self) -> None:
        """Clear the refused mail's transaction (smtplib does not after every refusal),
        or drop the connection if that fails or the server closed it (421)."""
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None
