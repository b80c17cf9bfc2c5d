"""What the stack does to the mirror at start-up, through the shared package as the functions would:
register the webhook, finish runs a stop interrupted, and sync the tables that never were.

Runs in the stack's process after the functions' environment is applied (``airtable_mirror.runtime``
builds its clients from it).
"""

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from airtable_mirror import runtime
from airtable_mirror.airtable.errors import TableNotFound
from airtable_mirror.repository.models import SyncRun

logger = logging.getLogger("dev_stack.mirror")

INTERRUPTED_RUN_ERROR = "interrupted: the local stack stopped before the run finished"
RUN_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class WebhookOutcome:
    webhook_id: str
    registered: bool  # False: the webhook from an earlier start was still good
    removed: tuple[str, ...]  # webhooks of earlier starts that Airtable no longer has, or elsewhere

    def __str__(self) -> str:
        if self.registered:
            return f"registered {self.webhook_id}"
        return f"kept {self.webhook_id} from an earlier start"


def reconcile_webhook(notification_url: str) -> WebhookOutcome:
    """One healthy webhook of the base pinging ``notification_url``.

    A webhook kept from an earlier start stays if Airtable still has it, enabled, with this URL; any
    other one the mirror holds (the emulator restarted and forgot it, or it pings an old URL) is
    removed, and a new one registered. No full sync is asked for: the data on disk is kept as it is.
    """
    settings = runtime.settings()
    base_id = settings.airtable_base_id
    lifecycle = runtime.webhook_lifecycle()
    listed = {info.id: info for info in runtime.airtable_client().list_webhooks()}
    kept: str | None = None
    removed: list[str] = []
    for state in runtime.webhook_repository().list_webhooks(base_id):
        if state.health == "replaced":
            continue
        info = listed.get(state.webhook_id)
        if info is None:
            reason = "Airtable no longer has it"
        elif not info.is_hook_enabled or state.health != "healthy":
            reason = "it is disabled or unhealthy"
        elif state.notification_url != notification_url:
            reason = f"it pings {state.notification_url}"
        elif kept is not None:
            reason = f"{kept} already pings this URL"
        else:
            kept = state.webhook_id
            continue
        logger.info("removing webhook %s: %s", state.webhook_id, reason)
        lifecycle.unregister(state.webhook_id)
        removed.append(state.webhook_id)
    if kept is not None:
        return WebhookOutcome(kept, registered=False, removed=tuple(removed))
    state = lifecycle.register(notification_url, _sync_table_ids(), start_full_syncs=False)
    return WebhookOutcome(state.webhook_id, registered=True, removed=tuple(removed))


def _sync_table_ids() -> list[str]:
    """The ids of the SYNC_TABLES tables the base has (one schema request); none: every table."""
    settings = runtime.settings()
    client = runtime.airtable_client()
    schema = client.get_base_schema()
    table_ids: list[str] = []
    for reference in settings.sync_tables:
        try:
            table = client.resolve_table(
                settings.table_aliases.get(reference.lower(), reference), schema=schema
            )
        except TableNotFound as error:
            logger.warning("SYNC_TABLES names a table the base does not have: %s", error)
            continue
        table_ids.append(table.id)
    return list(dict.fromkeys(table_ids))


def fail_interrupted_runs() -> list[SyncRun]:
    """Runs left queued or running by the last stop: their messages were in the in-memory queues, so
    they can never finish. Each is marked failed (saying why) and its base lock released."""
    base_id = runtime.settings().airtable_base_id
    runs = runtime.sync_run_repository()
    interrupted = []
    for table in runtime.table_schema_repository().list_tables(base_id):
        run = runs.find_active_run(base_id, table.table_id)
        if run is None:
            continue
        runs.finish_run(base_id, run.run_id, "failed", run.totals, error=INTERRUPTED_RUN_ERROR)
        runs.release_base_lock(base_id, run.run_id)
        interrupted.append(run)
    return interrupted


def start_first_syncs(
    *, restart_table_ids: Iterable[str], start: bool = True
) -> tuple[list[dict[str, str]], list[SyncRun]]:
    """The SYNC_TABLES tables (name and id), and the runs started for those never synced (or whose
    run a stop interrupted); with ``start`` False, none are started."""
    settings = runtime.settings()
    service = runtime.sync_service()
    synced = {
        table.table_id
        for table in runtime.table_schema_repository().list_tables(settings.airtable_base_id)
        if table.last_sync is not None
    }
    restart = set(restart_table_ids)
    tables: list[dict[str, str]] = []
    started: list[SyncRun] = []
    for reference in settings.sync_tables:
        try:
            table = service.resolve_table(reference)
        except TableNotFound as error:
            logger.warning("SYNC_TABLES names a table the base does not have (set SYNC_TABLES): %s", error)
            continue
        tables.append({"name": table.name, "id": table.id})
        if not start or (table.id in synced and table.id not in restart):
            continue
        run = service.start_run(table.id)
        started.append(run.run)
        logger.info(
            "sync run %s of %s %s", run.run.run_id, table.name, "queued" if run.created else "already going"
        )
    return tables, started


def wait_for_runs(runs: Sequence[SyncRun], *, timeout: float) -> list[SyncRun]:
    """Wait until every run has finished or ``timeout`` passed; the runs still going."""
    repository = runtime.sync_run_repository()
    base_id = runtime.settings().airtable_base_id
    deadline = time.monotonic() + timeout
    pending = list(runs)
    while pending:
        still_going = []
        for run in pending:
            current = repository.get_run(base_id, run.run_id)
            if current is not None and current.active:
                still_going.append(run)
            elif current is not None:
                logger.info("sync run %s of %s %s", run.run_id, run.table_name, current.status)
        pending = still_going
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(RUN_POLL_SECONDS)
    return pending
