"""Starting sync runs and reporting on them: what the sync API and the schedule call."""

import base64
import binascii
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from airtable_mirror.airtable import AirtableClient, AirtableError, TableSchema
from airtable_mirror.repository import InvalidCursorError, SyncRun, SyncRunRepository
from airtable_mirror.repository.sync_runs import MAX_RUNS_PER_PAGE
from airtable_mirror.repository.table_schemas import StoredField, StoredTable, TableSchemaRepository
from airtable_mirror.run_queue import RunMessage, RunQueue
from airtable_mirror.sync.engine import RunCounts

logger = Logger(child=True)

MAX_TABLE_REFERENCE_LENGTH = 255
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
RUN_ID_PATTERN = re.compile(r"^run_[0-9a-f]{32}$")
DEFAULT_RUNS_PER_PAGE = 20
RUNS_CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,400}$"


class InvalidTableReferenceError(ValueError):
    """The table string cannot name a table (empty, too long, control characters)."""


class InvalidRunIdError(ValueError):
    """The string is not a run id this service issues."""


class RunNotFoundError(LookupError):
    pass


class TableNotMirroredError(LookupError):
    """No table the mirror has synced answers to the reference, so it has no runs to list."""


class InvalidRunsCursorError(ValueError):
    """The cursor is not a next_cursor that a run listing gave."""


class QueueUnavailableError(RuntimeError):
    """The run could not be queued; it was cancelled so that the table is free to start again."""


@dataclass(frozen=True)
class StartedRun:
    run: SyncRun
    created: bool  # False: a run of this table was already queued or running, and ``run`` is that one


@dataclass(frozen=True)
class RunReport:
    run: SyncRun
    counts: RunCounts
    pages_done: int


@dataclass(frozen=True)
class RunListing:
    reports: list[RunReport]
    next_cursor: str | None  # None: this page holds the oldest run


def new_run_id() -> str:
    return f"run_{uuid.uuid4().hex}"


def check_table_reference(reference: str) -> str:
    stripped = reference.strip()
    if not stripped:
        raise InvalidTableReferenceError("the table must be a table name, a tbl… id or an alias")
    if len(stripped) > MAX_TABLE_REFERENCE_LENGTH:
        raise InvalidTableReferenceError(
            f"a table reference has at most {MAX_TABLE_REFERENCE_LENGTH} characters"
        )
    if _CONTROL_CHARACTERS.search(stripped):
        raise InvalidTableReferenceError("a table reference cannot contain control characters")
    return stripped


def check_run_id(run_id: str) -> str:
    if not RUN_ID_PATTERN.match(run_id):
        raise InvalidRunIdError("a run id looks like run_ followed by 32 hexadecimal digits")
    return run_id


