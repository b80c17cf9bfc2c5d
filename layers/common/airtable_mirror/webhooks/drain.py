"""Draining one webhook: claim it, fetch its payloads from the stored cursor, apply them, advance.

Strictly in order, per webhook:

1. **claim** the webhook's lease (a drain already holding it makes this one return ``busy``);
2. fetch payloads from the stored cursor, 50 a request, again while ``mightHaveMore``, until the
   batch names enough records (one batch is applied at a time, so re-reads of many small payloads
   share requests);
3. **apply** the batch (:class:`PayloadApplier`);
4. **advance** the cursor from the value read to the next one, conditionally on both the cursor and
   the lease (so no two drains both advance, and none skips a payload), renewing the lease;
5. repeat until Airtable has nothing more; the last advance also releases the lease.

A crash between 3 and 4 leaves the cursor where it was: the next drain applies the batch again, which
the mirror's conditional, versioned writes make harmless. A crash that leaves the lease held delays
the next drain until the lease expires; an ordinary error releases it at once.

Pings carry nothing and may be duplicated, coalesced or spurious: every drain simply takes whatever
is there. Error payloads (``INVALID_HOOK``, ``INVALID_FILTERS``, …) mark the webhook unhealthy and
end the drain with ``hook_error`` so the caller can repair it.
"""

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from airtable_mirror.airtable import AirtableClient, AirtableError
from airtable_mirror.airtable.client import MAX_PAYLOADS_PER_REQUEST
from airtable_mirror.repository.webhooks import ClaimStatus, WebhookRepository, WebhookState
from airtable_mirror.webhooks.applier import (
    ApplyCounts,
    PayloadApplier,
    is_error_payload,
    payload_record_count,
)
from airtable_mirror.webhooks.full_syncs import FullSyncOutcome, FullSyncRequests

logger = Logger(child=True)

DEFAULT_BATCH_RECORDS = 1000
DEFAULT_BATCH_PAYLOADS = 200


class DrainOutcome(StrEnum):
    DRAINED = "drained"  # everything Airtable had was applied (or the caller asked to stop early)
    BUSY = "busy"  # another drain holds the webhook
    UNKNOWN = "unknown"  # the mirror has no such webhook: nothing to do
    REPLACED = "replaced"  # the webhook was recreated under another id: nothing to do
    LOST_LEASE = "lost_lease"  # another drain took over after this one's lease expired
    HOOK_ERROR = "hook_error"  # Airtable sent an error payload: the webhook needs a repair


@dataclass
class DrainResult:
    outcome: DrainOutcome
    webhook_id: str
    cursor_from: int | None = None
    cursor_to: int | None = None
    more_left: bool = False  # stopped early (time short): drain again
    error_code: str | None = None
    requests: int = 0  # Airtable requests sent by this drain
    counts: ApplyCounts = field(default_factory=ApplyCounts)
    full_syncs: list[FullSyncOutcome] = field(default_factory=list)


@dataclass
class _Batch:
    payloads: list[Mapping[str, Any]]
    next_cursor: int
    might_have_more: bool
    gap: bool  # Airtable no longer had the first payloads asked for (kept one week)
    error_code: str | None = None


