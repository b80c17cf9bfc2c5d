"""Client of the Airtable Web API (requests + tenacity); knows nothing of DynamoDB, SQS or HTTP events."""

from typing import TYPE_CHECKING, Any

from airtable_mirror.airtable.errors import (
    AirtableAuthError,
    AirtableError,
    AirtableNotFound,
    AirtableRequestError,
    AirtableUnavailable,
    BillingLimitExceeded,
    IteratorExpired,
    RateLimitedTooOften,
    TableNotFound,
    UnexpectedResponse,
)
from airtable_mirror.airtable.models import (
    AirtableRecord,
    BaseSchema,
    CreatedWebhook,
    FieldSchema,
    NotificationResult,
    PayloadPage,
    RecordPage,
    TableSchema,
    ViewSchema,
    WebhookInfo,
)
from airtable_mirror.airtable.pacing import LocalPacer, Pacer

if TYPE_CHECKING:
    from airtable_mirror.airtable.client import AirtableClient, ClientStats


def __getattr__(name: str) -> Any:
    # The client (requests, tenacity) loads on first use: a handler that only maps Airtable's errors
    # (the records API) does not pay for it at cold start.
    if name in {"AirtableClient", "ClientStats"}:
        from airtable_mirror.airtable import client  # noqa: PLC0415

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AirtableAuthError",
    "AirtableClient",
    "AirtableError",
    "AirtableNotFound",
    "AirtableRecord",
    "AirtableRequestError",
    "AirtableUnavailable",
    "BaseSchema",
    "BillingLimitExceeded",
    "ClientStats",
    "CreatedWebhook",
    "FieldSchema",
    "IteratorExpired",
    "LocalPacer",
    "NotificationResult",
    "Pacer",
    "PayloadPage",
    "RateLimitedTooOften",
    "RecordPage",
    "TableNotFound",
    "TableSchema",
    "UnexpectedResponse",
    "ViewSchema",
    "WebhookInfo",
]
