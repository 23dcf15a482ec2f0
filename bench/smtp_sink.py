"""A local SMTP server that accepts and counts mail, in a process of its own so it
does not compete with the benchmark's client for one interpreter:

    python -m bench.smtp_sink PORT COUNTS.json

Listens on 127.0.0.1:PORT (aiosmtpd) until SIGTERM, then writes how many mails
came, to how many distinct recipients, and how many recipients got more than one.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Counting:
    def __init__(self) -> None:
        self.by_recipient: Counter[str] = Counter()

    # aiosmtpd calls the handler's hooks by these names.
    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        self.by_recipient.update(envelope.rcpt_tos)
        return "250 OK"

    def counts(self) -> dict[str, Any]:
        return {
            "received": sum(self.by_recipient.values()),
            "recipients": len(self.by_recipient),
            "duplicates": sum(n - 1 for n in self.by_recipient.values() if n > 1),
        }


def main() -> None:
    port, out = int(sys.argv[1]), Path(sys.argv[2])
    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller.start()
    print("ready", flush=True)
    while not stop.wait(0.5):  # a timed wait, so the signal handler gets to run
        pass
    controller.stop()
    out.write_text(json.dumps(handler.counts()))


if __name__ == "__main__":
    main()
