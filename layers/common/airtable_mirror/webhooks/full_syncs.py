"""Full syncs a webhook calls for, kept until one has succeeded.

Some changes reach records without naming them in a payload: a deleted field's values vanish from
every record, a new computed field (autoNumber, createdTime, …) gains a value in every record, a
field's type change converts every value; and a webhook that was recreated, or whose oldest payloads
expired unread, has a gap no payload covers. For each such table the worker records a request, "a
full sync that starts after version V" (V: when the change was seen, our clock), and the request is
cleared only once a run of the table that started after V has **succeeded**. A run already going when
the change was seen (started before V) does not count: the request waits for it to end, and then
starts another. Requests are retried after every drain and by the daily maintenance.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools import Logger

from airtable_mirror.airtable import AirtableError, AirtableNotFound
from airtable_mirror.repository import SyncRunRepository
from airtable_mirror.repository.timestamps import micros_from_seconds
from airtable_mirror.repository.webhooks import PendingFullSync, WebhookRepository
from airtable_mirror.sync.service import InvalidTableReferenceError, QueueUnavailableError, StartedRun

logger = Logger(child=True)

FullSyncStatus = Literal["started", "running", "waiting", "done", "table_gone", "not_started"]


@dataclass(frozen=True)
class FullSyncOutcome:
    table_id: str
    status: FullSyncStatus
    run_id: str | None = None
    detail: str | None = None


class FullSyncRequests:
    """Records and starts the full syncs of one base that webhooks call for."""

    def __init__(
        self,
        *,
        base_id: str,
        repository: WebhookRepository,
        runs: SyncRunRepository,
        start_run: Callable[[str], StartedRun],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._base_id = base_id
        self._repository = repository
        self._runs = runs
        self._start_run = start_run
        self._clock = clock

    def request(
        self, table_ids: Iterable[str], *, reason: str, after_version: int | None = None
    ) -> list[FullSyncOutcome]:
        """Ask for a full sync of each table starting after ``after_version`` (default: now), then try
        to start the pending ones."""
        after = after_version if after_version is not None else micros_from_seconds(self._clock())
        for table_id in dict.fromkeys(table_ids):
            self._repository.request_full_sync(self._base_id, table_id, after, reason)
            logger.info("full sync requested", table_id=table_id, reason=reason, after_version=after)
        return self.retry_pending()

    def pending(self) -> list[PendingFullSync]:
        return self._repository.pending_full_syncs(self._base_id)

    def retry_pending(self) -> list[FullSyncOutcome]:
        return [self._advance(request) for request in self.pending()]

    def _advance(self, request: PendingFullSync) -> FullSyncOutcome:
        if request.run_id is not None:
            run = self._runs.get_run(self._base_id, request.run_id)
            if run is not None and run.active:
                return FullSyncOutcome(request.table_id, "running", run.run_id)
            if run is not None and run.status == "succeeded":
                self._repository.clear_full_sync(self._base_id, request.table_id, request.after_version)
                return FullSyncOutcome(request.table_id, "done", run.run_id)
            # Failed, cancelled, or expired from the table: start another.
        try:
            started = self._start_run(request.table_id)
        except AirtableNotFound as error:
            # The table is gone from Airtable: nothing is left to sync.
            self._repository.clear_full_sync(self._base_id, request.table_id, request.after_version)
            return FullSyncOutcome(request.table_id, "table_gone", detail=str(error))
        except (AirtableError, QueueUnavailableError, InvalidTableReferenceError) as error:
            logger.warning("requested full sync not started", table_id=request.table_id, reason=str(error))
            return FullSyncOutcome(request.table_id, "not_started", detail=str(error))
        run = started.run
        if run.version_at_start <= request.after_version:
            # A run that began before the change was seen may have copied pages from before it.
            return FullSyncOutcome(request.table_id, "waiting", run.run_id, "an older run is still going")
        self._repository.attach_full_sync_run(
            self._base_id, request.table_id, request.after_version, run.run_id
        )
        return FullSyncOutcome(request.table_id, "started" if started.created else "running", run.run_id)
