"""Does the first POST of a reset tell a known user from an unknown one?  Two probes,
the same for sspr and for its peer, each given a ``send(who)`` that posts one
first step for a known or an unknown user and returns the response.

- **Pairs on one client**: N known/unknown pairs sent back to back by a single
  client, the order alternating every pair; per pair, the known request's time
  minus the unknown one's.  Reported: the median of those differences and the
  share of pairs in which the known request was the slower (50% is a coin toss).
- **Under load**: a window of many client threads, each sending known and unknown
  in turn (`Mixed`); the p50 latency of the known requests minus the unknown ones'.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.browser import Response
from bench.latency import WrongPage

WHO = ("known", "unknown")
Send = Callable[[str], Response]


def pairs(send: Send, expected: int, count: int, seconds: float, warmup: int = 20) -> dict[str, Any]:
    """``warmup`` unrecorded pairs, then up to ``count`` pairs or ``seconds``, whichever ends first."""
    differences: list[float] = []
    start = time.monotonic()
    for i in range(-warmup, count):
        if i >= 0 and time.monotonic() - start > seconds:
            break
        taken: dict[str, float] = {}
        for who in WHO if i % 2 == 0 else WHO[::-1]:
            response = send(who)
            if response.status != expected:
                raise WrongPage(f"probe ({who}): status {response.status}, expected {expected}")
            taken[who] = response.seconds
        if i >= 0:
            differences.append(taken["known"] - taken["unknown"])
        elif i == -1:
            start = time.monotonic()
    return summarise_pairs(differences, time.monotonic() - start)


def summarise_pairs(differences: list[float], seconds: float) -> dict[str, Any]:
    slower = sum(d > 0 for d in differences)
    ties = sum(d == 0 for d in differences)
    return {
        "pairs": len(differences),
        "seconds": round(seconds, 1),
        "median_gap_ms": round(statistics.median(differences) * 1000, 3) if differences else None,
        # Ties (same time to the clock's resolution) count half each way.
        "known_slower_share": round((slower + ties / 2) / len(differences), 4) if differences else None,
    }


class Mixed:
    """The request of a load window whose threads send known and unknown in turn;
    keeps each accepted response's time by who it was for."""

    def __init__(self, send: Send, expected: int) -> None:
        self.send = send
        self.expected = expected
        self.turn = itertools.count()
        self.lock = threading.Lock()
        self.seconds: dict[str, list[float]] = {who: [] for who in WHO}

    def __call__(self) -> Response:
        with self.lock:
            who = WHO[next(self.turn) % 2]
        response = self.send(who)
        if response.status == self.expected:
            with self.lock:
                self.seconds[who].append(response.seconds)
        return response

    def p50_gap_ms(self) -> float | None:
        known, unknown = self.seconds["known"], self.seconds["unknown"]
        if not known or not unknown:
            return None
        return round((statistics.median(known) - statistics.median(unknown)) * 1000, 3)
