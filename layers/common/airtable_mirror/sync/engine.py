"""The full sync of one table: Airtable pages in, conditional DynamoDB writes out, mark and sweep.

A sync run is carried out in slices, one per invocation. A slice resumes from the run's latest
checkpoint, writes page after page (checkpointing after each one) and stops when the invocation's
time runs short, for the caller to hand the run over to a new invocation. The slice that reaches the
end of the listing sweeps away the records Airtable no longer has, and finishes the run.

Three things overlap so that the run goes at Airtable's request rate rather than at the rate of
Airtable and DynamoDB taken in turn:

- a thread fetches the listing up to two pages ahead of the writes, and reads the stored states of
  each page's records (one BatchGetItem) before handing it over. A page whose writes run late then
  does not make the fetcher miss its next rate slot (a slot not used when it comes is lost). When the
  slice must hand over, it stops asking for pages and writes the ones already asked for, so the next
  slice never fetches a page twice;
- two pages are written at once, so the end of one page's writes, its checkpoint and the next page's
  first writes share the time; checkpoints are still saved in page order, each after its own page's
  writes;
- the fetching thread walks the table's index while the listing runs, one index page after each
  listing page (right after a request, so that the walk's CPU never delays the next one), and keeps
  the hashes of the records last written before the run began. When the listing ends, the sweep walks
  the index again only if one of them is missing from the listing, so a run that deletes nothing ends
  right after its last page.

Memory stays flat in the table's size: a few pages are held, plus 8 bytes per record for the ids the
listing returned and 8 for the records the index walk found.
"""

import contextlib
import itertools
import queue
import threading
import time
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, Literal

from aws_lambda_powertools import Logger

from airtable_mirror.airtable import (
    AirtableClient,
    AirtableError,
    AirtableRecord,
    IteratorExpired,
    RecordPage,
)
from airtable_mirror.repository import (
    Checkpoint,
    RecordObservation,
    RecordRepository,
    RecordState,
    RunFailure,
    SyncRun,
    SyncRunRepository,
)
from airtable_mirror.repository.errors import RepositoryError
from airtable_mirror.repository.record_hashes import hash_record_id, pack_hashes, sorted_hashes
from airtable_mirror.repository.table_schemas import LastSync, TableSchemaRepository
from airtable_mirror.repository.timestamps import iso_from_seconds

logger = Logger(child=True)

PAGE_SIZE = 100
PAGES_WRITTEN_AT_ONCE = 2
PAGES_FETCHED_AHEAD = 2  # pages asked of the fetcher beyond the one the writers last received
# Index entries walked after each listing page: five times the page, so the walk ends well before the
# listing even when a fifth of the indexed records are gone from the table.
INDEX_WALK_STEP = 5 * PAGE_SIZE
FinishedStatus = Literal["succeeded", "failed"]
MAX_LISTING_RESTARTS = 5
MAX_REPORTED_FAILURES = 100


class SliceOutcome(StrEnum):
    FINISHED = "finished"  # the run ended (succeeded or failed) in this slice
    HANDOVER = "handover"  # time ran short: continue the run in a new invocation
    BASE_BUSY = "base_busy"  # another run holds the base: try again later
    NOT_ACTIVE = "not_active"  # unknown or already finished run (a duplicate message): nothing to do
    DUPLICATE = "duplicate"  # another invocation carries this slice, or the run is past it: drop it


@dataclass
class RunCounts:
    """A run's cumulative figures, kept in every checkpoint and in the finished run."""

    pages: int = 0
    fetched: int = 0
    written: int = 0
    unchanged: int = 0
    stale: int = 0
    deleted: int = 0
    failed: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    listing_restarts: int = 0

    @classmethod
    def from_mapping(cls, values: Any) -> "RunCounts":
        """Counts by name, or by the short keys of a checkpoint."""
        names = {item.name for item in fields(cls)}
        named = {_LONG_NAMES.get(key, key): value for key, value in dict(values).items()}
        return cls(**{key: int(value) for key, value in named.items() if key in names})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def as_checkpoint_counts(self) -> dict[str, int]:
        """One-letter keys, nonzero counts only: a checkpoint with 100 id hashes stays one write unit."""
        return {_SHORT_NAMES[name]: value for name, value in asdict(self).items() if value}


