"""The full-sync benchmark of airtable-mirror (`make bench`), all figures from one run.

    PYTHONPATH=layers/common:local:. .venv/bin/python -m bench.sync_bench [--records N] [--quick] ...

1. Throughput: a full sync of `--records` records (20,000) from the Airtable emulator at Airtable's
   real limit (5 requests/s per base, 30 s penalty) into dynalite, with the client's default pacing
   (5 requests/s less its safety margin, through the DynamoDB-shared pacer the functions use), as a
   fraction of the ceiling of 5 pages of 100 records a second; and the 429s the emulator answered.
2. Baselines on the same emulator and DynamoDB, each into a fresh table: a naive loop (requests and
   tenacity, one PutItem per record) and pyairtable's `Table.iterate` into boto3's `batch_writer`.
3. Re-sync of the unchanged table by each approach: its throughput and its DynamoDB write units
   (dynalite's ConsumedCapacity), split into record writes and the run's own bookkeeping.
4. Peak memory of a small and a large full sync, each in a process of its own (`bench.memory_probe`):
   peak RSS, and with `--heap-trace` the tracemalloc peak too; the rate limits are scaled up for these,
   since they measure memory, not pacing.

For airtable-mirror the output also says where its time went: how long the page fetcher waited for
rate slots (most of the run when Airtable's limit is what paces it) and how long the sweep took.

The report is the output; the exit code is 0 even when a target is missed (misses are printed loudly).
"""

import argparse
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from airtable_emulator.emulator import Emulator
from airtable_emulator.settings import EmulatorSettings
from airtable_mirror.repository import RecordRepository
from bench.baselines import CopyOutcome, naive_copy, pyairtable_copy
from bench.memory_probe import ProbeResult, ProbeSpec
from bench.mirror import PACER_KINDS, PacerKind, build_mirror, request_interval_seconds, timed_sync
from bench.write_units import WriteUnitMeter, WriteUnits
from tests.layers.common.airtable_mirror.sync.harness import ITEMS_TABLE, random_fields
from tests.support.dynamodb import PROJECT_ROOT, TEST_REGION, DynaliteServer, DynamoTable, dynalite_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PAGE_SIZE = 100
TABLE_NAME = str(ITEMS_TABLE["name"])
LOAD_BATCH = 1_000
AIRTABLE_TOKEN_REQUESTS_PER_SECOND = 50.0

THROUGHPUT_TARGET = 0.95
BOOKKEEPING_UNITS_PER_PAGE_TARGET = 1.0
BOOKKEEPING_UNITS_PER_PAGE_LIMIT = 1.5  # "about one unit per page"
MEMORY_RATIO_TARGET = 1.2
PROBE_TIMEOUT_SECONDS = 3600.0  # a traced 50,000-record sync takes about 15 minutes on 2 cores

MIRROR = "airtable-mirror"
NAIVE = "naive loop"
PYAIRTABLE = "pyairtable"
FULL = "full sync"
RESYNC = "re-sync"

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """The benchmark could not measure something (a child process failed, say)."""


