"""Child process of the benchmark: one full sync and nothing else, then its memory figures as JSON.

    python -m bench.memory_probe '{"api_url": ..., "table_id": ..., ...}'

Each sync runs in its own process so that two syncs never share a heap. The emulator and dynalite run
elsewhere (the parent process, a node process), so what this process holds is the sync's alone:

- `peak_rss_bytes`: the process's peak resident set, interpreter and libraries included: what a Lambda
  function's memory limit is measured against. Read from `VmHWM` in /proc/self/status, the high-water
  mark of this process's own memory: `getrusage(RUSAGE_SELF).ru_maxrss` would not do, because Linux
  carries the parent's peak over into a child it spawns, and the parent holds the emulator's records
  (ru_maxrss is the fallback where there is no /proc);
- `python_heap_peak_bytes`: with `trace_python_heap`, the peak of Python allocations made during the
  sync itself (`tracemalloc`, started after the imports and the clients are built). Tracing slows the
  sync and adds its own bookkeeping to the resident set, so a probe reports one figure or the other.
"""

import json
import re
import resource
import sys
import tracemalloc
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.mirror import (
    PacerKind,
    RecordWritesKind,
    build_mirror,
    record_write_client,
    record_writer,
    timed_sync,
)
from tests.support.dynamodb import dynamodb_client


@dataclass(frozen=True)
class ProbeSpec:
    api_url: str
    token: str
    base_id: str
    table_id: str
    dynamodb_endpoint: str
    table_name: str
    requests_per_second: float
    rate_limit_penalty_seconds: float
    pacer_kind: PacerKind
    trace_python_heap: bool
    record_writes: RecordWritesKind = "direct"


@dataclass(frozen=True)
class ProbeResult:
    records: int
    written: int
    seconds: float
    peak_rss_bytes: int
    peak_rss_source: str  # "VmHWM" or "ru_maxrss"
    python_heap_peak_bytes: int | None
    error: str | None


_HIGH_WATER_MARK = re.compile(r"^VmHWM:\s+(\d+)\s+kB$", re.MULTILINE)


def peak_rss() -> tuple[int, str]:
    """(bytes, where the figure comes from): this process's peak resident set size."""
    status = Path("/proc/self/status")
    if status.exists():
        match = _HIGH_WATER_MARK.search(status.read_text(encoding="ascii", errors="replace"))
        if match is not None:
            return int(match.group(1)) * 1024, "VmHWM"
    # Linux reports ru_maxrss in kilobytes, macOS in bytes; only Linux lacks VmHWM when /proc is hidden.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, "ru_maxrss"


def run_probe(spec: ProbeSpec) -> ProbeResult:
    dynamodb = dynamodb_client(spec.dynamodb_endpoint)
    record_writes = record_writer(record_write_client(spec.dynamodb_endpoint), spec.record_writes)
    stack = build_mirror(
        base_id=spec.base_id,
        api_url=spec.api_url,
        token=spec.token,
        dynamodb=dynamodb,
        table_name=spec.table_name,
        requests_per_second=spec.requests_per_second,
        rate_limit_penalty_seconds=spec.rate_limit_penalty_seconds,
        pacer_kind=spec.pacer_kind,
        record_writes=record_writes,
    )
    if spec.trace_python_heap:
        tracemalloc.start()
    try:
        synced = timed_sync(stack, spec.table_id)
        heap_peak = tracemalloc.get_traced_memory()[1] if spec.trace_python_heap else None
    finally:
        tracemalloc.stop()
        stack.close()
    rss_bytes, rss_source = peak_rss()
    return ProbeResult(
        records=synced.result.counts.fetched,
        written=synced.result.counts.written,
        seconds=synced.seconds,
        peak_rss_bytes=rss_bytes,
        peak_rss_source=rss_source,
        python_heap_peak_bytes=heap_peak,
        error=synced.result.error,
    )


def parse_spec(text: str) -> ProbeSpec:
    fields: dict[str, Any] = json.loads(text)
    return ProbeSpec(**fields)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m bench.memory_probe '<ProbeSpec as JSON>'\n")
        return 2
    result = run_probe(parse_spec(argv[0]))
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