_SHORT_NAMES = {
    "pages": "p",
    "fetched": "f",
    "written": "w",
    "unchanged": "u",
    "stale": "s",
    "deleted": "d",
    "failed": "x",
    "requests": "q",
    "retries": "r",
    "rate_limited": "l",
    "listing_restarts": "i",
}
_LONG_NAMES = {short: name for name, short in _SHORT_NAMES.items()}


@dataclass
class SliceResult:
    outcome: SliceOutcome
    run: SyncRun | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    error: str | None = None


@dataclass
class _FetchedPage:
    page: RecordPage
    version: int  # microseconds; the time the request that returned the page was first sent
    generation: int
    states: Mapping[str, RecordState]  # what the mirror held for the page's records when it came


@dataclass
class _PageTally:
    """What writing one page did; added to the run's counts when the page's checkpoint is saved."""

    written: int = 0
    unchanged: int = 0
    stale: int = 0
    failures: list[RunFailure] = field(default_factory=list)


_DONE = object()

StateReader = Callable[[Sequence[str]], Mapping[str, RecordState]]


class _PageFetcher:
    """Fetches the listing ahead of the writer, on a thread, with the stored states of each page's
    records; errors surface in the writer. It fetches a page only when asked (`fetch_next`), and has
    been asked for `ahead` pages when it starts."""

    def __init__(
        self,
        client: AirtableClient,
        table_id: str,
        start_offset: str | None,
        generation: int,
        clock: Callable[[], float],
        read_states: StateReader,
        between_pages: Callable[[], None],
        ahead: int = PAGES_FETCHED_AHEAD,
    ) -> None:
        self._client = client
        self._table_id = table_id
        self._offset = start_offset
        self._generation = generation
        self._clock = clock
        self._read_states = read_states
        self._between_pages = between_pages
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1)
        # One permit per page: the writer grants the next request only once it knows it will not hand
        # over, and writes every page it granted before it does, so no page is fetched that the next
        # invocation would have to fetch again.
        self._permits = threading.Semaphore(ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"fetch-{table_id}", daemon=True)

    def __enter__(self) -> "_PageFetcher":
        self._thread.start()
        return self

    def pages(self) -> Iterator[_FetchedPage]:
        return self._pages()

    def fetch_next(self) -> None:
        self._permits.release()

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._permits.release()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _pages(self) -> Iterator[_FetchedPage]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, _FetchedPage)
            yield item

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        restarts = 0
        try:
            while True:
                self._permits.acquire()
                if self._stop.is_set():
                    return
                version = int(self._clock() * 1_000_000)
                try:
                    page = self._client.list_records_page(
                        self._table_id,
                        offset=self._offset,
                        page_size=PAGE_SIZE,
                        return_fields_by_field_id=True,
                    )
                except IteratorExpired:
                    restarts += 1
                    if restarts > MAX_LISTING_RESTARTS:
                        raise
                    logger.warning(
                        "listing iterator expired; restarting the listing", table_id=self._table_id
                    )
                    self._offset = None
                    self._generation += 1
                    self._permits.release()
                    continue
                states = self._read_states([record.id for record in page.records])
                if not self._put(_FetchedPage(page, version, self._generation, states)):
                    return
                if page.offset is None:
                    break
                self._offset = page.offset
                self._between_pages()
            self._put(_DONE)
        except BaseException as error:  # handed to the writer thread, which re-raises it
            self._put(error)


class _IndexWalk:
    """Walks the table's index a step at a time, keeping the hashes of the live records last written
    before the run began: the only records the sweep may tombstone. A record the run writes is not
    among them (its version is newer), whether the walk passes it before or after the write."""

    def __init__(self, records: RecordRepository, run: SyncRun) -> None:
        self._run = run
        self._entries = records.iter_table_keys(run.base_id, run.table_id, page_size=INDEX_WALK_STEP)
        self._hashes: array[int] = array("Q")
        self._ended = False

    def step(self) -> None:
        """Walk on by one index page (one Query), unless the walk has ended."""
        walked = 0
        if not self._ended:
            for record_id, version in itertools.islice(self._entries, INDEX_WALK_STEP):
                walked += 1
                if version < self._run.version_at_start:
                    self._hashes.append(hash_record_id(record_id))
        self._ended = walked < INDEX_WALK_STEP

    def hashes(self) -> "array[int]":
        """Every hash the walk kept, once it has walked to the end of the index."""
        while not self._ended:
            self.step()
        return self._hashes


