"""A webhook's life: registration, the daily refresh, re-enabling notifications, repair.

Airtable webhooks created with a personal access token expire after 7 days unless refreshed (listing
payloads also extends them), stop pinging after a day of failed pings (notifications off; payloads
keep coming), and can be disabled for good (``isHookEnabled`` false, an error payload). The daily
maintenance therefore, for every webhook the mirror knows:

- refreshes it (another 7 days) and stores the new expiry;
- turns notifications back on if Airtable turned them off, and queues a drain for what was missed;
- **repairs** it if it is unhealthy, disabled, expired or gone: deletes it (if still there), creates a
  new one with the same URL and scope, stores its MAC secret and state, marks the old one replaced,
  and asks for a full sync of every table in scope to cover the gap between the two;
- deletes webhooks in Airtable that point at one of the mirror's URLs but that it does not know
  (left by a registration that failed halfway), since their pings could never be authenticated;
- retries the full syncs that are still pending.
"""

import contextlib
import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from airtable_mirror.airtable import AirtableClient, AirtableError, AirtableNotFound, WebhookInfo
from airtable_mirror.repository.timestamps import iso_from_seconds, micros_from_seconds
from airtable_mirror.repository.webhooks import WebhookRepository, WebhookState
from airtable_mirror.webhooks.drain_queue import DrainMessage, DrainQueue
from airtable_mirror.webhooks.full_syncs import FullSyncOutcome, FullSyncRequests
from airtable_mirror.webhooks.secrets import MacSecretStore

logger = Logger(child=True)

# Records, fields and table metadata of the whole base; the worker keeps the tables in scope. The
# payloads carry no cell values: the worker re-reads changed records (docs/webhooks.md).
DEFAULT_SPECIFICATION: Mapping[str, Any] = {
    "options": {"filters": {"dataTypes": ["tableData", "tableFields", "tableMetadata"]}}
}
REPAIR_STALE_SECONDS = 900.0


class WebhookNotFoundError(LookupError):
    pass


@dataclass(frozen=True)
class MaintenanceAction:
    webhook_id: str
    # refreshed, notifications_enabled, drain_queued, repaired, repair_skipped, failed, orphan_deleted
    action: str
    detail: str | None = None


@dataclass
class MaintenanceReport:
    actions: list[MaintenanceAction] = field(default_factory=list)
    full_syncs: list[FullSyncOutcome] = field(default_factory=list)

    def by_action(self, action: str) -> list[str]:
        return [item.webhook_id for item in self.actions if item.action == action]


