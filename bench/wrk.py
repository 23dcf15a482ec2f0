"""Load from wrk (Debian's `wrk` package), the tool issue 6 names, for the
windows whose requests need no state of their own: pages, and first-step posts
that repeat one session's cookie and CSRF token with the names taken in turn.

wrk is a C client: it spends about 0.1 ms of CPU a request (its Lua hook that
reads each answer's status included), where bench.load's Python client
(http.client in threads) spends 0.26 to 0.36 ms, about a hello-world server's
own share.  On two cores shared with the servers, that client cost is added to
every request of every app alike, which pulls every ratio between two apps
towards 1.  The password step and the
known/unknown probes keep the Python client: each of their requests needs a
flow prepared for it, or its own timing.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

THREADS = 2  # one per core; the connections are spread over them


@dataclass(frozen=True)
class Requests:
    """What wrk sends: one method and path with fixed headers, the bodies in turn
    (none: no body), and the status each answer must have to count."""

    method: str
    path: str
    expected: int
    headers: dict[str, str] = field(default_factory=dict)
    bodies: tuple[str, ...] = ()


@dataclass
class Result:
    completed: int  # answers with the expected status
    failed: int  # other statuses, and connections that failed
    seconds: float
    latency_p50_ms: float
    client_cpu_seconds: float


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def script(spec: Requests) -> str:
    """The Lua that makes wrk send ``spec`` and count the answers without its status."""
    headers = "\n".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in spec.headers.items())
    bodies = ", ".join(_lua(b) for b in spec.bodies)
    return f"""
wrk.method = {_lua(spec.method)}
{headers}
local bodies = {{ {bodies} }}
local threads = {{}}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  sent = id * 7919
  wrong = 0
end

function request()
  sent = sent + 1
  if #bodies == 0 then
    return wrk.format()
  end
  return wrk.format(nil, nil, nil, bodies[(sent % #bodies) + 1])
end

function response(status, headers, body)
  if status ~= {spec.expected} then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local all_wrong = 0
  for _, thread in ipairs(threads) do
    all_wrong = all_wrong + thread:get("wrong")
  end
  local e = summary.errors
  io.write(string.format("WRK %d %d %d %.6f %.3f\\n", summary.requests, all_wrong,
    e.connect + e.read + e.write + e.timeout, summary.duration / 1e6, latency:percentile(50) / 1000))
end
"""


RESULT = re.compile(r"^WRK (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)$", re.M)


def run(port: int, spec: Requests, seconds: int, connections: int) -> Result:
    """``connections`` connections for ``seconds`` (whole seconds: wrk's unit)."""
    executable = shutil.which("wrk")
    if executable is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (or run with --load python)")
    with tempfile.TemporaryDirectory() as folder:
        lua = Path(folder) / "requests.lua"
        lua.write_text(script(spec))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(  # noqa: S603 - wrk from PATH, our own arguments
            [
                executable,
                f"-t{min(THREADS, connections)}",
                f"-c{connections}",
                f"-d{max(1, seconds)}s",
                "-s",
                str(lua),
                f"http://127.0.0.1:{port}{spec.path}",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=seconds + 60,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = RESULT.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    answered, wrong, broken = int(found[1]), int(found[2]), int(found[3])
    return Result(
        completed=answered - wrong,
        failed=wrong + broken,
        seconds=float(found[4]),
        latency_p50_ms=float(found[5]),
        client_cpu_seconds=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )
