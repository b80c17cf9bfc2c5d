"""What the records API answers with (and what its OpenAPI document shows).

The /tables models are built on their first use (`defer_build`): a cold start that serves /records
does not build them. The record models are needed by the first /records request (powertools
validates the response against them), so deferring theirs would only move the cost.
"""

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from airtable_mirror.records_api.query import RecordQuery
    from airtable_mirror.records_api.service import NamedRecord, RecordListing, TableSummary


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


BUILT_ON_FIRST_USE = ConfigDict(defer_build=True)


class FieldView(BaseModel):
    model_config = BUILT_ON_FIRST_USE

    id: str
    name: str
    type: str


class LastSyncView(BaseModel):
    model_config = BUILT_ON_FIRST_USE

    run_id: str
    status: str = Field(description="succeeded, failed or cancelled")
    finished_at: str


class TableView(BaseModel):
    model_config = BUILT_ON_FIRST_USE

    id: str
    name: str
    record_count: int | None = Field(
        description="live records when the last sync finished (exact then; webhook changes since are "
        "not counted until the next sync); null before a clean, successful sync"
    )
    last_sync: LastSyncView | None
    fields: list[FieldView]

    @classmethod
    def from_summary(cls, summary: "TableSummary") -> "TableView":
        table, last = summary.table, summary.table.last_sync
        return cls(
            id=table.table_id,
            name=table.name,
            record_count=summary.record_count,
            last_sync=None
            if last is None
            else LastSyncView(run_id=last.run_id, status=last.status, finished_at=last.finished_at),
            fields=[FieldView(id=f.id, name=f.name, type=f.type) for f in table.fields],
        )


class TablesView(BaseModel):
    model_config = BUILT_ON_FIRST_USE

    tables: list[TableView]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="stable, machine-readable: INVALID_REQUEST, TABLE_NOT_FOUND, …")
    message: str = Field(description="what was wrong, naming the parameter at fault")


class ErrorBody(BaseModel):
    error: ErrorDetail