class WebhookDrainer:
    def __init__(
        self,
        *,
        base_id: str,
        client: AirtableClient,
        repository: WebhookRepository,
        applier: PayloadApplier,
        full_syncs: FullSyncRequests | None = None,
        lease_seconds: float = 120.0,
        lease_clock: Callable[[], float] = time.time,
        batch_records: int = DEFAULT_BATCH_RECORDS,
        batch_payloads: int = DEFAULT_BATCH_PAYLOADS,
        new_owner: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._base_id = base_id
        self._client = client
        self._repository = repository
        self._applier = applier
        self._full_syncs = full_syncs
        self._lease_seconds = lease_seconds
        self._lease_clock = lease_clock
        self._batch_records = batch_records
        self._batch_payloads = batch_payloads
        self._new_owner = new_owner

    def drain(self, webhook_id: str, *, should_stop: Callable[[], bool] = lambda: False) -> DrainResult:
        owner = self._new_owner()
        claim = self._repository.claim(
            self._base_id, webhook_id, owner, now=self._lease_clock(), lease_seconds=self._lease_seconds
        )
        if claim.status is ClaimStatus.UNKNOWN:
            logger.info("drain of a webhook the mirror does not know: nothing to do", webhook_id=webhook_id)
            return DrainResult(DrainOutcome.UNKNOWN, webhook_id)
        assert claim.state is not None
        if claim.status is ClaimStatus.BUSY:
            return DrainResult(DrainOutcome.BUSY, webhook_id, cursor_from=claim.state.cursor)
        state = claim.state
        if state.health == "replaced":
            self._repository.release(self._base_id, webhook_id, owner)
            return DrainResult(DrainOutcome.REPLACED, webhook_id, cursor_from=state.cursor)
        requests_before = self._client.stats.requests
        try:
            result = self._drain_claimed(state, owner, should_stop)
        except BaseException as error:
            # An ordinary error frees the webhook at once; a crash (the process dying) cannot, and
            # the lease then expires on its own.
            if isinstance(error, Exception):
                self._repository.release(self._base_id, webhook_id, owner)
            raise
        result.requests = self._client.stats.requests - requests_before
        if self._full_syncs is not None and result.outcome is not DrainOutcome.LOST_LEASE:
            try:
                result.full_syncs = self._full_syncs.retry_pending()
            except AirtableError as error:
                logger.warning("pending full syncs not started", reason=str(error))
        logger.info(
            "webhook drained",
            webhook_id=webhook_id,
            outcome=result.outcome.value,
            cursor_from=result.cursor_from,
            cursor_to=result.cursor_to,
            requests=result.requests,
            counts=result.counts.as_dict(),
        )
        return result

    def _drain_claimed(self, state: WebhookState, owner: str, should_stop: Callable[[], bool]) -> DrainResult:
        cursor = state.cursor
        result = DrainResult(DrainOutcome.DRAINED, state.webhook_id, cursor_from=cursor, cursor_to=cursor)
        while True:
            batch = self._fetch_batch(state.webhook_id, cursor)
            result.counts.add(self._applier.apply(state, batch.payloads))
            if batch.gap:
                logger.error(
                    "webhook payloads expired unread; asking for full syncs", webhook_id=state.webhook_id
                )
                self._request_full_syncs_for_gap(state)
            stop_early = batch.might_have_more and batch.error_code is None and should_stop()
            done = not batch.might_have_more or batch.error_code is not None or stop_early
            advanced = self._repository.advance_cursor(
                self._base_id,
                state.webhook_id,
                owner=owner,
                from_cursor=cursor,
                to_cursor=batch.next_cursor,
                payloads_applied=len(batch.payloads),
                release=done,
                lease_until=None if done else self._lease_clock() + self._lease_seconds,
            )
            if not advanced:
                logger.warning("webhook taken over by another drain", webhook_id=state.webhook_id)
                result.outcome = DrainOutcome.LOST_LEASE
                return result
            cursor = batch.next_cursor
            result.cursor_to = cursor
            if batch.error_code is not None:
                reason = f"Airtable sent an error payload: {batch.error_code}"
                self._repository.mark_unhealthy(self._base_id, state.webhook_id, reason)
                logger.error("webhook error payload", webhook_id=state.webhook_id, code=batch.error_code)
                result.outcome = DrainOutcome.HOOK_ERROR
                result.error_code = batch.error_code
                return result
            if done:
                result.more_left = stop_early
                return result

    def _fetch_batch(self, webhook_id: str, cursor: int) -> _Batch:
        """Payloads from ``cursor`` on, page after page, until Airtable has no more or the batch is big
        enough; stops at (and excludes) an error payload, whose number + 1 becomes the next cursor."""
        payloads: list[Mapping[str, Any]] = []
        records = 0
        gap = False
        request_cursor = cursor
        while True:
            page = self._client.list_webhook_payloads(webhook_id, request_cursor, MAX_PAYLOADS_PER_REQUEST)
            first_number = page.cursor - len(page.payloads)
            if page.payloads and first_number > request_cursor:
                gap = True
            for index, payload in enumerate(page.payloads):
                if is_error_payload(payload):
                    code = str(payload.get("code") or "UNKNOWN_ERROR")
                    return _Batch(payloads, first_number + index + 1, True, gap, error_code=code)
                payloads.append(payload)
                records += payload_record_count(payload)
            more = page.might_have_more and page.cursor > request_cursor
            if not more or records >= self._batch_records or len(payloads) >= self._batch_payloads:
                return _Batch(payloads, page.cursor, more, gap)
            request_cursor = page.cursor

    def _request_full_syncs_for_gap(self, state: WebhookState) -> None:
        table_ids = list(state.table_ids) or [table.id for table in self._client.get_base_schema().tables]
        self._applier.request_full_syncs(dict.fromkeys(table_ids, "webhook payloads expired unread"))