@dataclass(frozen=True)
class BenchConfig:
    records: int = 20_000
    emulator_rate: float = 5.0  # requests/s per base, as Airtable
    penalty_seconds: float = 30.0  # as Airtable
    client_rate: float = 5.0  # what our pacer is told; it keeps its own safety margin below it
    pacer_kind: PacerKind = "dynamo"
    memory_small: int = 2_000
    memory_large: int = 50_000
    memory_emulator_rate: float = 200.0
    memory_client_rate: float = 150.0
    memory_penalty_seconds: float = 1.0
    trace_python_heap: bool = False  # one more process per size, and tracing slows the sync about 2x
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("records", "memory_small", "memory_large"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive whole number of records, got {value!r}")
        for name in ("emulator_rate", "client_rate", "memory_emulator_rate", "memory_client_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("penalty_seconds", "memory_penalty_seconds"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be zero or positive, got {getattr(self, name)!r}")
        if self.pacer_kind not in PACER_KINDS:
            raise ValueError(f"pacer_kind must be one of {PACER_KINDS}, got {self.pacer_kind!r}")

    @classmethod
    def quick(cls, **overrides: Any) -> "BenchConfig":
        """Small sizes and scaled rates for a smoke run; its timings say nothing about the targets."""
        settings: dict[str, Any] = {
            "records": 300,
            "emulator_rate": 50.0,
            "penalty_seconds": 0.5,
            "client_rate": 50.0,
            "memory_small": 200,
            "memory_large": 1_000,
            "memory_penalty_seconds": 0.5,
        }
        return cls(**{**settings, **overrides})

    @property
    def is_issue_benchmark(self) -> bool:
        """The sizes and limits the issue's targets are stated for."""
        issue = BenchConfig()
        return (
            self.records >= issue.records
            and (self.emulator_rate, self.penalty_seconds, self.client_rate)
            == (issue.emulator_rate, issue.penalty_seconds, issue.client_rate)
            and (self.memory_small, self.memory_large) == (issue.memory_small, issue.memory_large)
        )

    @property
    def ceiling_records_per_second(self) -> float:
        return self.emulator_rate * PAGE_SIZE

    @property
    def paced_records_per_second(self) -> float:
        """The most our pacing allows: one page per request interval (the schema request aside)."""
        return PAGE_SIZE / request_interval_seconds(self.pacer_kind, self.client_rate)


@dataclass(frozen=True)
class PassResult:
    approach: str
    sync: str  # FULL or RESYNC
    records_expected: int
    records_synced: int  # stored or found already stored, as the approach reports it
    records_written: int
    seconds: float
    count_429: int
    write_units: WriteUnits
    mirror_records: int  # live records in the table afterwards (by_created index)
    pages: int
    failure: str | None = None
    airtable_requests: int | None = None  # known for airtable-mirror only (its client counts them)
    pacer_wait_seconds: float | None = None  # airtable-mirror: time the page fetcher spent in acquire()
    sweep_seconds: float | None = None  # airtable-mirror: the sweep after the last page
    start_seconds: float | None = None  # airtable-mirror: starting the run (schema request, run item)

    @property
    def records_per_second(self) -> float:
        return self.records_synced / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class MemoryResult:
    records: int
    rss: ProbeResult
    heap: ProbeResult | None  # tracemalloc run, when asked for


@dataclass(frozen=True)
class TargetCheck:
    name: str
    target: str
    measured: str
    passed: bool


@dataclass
class BenchReport:
    config: BenchConfig
    passes: list[PassResult]
    memory: list[MemoryResult] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    def find(self, approach: str, sync: str) -> PassResult:
        for result in self.passes:
            if result.approach == approach and result.sync == sync:
                return result
        raise KeyError(f"no {sync} pass of {approach}")

    def checks(self) -> list[TargetCheck]:
        return _target_checks(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "ceiling_records_per_second": self.config.ceiling_records_per_second,
            "passes": [
                {
                    **asdict(result),
                    "records_per_second": result.records_per_second,
                    "write_units_records": result.write_units.records,
                    "write_units_bookkeeping": result.write_units.bookkeeping,
                }
                for result in self.passes
            ],
            "memory": [asdict(result) for result in self.memory],
            "checks": [asdict(check) for check in self.checks()],
            "elapsed_seconds": self.elapsed_seconds,
        }


# --- running -----------------------------------------------------------------------------------


def run_benchmark(
    config: BenchConfig, *, dynalite: DynaliteServer | None = None, progress: Progress | None = None
) -> BenchReport:
    """Every measurement of the report; starts (and stops) dynalite unless one is given."""
    say = progress or _say
    started = time.perf_counter()
    with contextlib.ExitStack() as resources:
        server = dynalite if dynalite is not None else resources.enter_context(DynaliteServer())
        passes = _throughput_passes(config, server, say)
        memory = _memory_probes(config, server, say)
    return BenchReport(config, passes, memory, time.perf_counter() - started)


@dataclass(frozen=True)
class _Source:
    emulator: Emulator
    base_id: str
    table_id: str


@contextlib.contextmanager
def _loaded_emulator(
    records: int, *, requests_per_second: float, penalty_seconds: float, seed: int
) -> Iterator[_Source]:
    settings = EmulatorSettings(
        requests_per_second_per_base=requests_per_second,
        requests_per_second_per_token=max(AIRTABLE_TOKEN_REQUESTS_PER_SECOND, 10 * requests_per_second),
        rate_limit_penalty_seconds=penalty_seconds,
    )
    with Emulator(settings=settings, seed=seed) as emulator:
        base = emulator.state.create_base("Benchmark", [ITEMS_TABLE])
        rng = random.Random(seed)
        # Through the emulator's Python API: loading 50,000 records over HTTP would take minutes.
        for start in range(0, records, LOAD_BATCH):
            count = min(LOAD_BATCH, records - start)
            emulator.state.create_records(
                base.id, TABLE_NAME, [random_fields(rng, start + index) for index in range(count)]
            )
        yield _Source(emulator, base.id, base.table(TABLE_NAME).id)


def _throughput_passes(config: BenchConfig, server: DynaliteServer, say: Progress) -> list[PassResult]:
    with _loaded_emulator(
        config.records,
        requests_per_second=config.emulator_rate,
        penalty_seconds=config.penalty_seconds,
        seed=config.seed,
    ) as source:
        say(f"emulator loaded with {config.records:,} records; dynalite at {server.endpoint_url}")
        return [
            *_mirror_passes(config, source, server, say),
            *_naive_passes(config, source, server, say),
            *_pyairtable_passes(config, source, server, say),
        ]


def _fresh_rate_limits(source: _Source) -> None:
    """Each pass starts with an empty window, no penalty and a zero 429 count."""
    source.emulator.rate_limiter.reset()


def _live_records(table: DynamoTable, source: _Source) -> int:
    return RecordRepository(table.client, table.name).count_table(source.base_id, source.table_id)


def _mirror_passes(
    config: BenchConfig, source: _Source, server: DynaliteServer, say: Progress
) -> list[PassResult]:
    results: list[PassResult] = []
    with dynalite_table(server) as table, WriteUnitMeter(table.client) as meter:
        stack = build_mirror(
            base_id=source.base_id,
            api_url=source.emulator.url,
            token=source.emulator.token,
            dynamodb=table.client,
            table_name=table.name,
            requests_per_second=config.client_rate,
            rate_limit_penalty_seconds=config.penalty_seconds,
            pacer_kind=config.pacer_kind,
        )
        try:
            for sync in (FULL, RESYNC):
                _fresh_rate_limits(source)
                meter.take()
                stack.pacer.take()
                stack.records.take_sweep_seconds()
                requests_before = stack.client.stats.requests
                say(f"{MIRROR}: {sync} …")
                synced = timed_sync(stack, source.table_id)
                units = meter.take()
                _, pacer_wait = stack.pacer.take()
                sweep_seconds = stack.records.take_sweep_seconds()
                counts = synced.result.counts
                results.append(
                    PassResult(
                        approach=MIRROR,
                        sync=sync,
                        records_expected=config.records,
                        records_synced=counts.written + counts.unchanged,
                        records_written=counts.written,
                        seconds=synced.seconds,
                        count_429=source.emulator.rate_limiter.count_429,
                        write_units=units,
                        mirror_records=_live_records(table, source),
                        pages=counts.pages,
                        failure=synced.result.error,
                        airtable_requests=stack.client.stats.requests - requests_before,
                        pacer_wait_seconds=pacer_wait,
                        sweep_seconds=sweep_seconds,
                        start_seconds=synced.start_seconds,
                    )
                )
                say(_progress_line(results[-1]))
        finally:
            stack.close()
    return results


def _baseline_result(
    approach: str, sync: str, config: BenchConfig, source: _Source, copied: CopyOutcome, units: WriteUnits
) -> PassResult:
    return PassResult(
        approach=approach,
        sync=sync,
        records_expected=config.records,
        records_synced=copied.records_copied,
        records_written=copied.records_copied,
        seconds=copied.seconds,
        count_429=source.emulator.rate_limiter.count_429,
        write_units=units,
        mirror_records=0,
        pages=math.ceil(copied.records_copied / PAGE_SIZE),
        failure=copied.failure,
    )


def _naive_passes(
    config: BenchConfig, source: _Source, server: DynaliteServer, say: Progress
) -> list[PassResult]:
    results: list[PassResult] = []
    with dynalite_table(server) as table, WriteUnitMeter(table.client) as meter:
        for sync in (FULL, RESYNC):
            _fresh_rate_limits(source)
            meter.take()
            say(f"{NAIVE}: {sync} …")
            copied = naive_copy(
                api_url=source.emulator.url,
                token=source.emulator.token,
                base_id=source.base_id,
                table_id=source.table_id,
                dynamodb=table.client,
                table_name=table.name,
            )
            result = _baseline_result(NAIVE, sync, config, source, copied, meter.take())
            results.append(replace(result, mirror_records=_live_records(table, source)))
            say(_progress_line(results[-1]))
    return results


def _table_resource(endpoint_url: str, table_name: str) -> "Table":
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - dummy credentials for dynalite
        aws_session_token="testing",  # noqa: S106
        region_name=TEST_REGION,
    )
    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    return session.resource("dynamodb", endpoint_url=endpoint_url, config=config).Table(table_name)


