"""What GET /webhooks answers with."""

from pydantic import BaseModel, Field

from airtable_mirror.repository.timestamps import iso_from_micros
from airtable_mirror.repository.webhooks import PendingFullSync, WebhookState


class WebhookView(BaseModel):
    webhook_id: str
    health: str = Field(description="healthy, unhealthy (awaiting repair) or replaced")
    health_reason: str | None = None
    replaced_by: str | None = Field(default=None, description="the webhook that replaced this one")
    cursor: int = Field(description="number of the next Airtable payload to apply")
    expiration_time: str | None = Field(default=None, description="when Airtable expires the webhook")
    notification_url: str | None = None
    tables: list[str] = Field(description="table ids in scope; empty: every table of the base")
    created_at: str
    last_ping_at: str | None = Field(default=None, description="Airtable's timestamp of the last ping")
    last_ping_received_at: str | None = None
    pings_accepted: int
    last_drain_at: str | None = None
    payloads_applied: int
    draining: bool = Field(description="a worker holds the webhook right now")

    @classmethod
    def from_state(cls, state: WebhookState, now: float) -> "WebhookView":
        return cls(
            webhook_id=state.webhook_id,
            health=state.health,
            health_reason=state.health_reason,
            replaced_by=state.replaced_by,
            cursor=state.cursor,
            expiration_time=state.expiration_time,
            notification_url=state.notification_url,
            tables=list(state.table_ids),
            created_at=state.created_at,
            last_ping_at=state.last_ping_at,
            last_ping_received_at=state.last_ping_received_at,
            pings_accepted=state.pings_accepted,
            last_drain_at=state.last_drain_at,
            payloads_applied=state.payloads_applied,
            draining=state.lease_owner is not None
            and state.lease_expires_at is not None
            and state.lease_expires_at > now,
        )


class PendingFullSyncView(BaseModel):
    table_id: str
    needed_after: str = Field(description="a full sync that starts after this time must succeed")
    run_id: str | None = None
    requested_at: str | None = None
    reason: str | None = None

    @classmethod
    def from_pending(cls, pending: PendingFullSync) -> "PendingFullSyncView":
        return cls(
            table_id=pending.table_id,
            needed_after=iso_from_micros(pending.after_version),
            run_id=pending.run_id,
            requested_at=pending.requested_at,
            reason=pending.reason,
        )


class WebhooksView(BaseModel):
    base_id: str
    webhooks: list[WebhookView]
    pending_full_syncs: list[PendingFullSyncView]
