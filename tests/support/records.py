"""Builders for repository test data: observations with Airtable-shaped ids and times."""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from airtable_mirror.repository import JsonValue, RecordObservation

BASE_ID = "appTestBase000001"
TABLE_ID = "tblTestTable00001"
OTHER_TABLE_ID = "tblTestTable00002"
# 2024-05-01T12:00:00Z in microseconds: versions in tests are offsets from here.
VERSION_ORIGIN = 1_714_564_800_000_000


def version(seconds_after_origin: float) -> int:
    return VERSION_ORIGIN + round(seconds_after_origin * 1_000_000)


def record_id(number: int) -> str:
    return f"rec{number:014d}"


def created_time(seconds_after_origin: float) -> str:
    moment = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds_after_origin)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def observation(
    record: str,
    cells: Mapping[str, JsonValue] | None = None,
    *,
    at: float = 0.0,
    created_at: float = 0.0,
    base_id: str = BASE_ID,
    table_id: str = TABLE_ID,
) -> RecordObservation:
    """An observation of `record` made `at` seconds after VERSION_ORIGIN."""
    return RecordObservation(
        base_id=base_id,
        table_id=table_id,
        record_id=record,
        created_time=created_time(created_at),
        cells=dict(cells) if cells is not None else {"fldName": record},
        version=version(at),
    )