def _pyairtable_passes(
    config: BenchConfig, source: _Source, server: DynaliteServer, say: Progress
) -> list[PassResult]:
    results: list[PassResult] = []
    with dynalite_table(server) as table:
        resource_table = _table_resource(server.endpoint_url, table.name)
        with WriteUnitMeter(resource_table.meta.client) as meter:
            for sync in (FULL, RESYNC):
                _fresh_rate_limits(source)
                meter.take()
                say(f"{PYAIRTABLE}: {sync} …")
                copied = pyairtable_copy(
                    api_url=source.emulator.url,
                    token=source.emulator.token,
                    base_id=source.base_id,
                    table_id=source.table_id,
                    table=resource_table,
                )
                result = _baseline_result(PYAIRTABLE, sync, config, source, copied, meter.take())
                results.append(replace(result, mirror_records=_live_records(table, source)))
                say(_progress_line(results[-1]))
    return results


def _memory_probes(config: BenchConfig, server: DynaliteServer, say: Progress) -> list[MemoryResult]:
    results: list[MemoryResult] = []
    for size in (config.memory_small, config.memory_large):
        with _loaded_emulator(
            size,
            requests_per_second=config.memory_emulator_rate,
            penalty_seconds=config.memory_penalty_seconds,
            seed=config.seed,
        ) as source:
            say(f"memory: {size:,} records, one process for the peak RSS …")
            rss = _probe(config, source, server, trace_python_heap=False)
            heap = None
            if config.trace_python_heap:
                say(f"memory: {size:,} records, one process for the Python heap peak (tracemalloc) …")
                heap = _probe(config, source, server, trace_python_heap=True)
            results.append(MemoryResult(size, rss, heap))
    return results


