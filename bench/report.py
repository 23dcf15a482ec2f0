"""Medians, the known/unknown gaps and the tables printed at the end of a run."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from typing import Any

from bench.latency import KNOWN_ONLY, STEPS, Sample
from bench.load import Window

GAP_TARGET_MS = 5.0


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _p90(values: list[float]) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=10)[-1]


def gap_interval(known: list[float], unknown: list[float], resamples: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of median(known) - median(unknown): how sure the gap is, given the noise."""
    rng = random.Random(0)  # noqa: S311 - resampling, not secrets; fixed so a run's report is reproducible
    gaps = sorted(
        statistics.median(rng.choices(known, k=len(known))) - statistics.median(rng.choices(unknown, k=len(unknown)))
        for _ in range(resamples)
    )
    return gaps[int(0.025 * resamples)], gaps[int(0.975 * resamples) - 1]


def verdict(low_ms: float, high_ms: float) -> str:
    """ "yes" when the whole 95% interval of the gap is within the target, "NO" when
    all of it is beyond, "unclear" when the noise does not tell."""
    if low_ms > -GAP_TARGET_MS and high_ms < GAP_TARGET_MS:
        return "yes"
    if low_ms >= GAP_TARGET_MS or high_ms <= -GAP_TARGET_MS:
        return "NO"
    return "unclear"


def latency_summary(samples: list[Sample]) -> list[dict[str, Any]]:
    """Per step: medians for known and unknown (client and server side), their gap, and the paired gap."""
    by: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        by[(s.step, s.who)].append(s)
    rows = []
    for step in (*STEPS, *KNOWN_ONLY):
        known, unknown = by.get((step, "known"), []), by.get((step, "unknown"), [])
        if not known:
            continue
        row: dict[str, Any] = {
            "step": step,
            "n": len(known),
            "known_ms": _ms(_median([s.seconds for s in known])),
            "known_p90_ms": _ms(_p90([s.seconds for s in known])),
            "known_server_ms": _ms(_median([s.server_us / 1e6 for s in known if s.server_us is not None])),
        }
        if unknown:
            pairs = {s.pair: s for s in unknown}
            paired = [k.seconds - pairs[k.pair].seconds for k in known if k.pair in pairs]
            row.update(
                unknown_ms=_ms(_median([s.seconds for s in unknown])),
                unknown_p90_ms=_ms(_p90([s.seconds for s in unknown])),
                unknown_server_ms=_ms(_median([s.server_us / 1e6 for s in unknown if s.server_us is not None])),
                paired_gap_ms=_ms(_median(paired)),
            )
            row["gap_ms"] = round(row["known_ms"] - row["unknown_ms"], 2)
            low, high = gap_interval([s.seconds for s in known], [s.seconds for s in unknown])
            row["gap_ci95_ms"] = [_ms(low), _ms(high)]
            if row["known_server_ms"] is not None and row["unknown_server_ms"] is not None:
                row["server_gap_ms"] = round(row["known_server_ms"] - row["unknown_server_ms"], 2)
            row["under_target"] = verdict(low * 1000, high * 1000)
        rows.append(row)
    return rows