class SyncEngine:
    def __init__(
        self,
        client: AirtableClient,
        records: RecordRepository,
        runs: SyncRunRepository,
        schemas: TableSchemaRepository,
        *,
        clock: Callable[[], float] = time.time,
        lock_lease_seconds: float = 900.0,
        write_workers: int = 8,
        tombstone_ttl_seconds: int = 14 * 24 * 3600,
    ) -> None:
        self._client = client
        self._records = records
        self._runs = runs
        self._schemas = schemas
        self._clock = clock
        self._lock_lease_seconds = lock_lease_seconds
        self._write_workers = write_workers
        self._tombstone_ttl_seconds = tombstone_ttl_seconds

    def run_slice(
        self,
        base_id: str,
        run_id: str,
        *,
        should_hand_over: Callable[[], bool],
        slice_number: int = 0,
        owner: str = "local",
    ) -> SliceResult:
        """Carry run ``run_id`` forward until it ends or ``should_hand_over()`` says time is short.

        ``slice_number`` counts the run's handovers and ``owner`` names the invocation, so that a
        message SQS delivers twice cannot have two invocations copy the same run at once.
        """
        run = self._runs.get_run(base_id, run_id)
        if run is None or not run.active:
            return SliceResult(SliceOutcome.NOT_ACTIVE, run)
        if not self._runs.acquire_base_lock(base_id, run_id, self._lock_lease_seconds, self._clock()):
            return SliceResult(SliceOutcome.BASE_BUSY, run)
        if not self._runs.claim_slice(
            base_id, run_id, slice_number, owner, self._lock_lease_seconds, self._clock()
        ):
            logger.info("slice already carried elsewhere", run_id=run_id, slice_number=slice_number)
            return SliceResult(SliceOutcome.DUPLICATE, run)
        self._runs.mark_running(base_id, run_id)
        checkpoint = self._runs.latest_checkpoint(base_id, run_id)
        counts = RunCounts.from_mapping(checkpoint.counts) if checkpoint else RunCounts()
        failures: list[RunFailure] = []
        stats_at_start = self._client_figures()
        index_walk = _IndexWalk(self._records, run)  # walked by the page fetcher, between pages
        try:
            listing_done, generation = self._copy_pages(
                run, checkpoint, counts, failures, stats_at_start, should_hand_over, index_walk
            )
            if not listing_done:
                return SliceResult(SliceOutcome.HANDOVER, run, counts)
            self._sweep(run, generation, counts, index_walk.hashes())
        except (AirtableError, RepositoryError) as error:
            # Permanent for this run (auth, billing limit, table gone, Airtable down past every retry):
            # the run ends failed with the reason; the next run starts afresh and skips unchanged records.
            self._add_client_figures(counts, stats_at_start)
            reason = str(error)
            logger.error("sync run failed", run_id=run_id, table_id=run.table_id, reason=reason)
            self._finish(run, "failed", counts, failures, error=reason)
            return SliceResult(SliceOutcome.FINISHED, run, counts, error=reason)
        self._add_client_figures(counts, stats_at_start)
        self._finish(run, "succeeded", counts, failures)
        logger.info("sync run succeeded", run_id=run_id, table_id=run.table_id, counts=counts.as_dict())
        return SliceResult(SliceOutcome.FINISHED, run, counts)

    # --- pages ----------------------------------------------------------------------------

    def _copy_pages(
        self,
        run: SyncRun,
        checkpoint: Checkpoint | None,
        counts: RunCounts,
        failures: list[RunFailure],
        stats_at_start: dict[str, int],
        should_hand_over: Callable[[], bool],
        index_walk: _IndexWalk,
    ) -> tuple[bool, int]:
        """Copy pages from the checkpoint on, walking the index between them. Returns (listing
        finished, listing generation)."""
        page_number = checkpoint.page_number if checkpoint else 0
        generation = checkpoint.listing_generation if checkpoint else 0
        if checkpoint is not None and checkpoint.next_offset is None:
            return True, generation
        lease_renewed_at = self._clock()
        start_offset = checkpoint.next_offset if checkpoint else None

        def read_states(record_ids: Sequence[str]) -> Mapping[str, RecordState]:
            return self._records.get_states(run.base_id, record_ids)

        being_written: deque[tuple[_FetchedPage, Future[_PageTally]]] = deque()
        with (
            _PageFetcher(
                self._client,
                run.table_id,
                start_offset,
                generation,
                self._clock,
                read_states,
                between_pages=index_walk.step,
            ) as fetcher,
            ThreadPoolExecutor(PAGES_WRITTEN_AT_ONCE, thread_name_prefix="page-writes") as page_writes,
        ):
            try:
                asked_ahead = PAGES_FETCHED_AHEAD  # pages granted to the fetcher and not received yet
                handing_over = False
                for fetched in fetcher.pages():
                    asked_ahead -= 1
                    if fetched.generation != generation:
                        generation = fetched.generation
                        counts.listing_restarts += 1
                    last_page = fetched.page.offset is None
                    handing_over = handing_over or (not last_page and should_hand_over())
                    if not last_page and not handing_over:
                        fetcher.fetch_next()
                        asked_ahead += 1
                    # Hand over once every page asked for is written: none is fetched twice.
                    hand_over = handing_over and not last_page and asked_ahead == 0
                    being_written.append((fetched, page_writes.submit(self._write_page, run, fetched)))
                    while being_written and (
                        len(being_written) >= PAGES_WRITTEN_AT_ONCE or last_page or hand_over
                    ):
                        written, tally = being_written.popleft()
                        page_number += 1
                        self._save_page(
                            run, written, tally.result(), page_number, counts, failures, stats_at_start
                        )
                        if self._clock() - lease_renewed_at > self._lock_lease_seconds / 3:
                            if not self._runs.renew_base_lock(
                                run.base_id, run.run_id, self._lock_lease_seconds, self._clock()
                            ):
                                raise RepositoryError("the base sync lock was taken over by another run")
                            lease_renewed_at = self._clock()
                    if last_page:
                        return True, generation
                    if hand_over:
                        logger.info("handing the run over", run_id=run.run_id, page_number=page_number)
                        return False, generation
            finally:
                # No write outlives the slice: a failed or crashed slice still waits for its pages.
                for _, unfinished in being_written:
                    with contextlib.suppress(BaseException):
                        unfinished.result()
        return True, generation

    def _save_page(
        self,
        run: SyncRun,
        fetched: _FetchedPage,
        tally: _PageTally,
        page_number: int,
        counts: RunCounts,
        failures: list[RunFailure],
        stats_at_start: dict[str, int],
    ) -> None:
        """Count a written page in and save its checkpoint (in page order, after its writes)."""
        counts.pages += 1
        counts.fetched += len(fetched.page.records)
        counts.written += tally.written
        counts.unchanged += tally.unchanged
        counts.stale += tally.stale
        for failure in tally.failures:
            self._fail(counts, failures, failure.record_id, failure.reason)
        figures = RunCounts.from_mapping(counts.as_dict())
        self._add_client_figures(figures, stats_at_start)
        self._runs.save_checkpoint(
            run.base_id,
            run.run_id,
            Checkpoint(
                page_number=page_number,
                next_offset=fetched.page.offset,
                counts=figures.as_checkpoint_counts(),
                seen_id_hashes=pack_hashes(hash_record_id(r.id) for r in fetched.page.records),
                listing_generation=fetched.generation,
            ),
        )

    def _write_page(self, run: SyncRun, fetched: _FetchedPage) -> _PageTally:
        """Write the page's new and changed records (on a page-writes thread)."""
        tally = _PageTally()
        to_write: list[RecordObservation] = []
        for record in fetched.page.records:
            try:
                observation = self._observation(run, record, fetched.version)
            except ValueError as error:
                tally.failures.append(RunFailure(record.id, f"invalid record: {error}"))
                continue
            state = fetched.states.get(record.id)
            if state is not None and state.version >= observation.version:
                tally.stale += 1
            elif state is not None and not state.deleted and state.content_hash == observation.content_hash:
                tally.unchanged += 1
            else:
                to_write.append(observation)
        for outcome in self._records.upsert_many(to_write, max_workers=self._write_workers):
            if outcome.status == "written":
                tally.written += 1
            elif outcome.status == "unchanged":
                tally.unchanged += 1
            elif outcome.status == "stale":
                tally.stale += 1
            else:
                tally.failures.append(
                    RunFailure(
                        outcome.record_id,
                        f"record too large for DynamoDB even compressed ({outcome.item_bytes} bytes)",
                    )
                )
        return tally

    @staticmethod
    def _observation(run: SyncRun, record: AirtableRecord, version: int) -> RecordObservation:
        return RecordObservation(
            base_id=run.base_id,
            table_id=run.table_id,
            record_id=record.id,
            created_time=record.created_time_iso,
            cells=record.fields,
            version=version,
        )

    @staticmethod
    def _fail(counts: RunCounts, failures: list[RunFailure], record_id: str, reason: str) -> None:
        counts.failed += 1
        if len(failures) < MAX_REPORTED_FAILURES:
            failures.append(RunFailure(record_id=record_id, reason=reason))
        logger.warning("record not stored", record_id=record_id, reason=reason)

    # --- sweep ----------------------------------------------------------------------------

    def _sweep(self, run: SyncRun, generation: int, counts: RunCounts, walked: "array[int]") -> None:
        """Tombstone the records the listing did not return, except those changed since the run began.

        `walked` holds the hashes of the records the index walk found last written before the run
        began. When the listing returned every one of them, nothing is left to tombstone and the index
        is not walked again. A record that an observation older than the run wrote after the walk had
        passed its place (a late webhook) is not among them; if Airtable no longer has it, the next
        full sync tombstones it, as it would one written after a walk at the end had passed it.
        """
        seen = sorted_hashes(
            self._runs.iter_seen_hashes(run.base_id, run.run_id, listing_generation=generation)
        )
        if all(_contains(seen, record_hash) for record_hash in walked):
            return
        for record_id, version in self._records.iter_table_keys(run.base_id, run.table_id):
            if version >= run.version_at_start or _contains(seen, hash_record_id(record_id)):
                continue
            outcome = self._records.sweep_delete(
                run.base_id,
                run.table_id,
                record_id,
                observed_before_version=run.version_at_start,
                tombstone_ttl_seconds=self._tombstone_ttl_seconds,
            )
            if outcome.status == "written":
                counts.deleted += 1

    # --- bookkeeping ----------------------------------------------------------------------

    def _client_figures(self) -> dict[str, int]:
        stats = self._client.stats
        return {
            "requests": stats.requests,
            "retries": stats.retries,
            "rate_limited": stats.rate_limited,
        }

    def _add_client_figures(self, counts: RunCounts, at_start: dict[str, int]) -> None:
        now = self._client_figures()
        counts.requests += now["requests"] - at_start["requests"]
        counts.retries += now["retries"] - at_start["retries"]
        counts.rate_limited += now["rate_limited"] - at_start["rate_limited"]

    def _finish(
        self,
        run: SyncRun,
        status: FinishedStatus,
        counts: RunCounts,
        failures: list[RunFailure],
        error: str | None = None,
    ) -> None:
        if self._runs.finish_run(run.base_id, run.run_id, status, counts.as_dict(), failures, error):
            self._schemas.record_sync(
                run.base_id,
                run.table_id,
                LastSync(
                    run_id=run.run_id,
                    status=status,
                    finished_at=iso_from_seconds(self._clock()),
                    counts=counts.as_dict(),
                ),
            )
        self._runs.release_base_lock(run.base_id, run.run_id)


def _contains(sorted_values: "array[int]", value: int) -> bool:
    position = bisect_left(sorted_values, value)
    return position < len(sorted_values) and sorted_values[position] == value
