"""Pydantic models of the Airtable responses the client returns.

Attribute names are snake_case; Airtable's camelCase keys are accepted as aliases. Unknown keys are
ignored (Airtable adds keys without notice) and open-ended strings, such as field types, stay plain
strings so that a new field type never breaks parsing.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel


class AirtableModel(BaseModel):
    """Base of every response model: camelCase aliases, unknown keys ignored, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


class FieldSchema(AirtableModel):
    id: str
    name: str
    type: str
    options: dict[str, Any] | None = None
    description: str | None = None


class ViewSchema(AirtableModel):
    id: str
    name: str
    type: str
    visible_field_ids: list[str] | None = None


class TableSchema(AirtableModel):
    id: str
    name: str
    primary_field_id: str
    fields: list[FieldSchema]
    views: list[ViewSchema] = Field(default_factory=list)
    description: str | None = None


class BaseSchema(AirtableModel):
    tables: list[TableSchema]


class AirtableRecord(AirtableModel):
    """One record as listed by Airtable (REST cell format).

    ``fields`` is keyed by field id or name depending on ``returnFieldsByFieldId``; empty cells are
    absent. ``created_time_iso`` is Airtable's ``createdTime`` string exactly as received (sortable,
    millisecond precision), ``created_time`` the same instant parsed.
    """

    id: str
    created_time: datetime
    created_time_iso: str
    fields: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _keep_created_time_string(cls, data: Any) -> Any:
        if isinstance(data, dict) and "createdTimeIso" not in data and "created_time_iso" not in data:
            created = data.get("createdTime", data.get("created_time"))
            if isinstance(created, str):
                return {**data, "createdTimeIso": created}
        return data


class RecordPage(AirtableModel):
    """One page of a listing. ``offset`` is ``None`` on the last page.

    ``after_restart`` is set by :meth:`AirtableClient.iter_record_pages` on the first page it yields after
    restarting an expired listing from the beginning: records yielded before may come again.
    """

    records: list[AirtableRecord]
    offset: str | None = None
    after_restart: bool = False

    @field_validator("offset")
    @classmethod
    def _empty_offset_means_last_page(cls, offset: str | None) -> str | None:
        return offset or None


class CreatedWebhook(AirtableModel):
    """The answer to webhook creation; the MAC secret is only ever returned here (kept out of repr)."""

    id: str
    mac_secret_base64: str = Field(repr=False)
    expiration_time: datetime | None = None


class NotificationResult(AirtableModel):
    success: bool
    error: dict[str, Any] | None = None
    completion_timestamp: datetime | None = None
    duration_ms: float | None = None
    retry_number: int | None = None
    will_be_retried: bool | None = None


class WebhookInfo(AirtableModel):
    id: str
    are_notifications_enabled: bool
    cursor_for_next_payload: int
    is_hook_enabled: bool
    notification_url: str | None = None
    expiration_time: datetime | None = None
    last_successful_notification_time: datetime | None = None
    last_notification_result: NotificationResult | None = None
    specification: dict[str, Any] = Field(default_factory=dict)


class PayloadPage(AirtableModel):
    """A page of webhook payloads. ``cursor`` is the number of the next payload to ask for; payloads
    stay raw dicts (V2 cell format) for the webhook worker to interpret."""

    cursor: int
    might_have_more: bool
    payloads: list[dict[str, Any]]