def throughput_summary(windows: list[Window]) -> list[dict[str, Any]]:
    """Per target: the median rate over the rounds, and its ratio to hello-world in the same round."""
    rounds: dict[str, list[Window]] = defaultdict(list)
    for w in windows:
        rounds[w.target].append(w)
    hello = rounds.get("hello", [])
    rows = []
    for target, ws in rounds.items():
        ratios = [w.rate / h.rate for w, h in zip(ws, hello, strict=False) if h.rate]
        latencies = [x for w in ws for x in w.latencies]
        rows.append(
            {
                "target": target,
                "rounds": len(ws),
                "rps": round(statistics.median(w.rate for w in ws), 1),
                "rps_each": [round(w.rate, 1) for w in ws],
                "of_hello": round(statistics.median(ratios), 3) if ratios else None,
                "latency_ms": _ms(_median(latencies)),
                "latency_p90_ms": _ms(_p90(latencies)),
                "requests": sum(w.completed for w in ws),
                "failed": sum(w.failed for w in ws),
                "ran_out": sum(w.ran_out for w in ws),
                "window_s": round(statistics.median(w.seconds for w in ws), 2),
                "server_cores": round(statistics.median(w.server_cpu for w in ws), 2),
                "server_cpu_ms_per_request": round(
                    statistics.median(w.server_cpu / w.rate * 1000 for w in ws if w.rate), 1
                ),
                "client_cores": round(statistics.median(w.client_cpu for w in ws), 2),
                "other_cores": round(statistics.median(w.other_cpu for w in ws), 2),
                "steal": round(statistics.median(w.steal for w in ws), 3),
            }
        )
    return rows


def fill_cpu_per_request(summary: list[dict[str, Any]], windows: list[dict[str, Any]]) -> None:
    """Add server CPU ms per request to a saved summary that lacks it, from its saved windows."""
    for row in summary:
        if "server_cpu_ms_per_request" not in row:
            mine = [w for w in windows if w["target"] == row["target"] and w["completed"]]
            per = [w["server_cpu"] * w["seconds"] / w["completed"] * 1000 for w in mine]
            row["server_cpu_ms_per_request"] = round(statistics.median(per), 1) if per else None


def not_quiet(others: list[float], limit: float) -> str | None:
    """A warning when other work used the machine during a run (cores per measurement):
    its figures are then no result.  None when the median and 9 in 10 measurements
    stayed within ``limit``."""
    if not others:
        return None
    busy = sum(o > limit for o in others)
    if statistics.median(others) <= limit and busy <= len(others) // 10:
        return None
    return (
        f"WARNING: the machine was not quiet: other work used {statistics.median(others):.2f} cores (median, "
        f"max {max(others):.2f}); {busy} of {len(others)} measurements over {limit:g} cores. "
        "These figures are not results; re-run on a quiet machine."
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _interval(pair: list[float] | None) -> str | None:
    return None if pair is None else f"{pair[0]:.1f} to {pair[1]:.1f}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (so it can be pasted into docs/PERFORMANCE.md as is)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def latency_table(rows: list[dict[str, Any]]) -> str:
    header = [
        "step",
        "n",
        "known ms",
        "unknown ms",
        "gap ms",
        "gap 95% CI",
        "paired gap ms",
        "server known ms",
        "server unknown ms",
        "server gap ms",
        f"gap < {GAP_TARGET_MS:g} ms",
    ]
    return table(
        header,
        [
            [
                r["step"],
                r["n"],
                r["known_ms"],
                r.get("unknown_ms"),
                r.get("gap_ms"),
                _interval(r.get("gap_ci95_ms")),
                r.get("paired_gap_ms"),
                r["known_server_ms"],
                r.get("unknown_server_ms"),
                r.get("server_gap_ms"),
                r.get("under_target"),
            ]
            for r in rows
        ],
    )


def throughput_table(rows: list[dict[str, Any]]) -> str:
    header = [
        "target",
        "req/s (median)",
        "req/s each round",
        "x hello",
        "latency p50 ms",
        "p90 ms",
        "server cores",
        "server CPU ms/req",
        "client cores",
        "others' cores",
        "steal",
        "failed",
    ]
    return table(
        header,
        [
            [
                r["target"],
                r["rps"],
                " / ".join(f"{x:.0f}" for x in r["rps_each"]),
                None if r["of_hello"] is None else f"{r['of_hello']:.2f}",
                r["latency_ms"],
                r["latency_p90_ms"],
                f"{r['server_cores']:.2f}",
                r.get("server_cpu_ms_per_request"),
                f"{r['client_cores']:.2f}",
                f"{r['other_cores']:.2f}",
                f"{r['steal']:.0%}",
                r["failed"],
            ]
            for r in rows
        ],
    )