class SyncService:
    def __init__(
        self,
        *,
        base_id: str,
        client: AirtableClient,
        runs: SyncRunRepository,
        schemas: TableSchemaRepository,
        queue: RunQueue,
        aliases: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        make_run_id: Callable[[], str] = new_run_id,
        abandon_after_seconds: float = 3 * 3600,
    ) -> None:
        self._base_id = base_id
        self._client = client
        self._runs = runs
        self._schemas = schemas
        self._queue = queue
        self._aliases = {alias.lower(): target for alias, target in (aliases or {}).items()}
        self._clock = clock
        self._make_run_id = make_run_id
        self._abandon_after_seconds = abandon_after_seconds

    def resolve_table(self, reference: str) -> TableSchema:
        """A table of the base by alias, ``tbl…`` id or name; raises ``TableNotFound`` (404)."""
        reference = check_table_reference(reference)
        target = self._aliases.get(reference.lower(), reference)
        return self._client.resolve_table(target)

    def start_run(self, reference: str) -> StartedRun:
        table = self.resolve_table(reference)
        version_at_start = int(self._clock() * 1_000_000)
        # The field names the API shows come from here; a rename in Airtable changes only this item.
        self._schemas.put_table(
            self._base_id,
            table.id,
            table.name,
            table.primary_field_id,
            [StoredField(id=f.id, name=f.name, type=f.type) for f in table.fields],
            version_at_start,
        )
        result = self._runs.create_run(
            self._base_id, table.id, table.name, self._make_run_id(), version_at_start
        )
        if not result.created and self._is_abandoned(result.run):
            # Its messages are gone (dead-letter queue, say): without this the table could never sync again.
            logger.warning("abandoning a stalled sync run", run_id=result.run.run_id, table_id=table.id)
            self._runs.finish_run(
                self._base_id,
                result.run.run_id,
                "failed",
                result.run.totals,
                error=f"abandoned: no progress for {self._abandon_after_seconds:.0f} s",
            )
            result = self._runs.create_run(
                self._base_id, table.id, table.name, self._make_run_id(), version_at_start
            )
        if not result.created:
            return StartedRun(result.run, created=False)
        try:
            self._queue.send(RunMessage(self._base_id, result.run.run_id))
        except Exception as error:
            self._runs.finish_run(self._base_id, result.run.run_id, "cancelled", {})
            logger.exception("could not queue the sync run", run_id=result.run.run_id)
            raise QueueUnavailableError("the sync run could not be queued; try again") from error
        logger.info("sync run queued", run_id=result.run.run_id, table_id=table.id, table_name=table.name)
        return StartedRun(result.run, created=True)

    def _is_abandoned(self, run: SyncRun) -> bool:
        """Active, not holding the base with a live lease, and older than the abandon time."""
        lock = self._runs.get_base_lock(self._base_id)
        now = self._clock()
        if lock is not None and lock.run_id == run.run_id and lock.lease_expires_at > now:
            return False
        created = datetime.fromisoformat(run.created_at.replace("Z", "+00:00")).timestamp()
        return now - created > self._abandon_after_seconds

    def start_runs(self, references: Iterable[str]) -> tuple[list[StartedRun], dict[str, str]]:
        """Start a run for each table (the schedule); a table whose run is still going is left to it.

        One table that cannot start (renamed away, say) does not keep the others from starting: its
        reason is returned by table reference.
        """
        started: list[StartedRun] = []
        failed: dict[str, str] = {}
        for reference in references:
            try:
                started.append(self.start_run(reference))
            except (AirtableError, InvalidTableReferenceError, QueueUnavailableError) as error:
                logger.error("scheduled sync run not started", table=reference, reason=str(error))
                failed[reference] = str(error)
        return started, failed

    def report(self, run_id: str) -> RunReport:
        run = self._runs.get_run(self._base_id, check_run_id(run_id))
        if run is None:
            raise RunNotFoundError(f"no sync run {run_id}")
        return self._report(run)

    def list_runs(
        self, *, table: str | None = None, limit: int = DEFAULT_RUNS_PER_PAGE, cursor: str | None = None
    ) -> RunListing:
        """Recent runs, newest first, of the base or of one mirrored table (an alias, id or name).

        Finished runs carry their totals; a queued or running one costs one more read, of its latest
        checkpoint, for its counts so far.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RUNS_PER_PAGE:
            raise ValueError(f"limit must be within 1..{MAX_RUNS_PER_PAGE}")
        table_id = None if table is None else self.mirrored_table(table).table_id
        try:
            page = self._runs.list_runs(
                self._base_id, table_id=table_id, limit=limit, after=_decode_runs_cursor(cursor)
            )
        except InvalidCursorError:
            raise InvalidRunsCursorError("not a next_cursor that a run listing gave") from None
        return RunListing(
            reports=[self._report(run) for run in page.runs],
            next_cursor=None if page.next_position is None else _encode_runs_cursor(page.next_position),
        )

    def mirrored_table(self, reference: str) -> StoredTable:
        """A table the mirror has synced, by alias, ``tbl…`` id or name (exact, else case-insensitive
        if unique). Reads the stored schemas only: Airtable is not asked."""
        reference = check_table_reference(reference)
        target = self._aliases.get(reference.lower(), reference)
        tables = self._schemas.list_tables(self._base_id)
        for candidates in (
            [stored for stored in tables if stored.table_id == target],
            [stored for stored in tables if stored.name == target],
            [stored for stored in tables if stored.name.lower() == target.lower()],
        ):
            if len(candidates) == 1:
                return candidates[0]
        raise TableNotMirroredError(
            f"no mirrored table answers to {reference!r} (a name, a tbl… id or an alias of a table "
            "that has been synced at least once; GET /tables lists them)"
        )

    def _report(self, run: SyncRun) -> RunReport:
        run_id = run.run_id
        if run.totals:
            return RunReport(
                run, RunCounts.from_mapping(run.totals), RunCounts.from_mapping(run.totals).pages
            )
        checkpoint = self._runs.latest_checkpoint(self._base_id, run_id)
        counts = RunCounts.from_mapping(checkpoint.counts) if checkpoint else RunCounts()
        return RunReport(run, counts, checkpoint.page_number if checkpoint else 0)


def _encode_runs_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def _decode_runs_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    if re.fullmatch(RUNS_CURSOR_PATTERN, cursor) is None:
        raise InvalidRunsCursorError("not a next_cursor that a run listing gave")
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidRunsCursorError("not a next_cursor that a run listing gave") from None
