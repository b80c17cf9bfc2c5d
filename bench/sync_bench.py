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

What stands in for what. Airtable and DynamoDB are other machines: neither spends this machine's CPU
nor holds the syncing process's GIL. So the emulator runs in a process of its own (in the syncing
process it took about 4 % of that process's CPU and delayed its requests by its GIL), and dynalite
keeps its tables in memory (`--dynalite memory`, the default): on disk (LevelDB) it spends more CPU
per write, CPU that DynamoDB would never take from the client. dynalite still parses, checks and
indexes every request on one of this machine's cores, which DynamoDB does not, so the first copy's
throughput here is a floor for what the engine does against DynamoDB. airtable-mirror's full sync
is also run on the other storage and printed beside it, to show how much the choice matters.

For airtable-mirror the output also says where its time went: the CPU per record of this process and
of dynalite, how long the page fetcher waited for rate slots (most of the run when Airtable's limit is
what paces it), the run's tail after its last page (the sweep), how close together the emulator saw
the closest `limit + 1` requests (the pacing margin actually left), and the machine's load average at
the start and the end: a first copy is CPU-bound here, so a loaded machine makes it slower.

The report is the output; the exit code is 0 even when a target is missed (misses are printed loudly).
"""

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config

from airtable_emulator.emulator import Emulator
from airtable_emulator.settings import EmulatorSettings
from airtable_mirror.repository import RecordRepository
from bench.baselines import CopyOutcome, naive_copy, pyairtable_copy
from bench.memory_probe import ProbeResult, ProbeSpec
from bench.mirror import (
    PACER_KINDS,
    RECORD_WRITES_KINDS,
    PacerKind,
    RecordWritesKind,
    build_mirror,
    record_write_client,
    record_writer,
    request_interval_seconds,
    timed_sync,
)
from bench.write_units import WriteUnitMeter, WriteUnits
from tests.layers.common.airtable_mirror.sync.harness import ITEMS_TABLE, random_fields
from tests.support.dynamodb import (
    DYNALITE_SCRIPT,
    PROJECT_ROOT,
    TEST_REGION,
    DynaliteServer,
    DynaliteUnavailableError,
    DynamoTable,
    dynalite_table,
    free_loopback_port,
)

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
DynaliteStorage = Literal["memory", "disk"]
DYNALITE_STORAGES: tuple[DynaliteStorage, ...] = ("memory", "disk")
STORAGE_NAMES = {"memory": "in-memory dynalite", "disk": "on-disk dynalite (LevelDB)"}


class BenchError(RuntimeError):
    """The benchmark could not measure something (a child process failed, say)."""


@dataclass(frozen=True)
class BenchConfig:
    records: int = 20_000
    emulator_rate: float = 5.0  # requests/s per base, as Airtable
    penalty_seconds: float = 30.0  # as Airtable
    client_rate: float = 5.0  # what our pacer is told; it keeps its own safety margin below it
    pacer_kind: PacerKind = "dynamo"
    record_writes: RecordWritesKind = "direct"  # the sync engine's record writer (bench/mirror.py)
    memory_small: int = 2_000
    memory_large: int = 50_000
    memory_emulator_rate: float = 200.0
    memory_client_rate: float = 150.0
    memory_penalty_seconds: float = 1.0
    trace_python_heap: bool = False  # one more process per size, and tracing slows the sync about 2x
    dynalite_storage: DynaliteStorage = "memory"  # where every pass's tables live (see the docstring)
    compare_storage: bool = True  # also run airtable-mirror's full sync on the other storage
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
        if self.record_writes not in RECORD_WRITES_KINDS:
            raise ValueError(
                f"record_writes must be one of {RECORD_WRITES_KINDS}, got {self.record_writes!r}"
            )
        if self.dynalite_storage not in DYNALITE_STORAGES:
            raise ValueError(
                f"dynalite_storage must be one of {DYNALITE_STORAGES}, got {self.dynalite_storage!r}"
            )

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
    def other_storage(self) -> DynaliteStorage:
        return "disk" if self.dynalite_storage == "memory" else "memory"

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
    dynalite_storage: DynaliteStorage = "memory"
    python_cpu_seconds: float | None = None  # this process (the sync, or the baseline, and the emulator)
    dynalite_cpu_seconds: float | None = None  # the dynalite process
    airtable_requests: int | None = None  # known for airtable-mirror only (its client counts them)
    pacer_wait_seconds: float | None = None  # airtable-mirror: time the page fetcher spent in acquire()
    late_slots: int | None = None  # airtable-mirror: slots given up because the fetcher woke too late
    start_seconds: float | None = None  # airtable-mirror: starting the run (schema request, run item)
    tail_seconds: float | None = None  # airtable-mirror: last checkpoint to finished run (the sweep)
    index_walks: int | None = None  # airtable-mirror: walks of the table's index (sweep)
    closest_request_span: float | None = None  # airtable-mirror: least seconds over `limit + 1` requests

    @property
    def records_per_second(self) -> float:
        return self.records_synced / self.seconds if self.seconds > 0 else 0.0

    def cpu_ms_per_record(self, seconds: float | None) -> str:
        if seconds is None or self.records_synced == 0:
            return "-"
        return f"{1000 * seconds / self.records_synced:.2f}"


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


@dataclass(frozen=True)
class MachineLoad:
    cores: int
    load_at_start: tuple[float, float, float]  # os.getloadavg(): 1, 5 and 15 minutes
    load_at_end: tuple[float, float, float]


@dataclass
class BenchReport:
    config: BenchConfig
    passes: list[PassResult]
    memory: list[MemoryResult] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    machine: MachineLoad | None = None

    def find(self, approach: str, sync: str, storage: DynaliteStorage | None = None) -> PassResult:
        """The pass on the benchmark's own storage, unless `storage` names the other one."""
        wanted = storage or self.config.dynalite_storage
        for result in self.passes:
            if result.approach == approach and result.sync == sync and result.dynalite_storage == wanted:
                return result
        raise KeyError(f"no {sync} pass of {approach} on {wanted} dynalite")

    def main_passes(self) -> list[PassResult]:
        return [result for result in self.passes if result.dynalite_storage == self.config.dynalite_storage]

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
            "machine": asdict(self.machine) if self.machine is not None else None,
        }