def _probe(
    config: BenchConfig, source: _Source, server: DynaliteServer, *, trace_python_heap: bool
) -> ProbeResult:
    with dynalite_table(server) as table:
        spec = ProbeSpec(
            api_url=source.emulator.url,
            token=source.emulator.token,
            base_id=source.base_id,
            table_id=source.table_id,
            dynamodb_endpoint=server.endpoint_url,
            table_name=table.name,
            requests_per_second=config.memory_client_rate,
            rate_limit_penalty_seconds=config.memory_penalty_seconds,
            pacer_kind=config.pacer_kind,
            trace_python_heap=trace_python_heap,
        )
        return run_probe_process(spec)


def run_probe_process(spec: ProbeSpec, timeout_seconds: float = PROBE_TIMEOUT_SECONDS) -> ProbeResult:
    """`bench.memory_probe` in a fresh interpreter; raises BenchError when it fails."""
    search_path = [str(PROJECT_ROOT / part) for part in ("layers/common", "local", ".")]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(search_path)}
    try:
        completed = subprocess.run(  # noqa: S603 - our own interpreter and module, arguments we built
            [sys.executable, "-m", "bench.memory_probe", json.dumps(asdict(spec))],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise BenchError(f"memory probe did not finish within {timeout_seconds:g} s") from error
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        raise BenchError(
            f"memory probe exited with {completed.returncode}:\n{completed.stderr.strip()[-3000:]}"
        )
    result = ProbeResult(**json.loads(lines[-1]))
    if result.error is not None:
        raise BenchError(f"memory probe sync failed: {result.error}")
    return result


# --- targets -----------------------------------------------------------------------------------


def _target_checks(report: BenchReport) -> list[TargetCheck]:
    config = report.config
    full = report.find(MIRROR, FULL)
    resync = report.find(MIRROR, RESYNC)
    ratio = full.records_per_second / config.ceiling_records_per_second
    checks = [
        TargetCheck(
            "full-sync throughput",
            f"≥ {THROUGHPUT_TARGET:.2f} of {config.ceiling_records_per_second:,.0f} records/s",
            f"{ratio:.3f} ({full.records_per_second:,.1f} records/s)",
            ratio >= THROUGHPUT_TARGET,
        ),
        TargetCheck(
            "no 429s (airtable-mirror)",
            "0",
            f"{full.count_429} on the full sync, {resync.count_429} on the re-sync",
            full.count_429 == 0 and resync.count_429 == 0,
        ),
        TargetCheck(
            "mirror complete",
            f"{config.records:,} live records, all written then all unchanged",
            f"{full.mirror_records:,} live; {full.records_written:,} written, "
            f"then {resync.records_synced - resync.records_written:,} unchanged",
            full.failure is None
            and resync.failure is None
            and full.mirror_records == config.records
            and resync.mirror_records == config.records
            and full.records_written == config.records
            and resync.records_written == 0
            and resync.records_synced == config.records,
        ),
        TargetCheck(
            "re-sync record writes",
            "0 WCU",
            f"{resync.write_units.records:g} WCU in {resync.write_units.record_calls} calls "
            f"(+{resync.write_units.refused_calls.get('record', 0)} refused)",
            resync.write_units.records == 0
            and resync.write_units.record_calls == 0
            and resync.write_units.refused_calls.get("record", 0) == 0,
        ),
    ]
    per_page = resync.write_units.bookkeeping / max(1, resync.pages)
    checks.append(
        TargetCheck(
            "re-sync bookkeeping",
            f"about {BOOKKEEPING_UNITS_PER_PAGE_TARGET:g} WCU per page "
            f"(≤ {BOOKKEEPING_UNITS_PER_PAGE_LIMIT:g})",
            f"{per_page:.3f} WCU per page ({resync.write_units.bookkeeping:g} over {resync.pages} pages)",
            per_page <= BOOKKEEPING_UNITS_PER_PAGE_LIMIT,
        )
    )
    if len(report.memory) == 2:
        small, large = report.memory
        rss_ratio = large.rss.peak_rss_bytes / small.rss.peak_rss_bytes
        checks.append(
            TargetCheck(
                f"peak memory {large.records:,} vs {small.records:,} records (peak RSS)",
                f"ratio ≤ {MEMORY_RATIO_TARGET}",
                f"{rss_ratio:.3f}",
                rss_ratio <= MEMORY_RATIO_TARGET,
            )
        )
        if small.heap is not None and large.heap is not None:
            small_peak = small.heap.python_heap_peak_bytes or 0
            large_peak = large.heap.python_heap_peak_bytes or 0
            heap_ratio = large_peak / small_peak if small_peak else math.inf
            checks.append(
                TargetCheck(
                    f"peak memory {large.records:,} vs {small.records:,} records (Python heap)",
                    f"ratio ≤ {MEMORY_RATIO_TARGET}",
                    f"{heap_ratio:.3f}",
                    heap_ratio <= MEMORY_RATIO_TARGET,
                )
            )
    return checks


# --- the report --------------------------------------------------------------------------------


def _progress_line(result: PassResult) -> str:
    outcome = f"FAILED ({result.failure})" if result.failure else "done"
    return (
        f"{result.approach}: {result.sync} {outcome}: {result.records_synced:,} records in "
        f"{result.seconds:.1f} s, {result.count_429} 429s"
    )


def _megabytes(count: int | None) -> str:
    return "-" if count is None else f"{count / 1_048_576:.1f} MB"


def format_report(report: BenchReport) -> str:
    config = report.config
    lines: list[str] = []
    interval = request_interval_seconds(config.pacer_kind, config.client_rate)
    paced = config.paced_records_per_second
    if not config.is_issue_benchmark:
        lines.append(
            "!!! NOT THE ISSUE'S BENCHMARK: other sizes or scaled rates; the targets are judged on a run "
            "with the defaults"
        )
    lines += [
        "airtable-mirror full-sync benchmark",
        f"  emulator: {config.emulator_rate:g} requests/s per base, {config.penalty_seconds:g} s penalty; "
        f"ceiling {config.ceiling_records_per_second:,.0f} records/s ({PAGE_SIZE} records a page)",
        f"  airtable-mirror: client told {config.client_rate:g} requests/s, {config.pacer_kind} pacer "
        f"with its safety margin: one request per {interval * 1000:.0f} ms, at most {paced:,.1f} records/s "
        f"({paced / config.ceiling_records_per_second:.3f} of the ceiling)",
        "  DynamoDB: dynalite (LevelDB), a fresh table per approach; every approach copies the same "
        f"{config.records:,} records, then copies the unchanged table again (re-sync)",
        "",
    ]
    headers = [
        "approach",
        "sync",
        "records",
        "seconds",
        "records/s",
        "÷ ceiling",
        "÷ ours",
        "429s",
        "WCU (records)",
        "WCU (bookkeeping)",
    ]
    rows: list[list[str]] = []
    for result in report.passes:
        ours = report.find(MIRROR, result.sync)
        records = (
            f"{result.records_synced:,}"
            if result.records_synced == result.records_expected
            else f"{result.records_synced:,}/{result.records_expected:,}"
        )
        rows.append(
            [
                result.approach,
                result.sync + (" FAILED" if result.failure else ""),
                records,
                f"{result.seconds:.1f}",
                f"{result.records_per_second:,.1f}",
                f"{result.records_per_second / config.ceiling_records_per_second:.3f}",
                f"{result.records_per_second / ours.records_per_second:.2f}"
                if ours.records_per_second
                else "-",
                str(result.count_429),
                f"{result.write_units.records:,.0f}",
                f"{result.write_units.bookkeeping:,.0f}",
            ]
        )
    lines += _table(headers, rows)
    lines.append("")
    for result in report.passes:
        if result.failure:
            lines.append(
                f"  {result.approach} {result.sync} FAILED after {result.records_synced:,} of "
                f"{result.records_expected:,} records ({result.seconds:.1f} s): {result.failure}"
            )
    for result in report.passes:
        if result.pacer_wait_seconds is not None and result.seconds > 0:
            start_seconds = result.start_seconds or 0.0
            sweep_seconds = result.sweep_seconds or 0.0
            lines.append(
                f"  {result.approach} {result.sync}: {result.seconds:.1f} s = start {start_seconds:.1f} s "
                f"(schema request, run item) + pages {result.seconds - start_seconds - sweep_seconds:.1f} s "
                f"(with the slice's lock and finish; {result.airtable_requests} Airtable requests in all) "
                f"+ sweep {sweep_seconds:.1f} s; "
                f"the page fetcher waited {result.pacer_wait_seconds:.1f} s for rate slots "
                f"({result.pacer_wait_seconds / result.seconds:.0%} of the run: near 100 % when Airtable's "
                "limit paces the run, low when the page writer holds it back)"
            )
    resync = report.find(MIRROR, RESYNC)
    breakdown = ", ".join(
        f"{kind} {units:g} ({resync.write_units.calls.get(kind, 0)} writes)"
        for kind, units in sorted(resync.write_units.units.items())
    )
    lines.append(f"  {MIRROR} re-sync writes by item: {breakdown or 'none'}; {resync.pages} pages")
    refused = [r for r in report.passes if r.write_units.refused]
    for result in refused:
        lines.append(
            f"  {result.approach} {result.sync}: {result.write_units.refused} writes refused by their "
            f"condition ({result.write_units.refused_calls}); DynamoDB bills those too, dynalite reports 0"
        )
    lines += [
        "  WCU are dynalite's ConsumedCapacity for the item writes; DynamoDB also bills each index entry "
        "written (records: 1 or 2 per write) and writes refused by their condition.",
        "",
    ]
    if report.memory:
        lines.append(
            "peak memory, one child process per sync (rates scaled: emulator "
            f"{config.memory_emulator_rate:g} requests/s, client {config.memory_client_rate:g} requests/s; "
            "they measure memory, not pacing)"
        )
        for memory in report.memory:
            line = (
                f"  {memory.records:>7,} records: peak RSS {_megabytes(memory.rss.peak_rss_bytes)} "
                f"(sync {memory.rss.seconds:.1f} s)"
            )
            if memory.heap is not None:
                line += (
                    f"; Python heap peak during the sync {_megabytes(memory.heap.python_heap_peak_bytes)} "
                    f"(tracemalloc, in a process of its own: sync {memory.heap.seconds:.1f} s)"
                )
            lines.append(line)
        sources = sorted({memory.rss.peak_rss_source for memory in report.memory})
        lines.append(
            f"  peak RSS = the child's own high-water mark ({', '.join(sources)}, read at its end; "
            "interpreter and libraries included, the emulator and dynalite are other processes)"
        )
        lines.append("")
    lines.append("targets")
    checks = report.checks()
    for check in checks:
        verdict = "PASS" if check.passed else "FAIL"
        lines.append(f"  {verdict}  {check.name}: {check.measured} (target {check.target})")
    misses = [check for check in checks if not check.passed]
    if misses:
        lines.append("")
        for check in misses:
            lines.append(f"!!! TARGET MISSED: {check.name}: {check.measured}, target {check.target}")
    lines.append("")
    lines.append(f"benchmark took {report.elapsed_seconds:.0f} s")
    return "\n".join(lines)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        # Text columns (the first two) left-aligned, figures right-aligned.
        return " | ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(headers), "-+-".join("-" * width for width in widths), *(line(row) for row in rows)]


def _say(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# --- command line ------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str]) -> tuple[BenchConfig, Path | None]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sync_bench",
        description="Full-sync benchmark of airtable-mirror against the Airtable emulator and dynalite.",
    )
    parser.add_argument(
        "--records", type=int, help="records in the throughput and re-sync table (20000; 300 with --quick)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: small tables, rate limits scaled up (its timings say nothing about the targets)",
    )
    parser.add_argument(
        "--memory-records",
        type=int,
        nargs=2,
        metavar=("SMALL", "LARGE"),
        help="sizes of the two memory syncs (2000 50000; 200 1000 with --quick)",
    )
    parser.add_argument(
        "--heap-trace",
        action="store_true",
        help="also measure the Python heap peak of each memory sync with tracemalloc (two more syncs)",
    )
    parser.add_argument(
        "--pacer",
        choices=PACER_KINDS,
        default="dynamo",
        help="our client's pacer (default: dynamo, as deployed)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON to PATH")
    arguments = parser.parse_args(argv)
    overrides: dict[str, Any] = {"pacer_kind": arguments.pacer, "trace_python_heap": arguments.heap_trace}
    if arguments.records is not None:
        overrides["records"] = arguments.records
    if arguments.memory_records is not None:
        overrides["memory_small"], overrides["memory_large"] = arguments.memory_records
    try:
        config = BenchConfig.quick(**overrides) if arguments.quick else BenchConfig(**overrides)
    except ValueError as error:
        parser.error(str(error))
    return config, arguments.json


def main(argv: Sequence[str] | None = None) -> int:
    config, json_path = parse_arguments(sys.argv[1:] if argv is None else argv)
    report = run_benchmark(config)
    sys.stdout.write(format_report(report) + "\n")
    if json_path is not None:
        json_path.write_text(json.dumps(report.as_dict(), indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
