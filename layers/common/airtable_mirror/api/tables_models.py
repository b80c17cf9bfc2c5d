"""What GET /tables answers with (and what the OpenAPI document shows for it).

Loaded with the first /tables request or /docs, through records_models' lazy names: a cold start that
serves /records neither compiles nor defines these models.
"""

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from airtable_mirror.records_api.service import TableSummary


class FieldView(BaseModel):
    id: str
    name: str
    type: str


class LastSyncView(BaseModel):
    run_id: str
    status: str = Field(description="succeeded, failed or cancelled")
    finished_at: str


class TableView(BaseModel):
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
    tables: list[TableView]
