"""What the sync API answers with."""

from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from airtable_mirror.repository import SyncRun
from airtable_mirror.sync.service import RunListing, RunReport


class RunCountsView(BaseModel):
    pages: int = Field(description="pages of up to 100 records copied")
    fetched: int = Field(description="records received from Airtable")
    written: int = Field(description="records whose content changed and was written")
    unchanged: int = Field(description="records identical to the mirror's copy: nothing written")
    stale: int = Field(description="records the mirror already had from a newer observation")
    deleted: int = Field(description="records tombstoned because Airtable no longer has them")
    failed: int = Field(description="records that could not be stored (see failures)")
    requests: int = Field(description="requests sent to Airtable")
    retries: int = Field(description="requests repeated after a 5xx, a timeout or a dropped connection")
    rate_limited: int = Field(description="429 answers received from Airtable")
    listing_restarts: int = Field(description="times the listing restarted after its iterator expired")


class RunFailureView(BaseModel):
    record_id: str
    reason: str


class SyncRunSummaryView(BaseModel):
    """A run as GET /sync/runs lists it: its failures are on GET /sync/runs/{run_id}."""

    run_id: str
    table_id: str
    table_name: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    counts: RunCountsView
    failures_total: int = Field(default=0, description="records not stored")
    error: str | None = Field(default=None, description="why the run failed as a whole")

    @classmethod
    def from_report(cls, report: RunReport) -> Self:
        return cls.from_run(report.run, RunCountsView.model_validate(report.counts.as_dict()))

    @classmethod
    def from_run(cls, run: SyncRun, counts: RunCountsView | None = None) -> Self:
        return cls.model_validate(cls._fields_of(run, counts))

    @staticmethod
    def _fields_of(run: SyncRun, counts: RunCountsView | None) -> dict[str, Any]:
        return {
            "run_id": run.run_id,
            "table_id": run.table_id,
            "table_name": run.table_name,
            "status": run.status,
            "created_at": run.created_at,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "counts": counts or RunCountsView.model_validate(dict.fromkeys(RunCountsView.model_fields, 0)),
            "failures_total": run.failures_total,
            "error": run.error,
        }


class SyncRunView(SyncRunSummaryView):
    """A run with the records it could not store (GET /sync/runs/{run_id}, POST /sync/{table})."""

    failures: list[RunFailureView] = Field(default_factory=list, description="records not stored (first 100)")

    @classmethod
    def from_run(cls, run: SyncRun, counts: RunCountsView | None = None) -> Self:
        failures = [RunFailureView(record_id=f.record_id, reason=f.reason) for f in run.failures]
        return cls.model_validate(cls._fields_of(run, counts) | {"failures": failures})


class SyncRunsView(BaseModel):
    runs: list[SyncRunSummaryView] = Field(description="newest first")
    next_cursor: str | None = Field(
        default=None, description="pass as cursor (with the same table) for older runs; null: no more"
    )

    @classmethod
    def from_listing(cls, listing: RunListing) -> "SyncRunsView":
        return cls(
            runs=[SyncRunSummaryView.from_report(report) for report in listing.reports],
            next_cursor=listing.next_cursor,
        )