class WebhookLifecycle:
    def __init__(
        self,
        *,
        base_id: str,
        client: AirtableClient,
        repository: WebhookRepository,
        secrets: MacSecretStore,
        full_syncs: FullSyncRequests | None = None,
        drain_queue: DrainQueue | None = None,
        clock: Callable[[], float] = time.time,
        repair_stale_seconds: float = REPAIR_STALE_SECONDS,
    ) -> None:
        self._base_id = base_id
        self._client = client
        self._repository = repository
        self._secrets = secrets
        self._full_syncs = full_syncs
        self._drain_queue = drain_queue
        self._clock = clock
        self._repair_stale_seconds = repair_stale_seconds

    # --- registration -----------------------------------------------------------------------

    def resolve_tables(self, references: Sequence[str]) -> list[str]:
        """Table ids for names, ids or case-insensitive names (one schema request)."""
        if not references:
            return []
        schema = self._client.get_base_schema()
        return list(dict.fromkeys(self._client.resolve_table(ref, schema=schema).id for ref in references))

    def register(
        self,
        notification_url: str | None,
        table_ids: Sequence[str] = (),
        *,
        specification: Mapping[str, Any] = DEFAULT_SPECIFICATION,
        start_full_syncs: bool = True,
    ) -> WebhookState:
        """Create a webhook in Airtable and keep its MAC secret and state (cursor 1).

        With ``start_full_syncs``, a full sync of every table in scope is asked for, so that changes
        made before the webhook existed reach the mirror too.
        """
        spec = copy.deepcopy(dict(specification))
        created = self._client.create_webhook(notification_url, spec)
        # The secret first: a ping that finds the state must find the secret.
        self._secrets.put(self._base_id, created.id, created.mac_secret_base64)
        state = WebhookState(
            base_id=self._base_id,
            webhook_id=created.id,
            cursor=1,
            notification_url=notification_url,
            table_ids=tuple(table_ids),
            specification=spec,
            created_at=iso_from_seconds(self._clock()),
            expiration_time=_iso(created.expiration_time),
        )
        self._repository.create(state)
        logger.info("webhook registered", webhook_id=created.id, tables=list(table_ids) or "all")
        if start_full_syncs:
            self._request_full_syncs(state, "webhook registered")
        return state

    def unregister(self, webhook_id: str) -> None:
        """Delete the webhook in Airtable (if still there), its secret and its state."""
        try:
            self._client.delete_webhook(webhook_id)
        except AirtableNotFound:
            logger.info("webhook already gone from Airtable", webhook_id=webhook_id)
        self._secrets.delete(self._base_id, webhook_id)
        self._repository.delete(self._base_id, webhook_id)

    # --- repair -----------------------------------------------------------------------------

    def repair(self, webhook_id: str, reason: str) -> WebhookState | None:
        """Recreate the webhook and ask for full syncs of its tables; None if it is unknown, already
        replaced, or being repaired by someone else right now."""
        old = self._repository.get(self._base_id, webhook_id, consistent_read=True)
        if old is None or old.health == "replaced":
            return None
        if not self._repository.begin_repair(
            self._base_id, webhook_id, now=self._clock(), stale_after_seconds=self._repair_stale_seconds
        ):
            logger.info("webhook repair already in progress", webhook_id=webhook_id)
            return None
        with contextlib.suppress(AirtableNotFound):
            self._client.delete_webhook(webhook_id)
        new = self.register(
            old.notification_url, old.table_ids, specification=old.specification, start_full_syncs=False
        )
        self._repository.mark_replaced(self._base_id, webhook_id, new.webhook_id, reason)
        self._secrets.delete(self._base_id, webhook_id)
        logger.warning(
            "webhook recreated", old_webhook_id=webhook_id, webhook_id=new.webhook_id, reason=reason
        )
        self._request_full_syncs(new, f"webhook {webhook_id} recreated ({reason})")
        return new

    # --- daily maintenance ------------------------------------------------------------------

    def maintain(self) -> MaintenanceReport:
        report = MaintenanceReport()
        listed = {info.id: info for info in self._client.list_webhooks()}
        every_state = self._repository.list_webhooks(self._base_id)
        live = [state for state in every_state if state.health != "replaced"]
        for state in live:
            try:
                report.actions.extend(self._maintain_one(state, listed.get(state.webhook_id)))
            except AirtableError as error:
                logger.error("webhook maintenance failed", webhook_id=state.webhook_id, reason=str(error))
                report.actions.append(MaintenanceAction(state.webhook_id, "failed", str(error)))
        report.actions.extend(self._delete_orphans(listed, every_state))
        if self._full_syncs is not None:
            report.full_syncs = self._full_syncs.retry_pending()
        return report

    def _maintain_one(self, state: WebhookState, info: WebhookInfo | None) -> list[MaintenanceAction]:
        problem = self._problem(state, info)
        if problem is not None:
            new = self.repair(state.webhook_id, problem)
            if new is None:
                return [MaintenanceAction(state.webhook_id, "repair_skipped", problem)]
            return [MaintenanceAction(state.webhook_id, "repaired", f"{problem}; now {new.webhook_id}")]
        assert info is not None
        actions = []
        expiration = self._client.refresh_webhook(state.webhook_id)
        self._repository.update_expiration(self._base_id, state.webhook_id, _iso(expiration))
        actions.append(MaintenanceAction(state.webhook_id, "refreshed", _iso(expiration)))
        if not info.are_notifications_enabled:
            self._client.enable_webhook_notifications(state.webhook_id, True)
            actions.append(MaintenanceAction(state.webhook_id, "notifications_enabled"))
        if self._drain_queue is not None:
            # Pings lost while notifications were off (or to a failing receiver) are caught up here.
            self._drain_queue.send(
                DrainMessage(
                    self._base_id,
                    state.webhook_id,
                    "maintenance",
                    f"maintenance-{state.webhook_id}-{int(self._clock())}",
                )
            )
            actions.append(MaintenanceAction(state.webhook_id, "drain_queued"))
        return actions

    def _problem(self, state: WebhookState, info: WebhookInfo | None) -> str | None:
        if state.health == "unhealthy":
            return state.health_reason or "marked unhealthy"
        if info is None:
            return "Airtable no longer has the webhook"
        if not info.is_hook_enabled:
            return "Airtable disabled the webhook"
        if info.expiration_time is not None and info.expiration_time.timestamp() <= self._clock():
            return "the webhook expired"
        return None

    def _delete_orphans(
        self, listed: Mapping[str, WebhookInfo], states: Sequence[WebhookState]
    ) -> list[MaintenanceAction]:
        known_ids = {state.webhook_id for state in states}
        our_urls = {state.notification_url for state in states if state.notification_url}
        actions = []
        for info in listed.values():
            if info.id in known_ids or info.notification_url not in our_urls:
                continue
            try:
                self._client.delete_webhook(info.id)
            except AirtableNotFound:
                continue
            logger.warning("deleted a webhook the mirror had no secret for", webhook_id=info.id)
            actions.append(MaintenanceAction(info.id, "orphan_deleted"))
        return actions

    # --- internals --------------------------------------------------------------------------

    def _request_full_syncs(self, state: WebhookState, reason: str) -> None:
        if self._full_syncs is None:
            return
        table_ids = list(state.table_ids) or [table.id for table in self._client.get_base_schema().tables]
        self._full_syncs.request(table_ids, reason=reason, after_version=micros_from_seconds(self._clock()))


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