# --- running -----------------------------------------------------------------------------------


def run_benchmark(
    config: BenchConfig, *, dynalite: DynaliteServer | None = None, progress: Progress | None = None
) -> BenchReport:
    """Every measurement of the report; starts (and stops) dynalite unless one is given (which must
    keep its tables as `config.dynalite_storage` says)."""
    say = progress or _say
    started = time.perf_counter()
    load_at_start = os.getloadavg()
    say(f"load average at start: {_load_text(load_at_start)} on {os.cpu_count()} cores")
    with contextlib.ExitStack() as resources:
        server = (
            dynalite
            if dynalite is not None
            else resources.enter_context(start_dynalite(config.dynalite_storage))
        )
        passes = _throughput_passes(config, server, say)
        memory = _memory_probes(config, server, say)
    load_at_end = os.getloadavg()
    say(f"load average at end: {_load_text(load_at_end)}")
    machine = MachineLoad(os.cpu_count() or 0, load_at_start, load_at_end)
    return BenchReport(config, passes, memory, time.perf_counter() - started, machine)


class InMemoryDynalite(DynaliteServer):
    """dynalite without `--path`: tables in memory (memdown) instead of LevelDB files."""

    def start(self) -> "InMemoryDynalite":
        node = shutil.which("node")
        if node is None:
            raise DynaliteUnavailableError("node is not on PATH (dynalite needs Node.js 20+)")
        if not DYNALITE_SCRIPT.exists():
            raise DynaliteUnavailableError(f"{DYNALITE_SCRIPT} is missing (make node_modules/.installed)")
        self._data_dir = Path(tempfile.mkdtemp(prefix="dynalite-memory-"))  # its log only
        self._log_path = self._data_dir / "dynalite.log"
        self.port = free_loopback_port()
        command = [node, str(DYNALITE_SCRIPT), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"]
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - node and dynalite, with arguments we built
                command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_listening()
        return self


def start_dynalite(storage: DynaliteStorage) -> DynaliteServer:
    """A dynalite server keeping its tables in memory or on disk, not started yet."""
    return InMemoryDynalite() if storage == "memory" else DynaliteServer()


def _dynalite_cpu_seconds(server: DynaliteServer) -> float | None:
    """CPU time (user + system) the dynalite process has used, from /proc; None where unknown."""
    process = getattr(server, "_process", None)
    if process is None:
        return None
    try:
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _CpuUse:
    python_seconds: float | None = None
    dynalite_seconds: float | None = None


@contextlib.contextmanager
def _cpu_use(server: DynaliteServer) -> Iterator[_CpuUse]:
    """CPU seconds this process and the dynalite process use inside the block."""
    use = _CpuUse()
    python_before, dynalite_before = time.process_time(), _dynalite_cpu_seconds(server)
    yield use
    dynalite_after = _dynalite_cpu_seconds(server)
    use.python_seconds = time.process_time() - python_before
    if dynalite_before is not None and dynalite_after is not None:
        use.dynalite_seconds = dynalite_after - dynalite_before


def _load_text(load: Sequence[float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load) + " (1 / 5 / 15 min)"


class RequestTimes:
    """When the emulator saw each request to one base (monotonic seconds), as its rate limiter does."""

    def __init__(self, emulator: Emulator, base_id: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._base_id = base_id
        self._clock = clock
        self._lock = threading.Lock()
        self._times: list[float] = []
        limiter = emulator.rate_limiter
        check = limiter.check

        def timed_check(*, token: str, base_id: str | None) -> None:
            if base_id == self._base_id:
                with self._lock:
                    self._times.append(self._clock())
            check(token=token, base_id=base_id)

        limiter.check = timed_check  # type: ignore[method-assign]

    def clear(self) -> None:
        with self._lock:
            self._times = []

    def take_closest_span(self, limit: int) -> float | None:
        """The least time between a request and the `limit`-th after it since the last call: Airtable
        answers 429 when it is under one second. None when fewer than `limit + 1` requests came."""
        with self._lock:
            times, self._times = self._times, []
        spans = [later - earlier for earlier, later in zip(times, times[limit:], strict=False)]
        return min(spans, default=None)


@dataclass(frozen=True)
class EmulatorSpec:
    records: int
    requests_per_second: float
    penalty_seconds: float
    seed: int


@dataclass
class _Source:
    """The loaded emulator as the passes use it: where it answers, and its rate limiter's figures."""

    url: str
    token: str
    base_id: str
    table_id: str
    reset_rate_limits: Callable[[], None]
    count_429: Callable[[], int]
    take_closest_span: Callable[[int], float | None]


@contextlib.contextmanager
def _loaded_emulator(spec: EmulatorSpec) -> Iterator[_Source]:
    """The emulator in this process, loaded with `spec.records` records (seeded: the same every time)."""
    settings = EmulatorSettings(
        requests_per_second_per_base=spec.requests_per_second,
        requests_per_second_per_token=max(AIRTABLE_TOKEN_REQUESTS_PER_SECOND, 10 * spec.requests_per_second),
        rate_limit_penalty_seconds=spec.penalty_seconds,
    )
    with Emulator(settings=settings, seed=spec.seed) as emulator:
        base = emulator.state.create_base("Benchmark", [ITEMS_TABLE])
        rng = random.Random(spec.seed)
        # Through the emulator's Python API: loading 50,000 records over HTTP would take minutes.
        for start in range(0, spec.records, LOAD_BATCH):
            count = min(LOAD_BATCH, spec.records - start)
            emulator.state.create_records(
                base.id, TABLE_NAME, [random_fields(rng, start + index) for index in range(count)]
            )
        times = RequestTimes(emulator, base.id)
        limiter = emulator.rate_limiter

        def reset_rate_limits() -> None:
            limiter.reset()
            times.clear()

        yield _Source(
            url=emulator.url,
            token=emulator.token,
            base_id=base.id,
            table_id=base.table(TABLE_NAME).id,
            reset_rate_limits=reset_rate_limits,
            count_429=lambda: limiter.count_429,
            take_closest_span=times.take_closest_span,
        )


def serve_emulator(spec_json: str) -> None:
    """The child process of `emulator_process`: serve the loaded emulator until stdin closes.

    Writes the source's address as a JSON line, then answers one line per command: `reset` (fresh
    rate limits) with `ok`; `count_429` and `closest_span LIMIT` with the figure as JSON.
    """
    with _loaded_emulator(EmulatorSpec(**json.loads(spec_json))) as source:
        ready = {"url": source.url, "token": source.token, "base_id": source.base_id}
        sys.stdout.write(json.dumps({**ready, "table_id": source.table_id}) + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            command, *arguments = line.split()
            if command == "reset":
                source.reset_rate_limits()
                answer = "ok"
            elif command == "count_429":
                answer = json.dumps(source.count_429())
            elif command == "closest_span":
                answer = json.dumps(source.take_closest_span(int(arguments[0])))
            else:
                answer = json.dumps({"error": f"unknown command {command!r}"})
            sys.stdout.write(answer + "\n")
            sys.stdout.flush()


@contextlib.contextmanager
def emulator_process(spec: EmulatorSpec) -> Iterator[_Source]:
    """The loaded emulator in a child process: Airtable does not share the syncing process's CPU (or
    its GIL), so neither does the emulator that stands in for it."""
    search_path = [str(PROJECT_ROOT / part) for part in ("layers/common", "local", ".")]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(search_path)}
    code = "import sys; from bench.sync_bench import serve_emulator; serve_emulator(sys.argv[1])"
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and function, arguments we built
            [sys.executable, "-c", code, json.dumps(asdict(spec))],
            cwd=PROJECT_ROOT,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        commands, answers = child.stdin, child.stdout

        def child_failed(what: str) -> BenchError:
            errors.seek(0)
            output = errors.read().decode(errors="replace")
            return BenchError(f"the emulator process {what}:\n{output[-3000:]}")

        def ask(command: str) -> str:
            commands.write(command + "\n")
            commands.flush()
            answer = answers.readline()
            if not answer:
                raise child_failed("ended")
            return answer

        try:
            ready_line = answers.readline()
            if not ready_line:
                raise child_failed("did not start")
            ready = json.loads(ready_line)

            def closest_span(limit: int) -> float | None:
                span = json.loads(ask(f"closest_span {limit}"))
                return None if span is None else float(span)

            yield _Source(
                url=ready["url"],
                token=ready["token"],
                base_id=ready["base_id"],
                table_id=ready["table_id"],
                reset_rate_limits=lambda: _expect_ok(ask("reset")),
                count_429=lambda: int(json.loads(ask("count_429"))),
                take_closest_span=closest_span,
            )
        finally:
            commands.close()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=10)


def _expect_ok(answer: str) -> None:
    if answer.strip() != "ok":
        raise BenchError(f"the emulator process answered {answer.strip()!r}")


def _throughput_passes(config: BenchConfig, server: DynaliteServer, say: Progress) -> list[PassResult]:
    spec = EmulatorSpec(config.records, config.emulator_rate, config.penalty_seconds, config.seed)
    with emulator_process(spec) as source:
        say(
            f"emulator (a process of its own) loaded with {config.records:,} records; "
            f"{STORAGE_NAMES[config.dynalite_storage]} at {server.endpoint_url}"
        )
        passes = [
            *_mirror_passes(config, source, server, config.dynalite_storage, (FULL, RESYNC), say),
            *_naive_passes(config, source, server, say),
            *_pyairtable_passes(config, source, server, say),
        ]
        if config.compare_storage:
            with start_dynalite(config.other_storage) as other:
                passes += _mirror_passes(config, source, other, config.other_storage, (FULL,), say)
        return passes


def _fresh_rate_limits(source: _Source) -> None:
    """Each pass starts with an empty window, no penalty and a zero 429 count."""
    source.reset_rate_limits()


def _live_records(table: DynamoTable, source: _Source) -> int:
    return RecordRepository(table.client, table.name).count_table(source.base_id, source.table_id)


def _mirror_passes(
    config: BenchConfig,
    source: _Source,
    server: DynaliteServer,
    storage: DynaliteStorage,
    syncs: Sequence[str],
    say: Progress,
) -> list[PassResult]:
    results: list[PassResult] = []
    record_writes_client = record_write_client(server.endpoint_url)
    record_writes = record_writer(record_writes_client, config.record_writes)
    with dynalite_table(server) as table, WriteUnitMeter(table.client, record_writes_client) as meter:
        stack = build_mirror(
            base_id=source.base_id,
            api_url=source.url,
            token=source.token,
            dynamodb=table.client,
            table_name=table.name,
            requests_per_second=config.client_rate,
            rate_limit_penalty_seconds=config.penalty_seconds,
            pacer_kind=config.pacer_kind,
            record_writes=record_writes,
        )
        try:
            for sync in syncs:
                _fresh_rate_limits(source)
                meter.take()
                stack.pacer.take()
                stack.records.take_walks()
                stack.runs.take_tail_seconds()
                requests_before = stack.client.stats.requests
                late_before = stack.pacer.late_slots
                say(f"{MIRROR}: {sync} on {STORAGE_NAMES[storage]} …")
                with _cpu_use(server) as cpu:
                    synced = timed_sync(stack, source.table_id)
                units = meter.take()
                _, pacer_wait = stack.pacer.take()
                walks = stack.records.take_walks()
                counts = synced.result.counts
                results.append(
                    PassResult(
                        approach=MIRROR,
                        sync=sync,
                        records_expected=config.records,
                        records_synced=counts.written + counts.unchanged,
                        records_written=counts.written,
                        seconds=synced.seconds,
                        count_429=source.count_429(),
                        write_units=units,
                        mirror_records=_live_records(table, source),
                        pages=counts.pages,
                        failure=synced.result.error,
                        dynalite_storage=storage,
                        python_cpu_seconds=cpu.python_seconds,
                        dynalite_cpu_seconds=cpu.dynalite_seconds,
                        airtable_requests=stack.client.stats.requests - requests_before,
                        pacer_wait_seconds=pacer_wait,
                        late_slots=stack.pacer.late_slots - late_before,
                        start_seconds=synced.start_seconds,
                        tail_seconds=stack.runs.take_tail_seconds(),
                        index_walks=walks,
                        closest_request_span=source.take_closest_span(math.floor(config.emulator_rate)),
                    )
                )
                say(_progress_line(results[-1]))
        finally:
            stack.close()
            record_writes_client.close()
    return results


def _baseline_result(
    approach: str,
    sync: str,
    config: BenchConfig,
    source: _Source,
    copied: CopyOutcome,
    units: WriteUnits,
    cpu: _CpuUse,
) -> PassResult:
    return PassResult(
        approach=approach,
        sync=sync,
        records_expected=config.records,
        records_synced=copied.records_copied,
        records_written=copied.records_copied,
        seconds=copied.seconds,
        count_429=source.count_429(),
        write_units=units,
        mirror_records=0,
        pages=math.ceil(copied.records_copied / PAGE_SIZE),
        failure=copied.failure,
        dynalite_storage=config.dynalite_storage,
        python_cpu_seconds=cpu.python_seconds,
        dynalite_cpu_seconds=cpu.dynalite_seconds,
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
            with _cpu_use(server) as cpu:
                copied = naive_copy(
                    api_url=source.url,
                    token=source.token,
                    base_id=source.base_id,
                    table_id=source.table_id,
                    dynamodb=table.client,
                    table_name=table.name,
                )
            result = _baseline_result(NAIVE, sync, config, source, copied, meter.take(), cpu)
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
                with _cpu_use(server) as cpu:
                    copied = pyairtable_copy(
                        api_url=source.url,
                        token=source.token,
                        base_id=source.base_id,
                        table_id=source.table_id,
                        table=resource_table,
                    )
                result = _baseline_result(PYAIRTABLE, sync, config, source, copied, meter.take(), cpu)
                results.append(replace(result, mirror_records=_live_records(table, source)))
                say(_progress_line(results[-1]))
    return results


def _memory_probes(config: BenchConfig, server: DynaliteServer, say: Progress) -> list[MemoryResult]:
    results: list[MemoryResult] = []
    for size in (config.memory_small, config.memory_large):
        spec = EmulatorSpec(size, config.memory_emulator_rate, config.memory_penalty_seconds, config.seed)
        with _loaded_emulator(spec) as source:
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
            api_url=source.url,
            token=source.token,
            base_id=source.base_id,
            table_id=source.table_id,
            dynamodb_endpoint=server.endpoint_url,
            table_name=table.name,
            requests_per_second=config.memory_client_rate,
            rate_limit_penalty_seconds=config.memory_penalty_seconds,
            pacer_kind=config.pacer_kind,
            trace_python_heap=trace_python_heap,
            record_writes=config.record_writes,
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
        f"({paced / config.ceiling_records_per_second:.3f} of the ceiling); record writes: "
        f"{config.record_writes}",
        f"  DynamoDB: {STORAGE_NAMES[config.dynalite_storage]}, a fresh table per approach; every approach "
        f"copies the same {config.records:,} records, then copies the unchanged table again (re-sync). "
        "DynamoDB spends none of the client's CPU; dynalite shares this machine's cores with the code it "
        "serves, in memory less of them than on disk (LevelDB), so in-memory is the closer stand-in",
    ]
    if report.machine is not None:
        machine = report.machine
        lines.append(
            f"  machine: {machine.cores} cores, load average {_load_text(machine.load_at_start)} at the "
            f"start, {_load_text(machine.load_at_end)} at the end; a load above the core count means "
            "other work took CPU from the benchmark, whose first copies are CPU-bound"
        )
    lines.append("")
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
        "CPU ms/record: ours",
        "dynalite",
    ]
    rows: list[list[str]] = []
    for result in report.main_passes():
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
                result.cpu_ms_per_record(result.python_cpu_seconds),
                result.cpu_ms_per_record(result.dynalite_cpu_seconds),
            ]
        )
    lines += _table(headers, rows)
    lines.append(
        "  CPU ms/record: CPU time of this process (the sync or the baseline; the emulator is a process of "
        "its own) and of dynalite, per record copied; on 2 cores, 500 records/s leaves 4 ms a record for "
        "all three processes, and this one, bound by its GIL, at most 2"
    )
    lines.append("")
    for result in report.passes:
        if result.failure:
            lines.append(
                f"  {result.approach} {result.sync} FAILED after {result.records_synced:,} of "
                f"{result.records_expected:,} records ({result.seconds:.1f} s): {result.failure}"
            )
    for result in report.passes:
        if result.pacer_wait_seconds is not None and result.seconds > 0:
            lines.append(_time_line(result))
    for result in report.passes:
        if result.closest_request_span is not None:
            lines.append(
                f"  {result.approach} {result.sync} on {result.dynalite_storage}: the closest "
                f"{math.floor(config.emulator_rate) + 1} requests the emulator saw spanned "
                f"{result.closest_request_span:.3f} s (Airtable answers 429 under 1 s): "
                f"{1000 * (result.closest_request_span - 1):.0f} ms of the pacing margin left"
            )
    if config.compare_storage:
        main = report.find(MIRROR, FULL)
        other = report.find(MIRROR, FULL, config.other_storage)
        ceiling = config.ceiling_records_per_second
        lines.append(
            f"  {MIRROR} {FULL} on {STORAGE_NAMES[config.other_storage]} for comparison: "
            f"{other.records_per_second:,.1f} records/s ({other.records_per_second / ceiling:.3f} of the "
            f"ceiling; {main.records_per_second / ceiling:.3f} on {config.dynalite_storage}), CPU ms/record "
            f"ours {other.cpu_ms_per_record(other.python_cpu_seconds)}, dynalite "
            f"{other.cpu_ms_per_record(other.dynalite_cpu_seconds)}"
        )
    resync = report.find(MIRROR, RESYNC)
    breakdown = ", ".join(
        f"{kind} {units:g} ({resync.write_units.calls.get(kind, 0)} writes)"
        for kind, units in sorted(resync.write_units.units.items())
    )
    lines.append(f"  {MIRROR} re-sync writes by item: {breakdown or 'none'}; {resync.pages} pages")
    refused = [r for r in report.main_passes() if r.write_units.refused]
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


