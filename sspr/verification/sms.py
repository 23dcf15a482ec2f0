"""SMS senders: write to the outbox folder, or send through Twilio's Messages API."""

from __future__ import annotations

import contextlib
import logging
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from sspr.errors import DeliveryFailed

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"


class Sms(Protocol):
    id: int
    recipient: str
    body_text: str


class SmsBatch(Protocol):
    def send(self, sms: Sms) -> None:
        """Deliver or raise DeliveryFailed."""


class SmsSender(SmsBatch, Protocol):
    def batch(self) -> AbstractContextManager[SmsBatch]:
        """A sender for several SMS in a row, until the block ends."""


class OutboxSmsSender:
    """Development default: each SMS becomes a .txt file in the outbox folder."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder) / "sms"

    def send(self, sms: Sms) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{sms.id:08d}.txt"
            path.write_text(f"To: {sms.recipient}\n\n{sms.body_text}\n", encoding="utf-8")
        except OSError as exc:
            raise DeliveryFailed(f"cannot write to {self.folder}: {exc}") from exc
        log.info("SMS %d to %s written to %s", sms.id, sms.recipient, path)

    def batch(self) -> AbstractContextManager[OutboxSmsSender]:
        return contextlib.nullcontext(self)


class RedirectedHttpClient(TwilioHttpClient):
    """The twilio library's HTTP client, sending to another base URL (a local
    Twilio-compatible endpoint for tests and staging)."""

    def __init__(self, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.api_base = api_base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.api_base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class TwilioSmsSender:
    def __init__(self, config: Any) -> None:
        timeout = config["TWILIO_TIMEOUT"]
        http_client = (
            RedirectedHttpClient(config["TWILIO_API_BASE"], timeout)
            if config["TWILIO_API_BASE"]
            else TwilioHttpClient(timeout=timeout)
        )
        self.client = Client(config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"], http_client=http_client)
        self.sender = config["TWILIO_FROM"]

    def send(self, sms: Sms) -> None:
        try:
            message = self.client.messages.create(to=sms.recipient, from_=self.sender, body=sms.body_text)
        except (TwilioException, OSError) as exc:
            raise DeliveryFailed(f"Twilio: {exc}") from exc
        log.info("SMS %d to %s accepted by Twilio as %s", sms.id, sms.recipient, message.sid)

    def batch(self) -> AbstractContextManager[TwilioSmsSender]:
        # One client for the app (its HTTP session keeps connections open): nothing to open per batch.
        return contextlib.nullcontext(self)
