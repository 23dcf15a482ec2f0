"""Mail senders: write to the outbox folder, or hand over to an SMTP server."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
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


class MailSender(Protocol):
    def send(self, mail: Mail) -> None:
        """Deliver or raise DeliveryFailed."""


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """A multipart/alternative mail: plain text first, HTML second."""
    msg = EmailMessage()
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
        message = build_message(mail, self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=self.tls)
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {exc}") from exc
        log.info("mail %d to %s handed to %s:%s", mail.id, mail.recipient, self.host, self.port)
