"""airtable-mirror wired as the sync functions wire it (`airtable_mirror.runtime`), for the benchmark.

The Airtable client paces itself with the DynamoDB-backed `DynamoPacer` that the deployed functions
share, at its default safety margin; `LocalPacer` (in-process) can be chosen instead to see what the
shared pacer costs. Record writes go through a second client without botocore's parameter
validation, as `runtime.sync_engine` builds it.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.credentials import Credentials

from airtable_mirror.airtable import AirtableClient, LocalPacer, Pacer
from airtable_mirror.repository import Checkpoint, DynamoPacer, RecordRepository, SyncRunRepository
from airtable_mirror.repository.direct_writes import DirectWriteClient
from airtable_mirror.repository.rate_slots import DEFAULT_SAFETY_MARGIN, slot_interval_ms
from airtable_mirror.repository.table_schemas import TableSchemaRepository
from airtable_mirror.run_queue import RunMessage
from airtable_mirror.sync.engine import SliceOutcome, SliceResult, SyncEngine
from airtable_mirror.sync.service import SyncService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PacerKind = Literal["dynamo", "local"]
PACER_KINDS: tuple[PacerKind, ...] = ("dynamo", "local")
RecordWritesKind = Literal["direct", "boto3"]
RECORD_WRITES_KINDS: tuple[RecordWritesKind, ...] = ("direct", "boto3")
_DUMMY_CREDENTIALS = Credentials("testing", "testing", "testing")  # dynalite checks no signature


class DiscardingQueue:
    """The run queue: the benchmark carries each run itself, so the queued message is not needed."""

    def send(self, message: RunMessage, *, delay_seconds: int = 0) -> None:
        del message, delay_seconds


def request_interval_seconds(pacer_kind: PacerKind, requests_per_second: float) -> float:
    """The spacing the pacer keeps between two requests (its safety margin included)."""
    if pacer_kind == "dynamo":
        return slot_interval_ms(requests_per_second, DEFAULT_SAFETY_MARGIN) / 1000
    return LocalPacer(requests_per_second=requests_per_second).interval


class MeteredPacer:
    """Wraps a pacer and adds up the time callers spend in `acquire`.

    In a sync, the page fetcher is the only caller: when the run goes at Airtable's rate it spends most
    of the run here, waiting for the next slot; when something else holds the run back (the writer), it
    waits for the writer instead and this figure stays small. `DynamoPacer` makes its UpdateItem (one
    per window of slots) inside `acquire`, so that round trip is counted too.
    """

    def __init__(self, inner: Pacer, clock: Callable[[], float] = time.perf_counter) -> None:
        self._inner = inner
        self._clock = clock
        self._lock = threading.Lock()
        self._waited = 0.0
        self._acquired = 0

    def acquire(self) -> None:
        started = self._clock()
        self._inner.acquire()
        waited = self._clock() - started
        with self._lock:
            self._waited += waited
            self._acquired += 1

    def hold_off(self, seconds: float) -> None:
        self._inner.hold_off(seconds)

    def take(self) -> tuple[int, float]:
        """(slots acquired, seconds spent acquiring them) since the last `take`."""
        with self._lock:
            figures = (self._acquired, self._waited)
            self._acquired, self._waited = 0, 0.0
        return figures

    @property
    def late_slots(self) -> int:
        """Slots the inner pacer gave up because the caller woke too late for them (pacing.py)."""
        return int(getattr(self._inner, "late_slots", 0))


class WalkCountingRecords(RecordRepository):
    """The record repository, counting its index walks (`iter_table_keys`): the sync engine walks the
    index a page at a time while the listing runs, and again after it only when a record is to be
    tombstoned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._walk_lock = threading.Lock()
        self._walks = 0

    def iter_table_keys(self, base_id: str, table_id: str, page_size: int = 500) -> Iterator[tuple[str, int]]:
        with self._walk_lock:
            self._walks += 1
        return super().iter_table_keys(base_id, table_id, page_size)

    def take_walks(self) -> int:
        """Index walks begun since the last call."""
        with self._walk_lock:
            walks, self._walks = self._walks, 0
        return walks


