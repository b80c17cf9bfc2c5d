"""Client of the Airtable Web API (requests + tenacity); knows nothing of DynamoDB, SQS or HTTP events."""

from airtable_mirror.airtable.client import AirtableClient, ClientStats
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
