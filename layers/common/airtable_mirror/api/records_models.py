"""What the records API answers with (and what its OpenAPI document shows).

The record models are built at import: the first /records request needs them (powertools validates
the response against them), so deferring theirs would only move the cost. The rest is not built by a
cold start that serves /records:
- the /tables models live in api/tables_models.py, which loads when one of their names is first
  read from this module (`__getattr__` below): with the first /tables request or /docs;
- the error body is built on its first use (`defer_build`), which is the OpenAPI document's: errors
  are written by api/errors.py, never validated against it (powertools' TypeAdapters for the routes'
  documented responses defer to the model's own setting).
"""

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from airtable_mirror.api.tables_models import FieldView, LastSyncView, TablesView, TableView
    from airtable_mirror.records_api.query import RecordQuery
    from airtable_mirror.records_api.service import NamedRecord, RecordListing

__all__ = [
    "ErrorBody",
    "ErrorDetail",
    "FieldView",
    "LastSyncView",
    "MirrorMetadata",
    "RecordPageView",
    "RecordView",
    "TableRef",
    "TableView",
    "TablesView",
]
_TABLES_MODELS = ("FieldView", "LastSyncView", "TableView", "TablesView")


class TableRef(BaseModel):
    id: str = Field(description="Airtable table id (tbl…)")
    name: str = Field(description="the table's current name")


class MirrorMetadata(BaseModel):
    changed_at: str | None = Field(
        description="when the record's content last changed, as the mirror observed it (ISO 8601, UTC)"
    )
    synced_at: str | None = Field(description="when the mirror last wrote or confirmed the record")
    version: int = Field(description="microseconds since the epoch of the observation the mirror holds")


class RecordView(BaseModel):
    id: str = Field(description="Airtable record id (rec…)")
    table: TableRef
    createdTime: str = Field(description="when the record was created in Airtable")
    fields: dict[str, Any] = Field(
        description="cell values keyed by the field's current name, in Airtable's REST value formats; "
        "empty cells are left out, as Airtable does"
    )
    mirror: MirrorMetadata

    @classmethod
    def from_named(cls, record: "NamedRecord") -> "RecordView":
        return cls(
            id=record.record_id,
            table=TableRef(id=record.table_id, name=record.table_name),
            createdTime=record.created_time,
            fields=record.fields,
            mirror=MirrorMetadata(
                changed_at=record.changed_at, synced_at=record.synced_at, version=record.version
            ),
        )


class RecordPageView(BaseModel):
    table: TableRef
    records: list[RecordView]
    count: int = Field(description="records in this page")
    next_cursor: str | None = Field(
        description="pass as `cursor` (with the same other parameters) for the next page; null at the "
        "end. A filtered page can hold fewer than `limit` records (even none) and still have a "
        "next_cursor: it stops after examining 5 x limit records"
    )
    limit: int
    skip: int
    sort_by: Literal["created_at", "changed_at"]
    sort_order: Literal["asc", "desc"]

    @classmethod
    def from_listing(cls, listing: "RecordListing", query: "RecordQuery") -> "RecordPageView":
        records = [RecordView.from_named(record) for record in listing.records]
        return cls.model_validate(
            {
                "table": TableRef(id=listing.table.table_id, name=listing.table.name),
                "records": records,
                "count": len(records),
                "next_cursor": listing.next_cursor,
                "limit": query.limit,
                "skip": query.skip,
                "sort_by": query.sort_by,
                "sort_order": query.sort_order,
            }
        )


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    code: str = Field(description="stable, machine-readable: INVALID_REQUEST, TABLE_NOT_FOUND, …")
    message: str = Field(description="what was wrong, naming the parameter at fault")


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    error: ErrorDetail


def __getattr__(name: str) -> object:
    if name not in _TABLES_MODELS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from airtable_mirror.api import tables_models  # noqa: PLC0415 - on first use, see above

    value = getattr(tables_models, name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value