class TailTimingRuns(SyncRunRepository):
    """The sync run repository, noting when the last checkpoint of a run was saved and when the run
    finished: the time between is the run's tail (the sweep, the run's and the table's items)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_checkpoint_at: float | None = None
        self._finished_at: float | None = None

    def save_checkpoint(self, base_id: str, run_id: str, checkpoint: Checkpoint) -> None:
        super().save_checkpoint(base_id, run_id, checkpoint)
        self._last_checkpoint_at = time.perf_counter()

    def finish_run(self, *args: Any, **kwargs: Any) -> bool:
        finished = super().finish_run(*args, **kwargs)
        self._finished_at = time.perf_counter()
        return finished

    def take_tail_seconds(self) -> float | None:
        """Seconds from the last checkpoint to the finish of the last run, if both happened."""
        last, finished = self._last_checkpoint_at, self._finished_at
        self._last_checkpoint_at = self._finished_at = None
        if last is None or finished is None:
            return None
        return finished - last


@dataclass
class MirrorStack:
    base_id: str
    pacer: MeteredPacer
    client: AirtableClient
    records: WalkCountingRecords
    runs: TailTimingRuns
    engine: SyncEngine
    service: SyncService

    def close(self) -> None:
        self.client.close()


@dataclass(frozen=True)
class TimedSync:
    result: SliceResult
    seconds: float
    start_seconds: float  # starting the run: the schema request, the table schema and run items


def record_write_client(endpoint_url: str, max_pool_connections: int = 16) -> "DynamoDBClient":
    """A client of the local DynamoDB for record writes, without botocore's parameter validation."""
    session = boto3.session.Session(
        aws_access_key_id=_DUMMY_CREDENTIALS.access_key,
        aws_secret_access_key=_DUMMY_CREDENTIALS.secret_key,
        aws_session_token=_DUMMY_CREDENTIALS.token,
        region_name="us-east-1",
    )
    config = Config(
        parameter_validation=False,
        max_pool_connections=max_pool_connections,
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    return session.client("dynamodb", endpoint_url=endpoint_url, config=config)


def record_writer(client: "DynamoDBClient", kind: RecordWritesKind) -> "DynamoDBClient | DirectWriteClient":
    """What the sync engine writes records with, as `runtime.record_write_client` builds it ("direct"),
    or the boto3 client itself ("boto3", to compare). Either way `client`'s event hooks see the calls,
    so a write-unit meter on `client` counts them."""
    if kind == "boto3":
        return client
    return DirectWriteClient(client, _DUMMY_CREDENTIALS)


def build_mirror(
    *,
    base_id: str,
    api_url: str,
    token: str,
    dynamodb: "DynamoDBClient",
    table_name: str,
    requests_per_second: float,
    rate_limit_penalty_seconds: float,
    pacer_kind: PacerKind = "dynamo",
    record_writes: "DynamoDBClient | DirectWriteClient | None" = None,
) -> MirrorStack:
    """The sync stack on `dynamodb`; record writes through `record_writes` when given."""
    inner: Pacer
    if pacer_kind == "dynamo":
        inner = DynamoPacer(dynamodb, table_name, base_id, requests_per_second=requests_per_second)
    else:
        inner = LocalPacer(requests_per_second=requests_per_second)
    pacer = MeteredPacer(inner)
    client = AirtableClient(
        base_id=base_id,
        token_provider=lambda: token,
        api_url=api_url,
        pacer=pacer,
        rate_limit_penalty_seconds=rate_limit_penalty_seconds,
    )
    records = WalkCountingRecords(dynamodb, table_name, record_write_client=record_writes)
    runs = TailTimingRuns(dynamodb, table_name)
    schemas = TableSchemaRepository(dynamodb, table_name)
    return MirrorStack(
        base_id=base_id,
        pacer=pacer,
        client=client,
        records=records,
        runs=runs,
        engine=SyncEngine(client, records, runs, schemas),
        service=SyncService(
            base_id=base_id, client=client, runs=runs, schemas=schemas, queue=DiscardingQueue()
        ),
    )


def timed_sync(
    stack: MirrorStack, table: str, *, clock: Callable[[], float] = time.perf_counter
) -> TimedSync:
    """One full sync of `table`, from the start request (which reads the schema) to the finished run.

    The run is carried in one slice, as one long invocation would; slices hand over only when time
    runs short, which the benchmark never makes happen.
    """
    started = clock()
    run_id = stack.service.start_run(table).run.run_id
    start_seconds = clock() - started
    while True:
        result = stack.engine.run_slice(stack.base_id, run_id, should_hand_over=lambda: False)
        if result.outcome is not SliceOutcome.HANDOVER:
            return TimedSync(result, clock() - started, start_seconds)
