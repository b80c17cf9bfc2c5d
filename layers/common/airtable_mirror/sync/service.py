"""Starting sync runs and reporting on them: what the sync API and the schedule call."""

import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from airtable_mirror.airtable import AirtableClient, AirtableError, TableSchema
from airtable_mirror.repository import SyncRun, SyncRunRepository
from airtable_mirror.repository.table_schemas import StoredField, TableSchemaRepository
from airtable_mirror.run_queue import RunMessage, RunQueue
from airtable_mirror.sync.engine import RunCounts

logger = Logger(child=True)

MAX_TABLE_REFERENCE_LENGTH = 255
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
RUN_ID_PATTERN = re.compile(r"^run_[0-9a-f]{32}$")


class InvalidTableReferenceError(ValueError):
    """The table string cannot name a table (empty, too long, control characters)."""


class InvalidRunIdError(ValueError):
    """The string is not a run id this service issues."""


class RunNotFoundError(LookupError):
    pass


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
        if run.totals:
            return RunReport(
                run, RunCounts.from_mapping(run.totals), RunCounts.from_mapping(run.totals).pages
            )
        checkpoint = self._runs.latest_checkpoint(self._base_id, run_id)
        counts = RunCounts.from_mapping(checkpoint.counts) if checkpoint else RunCounts()
        return RunReport(run, counts, checkpoint.page_number if checkpoint else 0)