def _time_line(result: PassResult) -> str:
    start_seconds = result.start_seconds or 0.0
    tail_seconds = result.tail_seconds or 0.0
    pacer_wait = result.pacer_wait_seconds or 0.0
    return (
        f"  {result.approach} {result.sync} on {result.dynalite_storage}: {result.seconds:.1f} s = start "
        f"{start_seconds:.1f} s (schema request, run item) + pages "
        f"{result.seconds - start_seconds - tail_seconds:.1f} s (with the slice's lock; "
        f"{result.airtable_requests} Airtable requests in all) + tail {tail_seconds:.2f} s (sweep, "
        f"finish); {result.index_walks} walk(s) of the index (a page of it after each page of the listing, "
        "and again after the listing only when a record is to be tombstoned); the page "
        f"fetcher waited {pacer_wait:.1f} s for rate slots ({pacer_wait / result.seconds:.0%} of the run: "
        "near 100 % when Airtable's limit paces the run, low when the page writes hold it back) and gave "
        f"up {result.late_slots or 0} slot(s) it woke too late for"
    )


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
    parser.add_argument(
        "--record-writes",
        choices=RECORD_WRITES_KINDS,
        default="direct",
        help="how the sync engine writes records (default: direct, as deployed; boto3 to compare)",
    )
    parser.add_argument(
        "--dynalite",
        choices=DYNALITE_STORAGES,
        default="memory",
        help="where dynalite keeps the tables of every pass (default: memory, the closer stand-in for "
        "DynamoDB, which spends none of this machine's CPU)",
    )
    parser.add_argument(
        "--no-storage-comparison",
        action="store_true",
        help="skip airtable-mirror's full sync on the other dynalite storage",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON to PATH")
    arguments = parser.parse_args(argv)
    overrides: dict[str, Any] = {
        "pacer_kind": arguments.pacer,
        "record_writes": arguments.record_writes,
        "trace_python_heap": arguments.heap_trace,
        "dynalite_storage": arguments.dynalite,
        "compare_storage": not arguments.no_storage_comparison,
    }
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
