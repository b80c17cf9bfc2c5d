"""The seed project's push format, for Airtable automation scripts that push changes themselves.

    {"event": "update", "timestamp": "2025-12-04T11:07:28.526Z",
     "payload": {"changedTablesById": {"tbl…": {
         "addedRecords":   [{"id": "rec…", "current": {"Name": "John"}, "createdTime"?: "…"}],
         "updatedRecords": [{"id": "rec…", "current": {"Status": "Done"}}],
         "deletedRecords": ["rec…"]}}}}

Fields are keyed by name (field ids are accepted too) and mapped to ids with the stored table schema.
Values are stored in Airtable's REST format; the object forms automation scripts read (a select's
``{id, name, color}``, a link's ``{id, name}``) are reduced to it, and empty values (``null``, ``""``,
``[]``, ``false``) mean a cleared cell, as REST omits them.

The push's ``timestamp`` is the version of everything in it, under the mirror's usual rule (an older
observation never overwrites a newer one): replaying a push changes nothing. A timestamp more than
five minutes ahead of our clock is refused, since it would shut out every later write until then.
``updatedRecords`` carry only the changed fields: they are merged onto the stored record; an update
of a record the mirror does not have is skipped (reported), as its other fields are unknown.

Everything is validated before anything is written; a rejected push changes nothing.
"""

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from airtable_mirror.repository import JsonValue, RecordObservation, RecordRepository
from airtable_mirror.repository.table_schemas import StoredTable, TableSchemaRepository
from airtable_mirror.repository.timestamps import micros_from_seconds, normalize_created_time

MAX_FUTURE_SECONDS = 300.0
_RECORD_ID = r"^rec[A-Za-z0-9]{14}$"
_TABLE_ID = re.compile(r"tbl[A-Za-z0-9]{14}")


class PushRejectedError(ValueError):
    """A push that cannot be applied; nothing was written."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _PushedRecord(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(pattern=_RECORD_ID)
    current: dict[str, Any] | None = None
    fields: dict[str, Any] | None = None
    created_time: str | None = Field(default=None, alias="createdTime")

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.current if self.current is not None else self.fields or {})


class _DeletedRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=_RECORD_ID)


class _PushedTable(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    added: list[_PushedRecord] = Field(default_factory=list, alias="addedRecords")
    updated: list[_PushedRecord] = Field(default_factory=list, alias="updatedRecords")
    deleted: list[str | _DeletedRecord] = Field(default_factory=list, alias="deletedRecords")

    @field_validator("deleted")
    @classmethod
    def _record_ids(cls, values: list[str | _DeletedRecord]) -> list[str | _DeletedRecord]:
        for value in values:
            if isinstance(value, str) and not re.fullmatch(_RECORD_ID, value):
                raise ValueError(f"{value!r} is not a record id")
        return values

    def deleted_ids(self) -> list[str]:
        return [value if isinstance(value, str) else value.id for value in self.deleted]


class _PushPayload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    changed_tables_by_id: dict[str, _PushedTable] = Field(alias="changedTablesById")


class _Push(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: str
    timestamp: datetime
    payload: _PushPayload

    @field_validator("timestamp")
    @classmethod
    def _with_zone(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("the timestamp needs a time zone (e.g. a trailing Z)")
        return value


@dataclass
class PushResult:
    written: int = 0
    unchanged: int = 0
    stale: int = 0
    deleted: int = 0
    skipped_unknown: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def looks_like_push(document: Mapping[str, Any]) -> bool:
    return "payload" in document and "webhook" not in document


def to_rest_value(field_type: str, value: Any) -> Any:
    """A pushed value in REST form; None for an empty (cleared) cell."""
    if value is None or value is False or (isinstance(value, str | list | dict) and not value):
        return None
    if field_type in {"singleSelect", "externalSyncSource"} and isinstance(value, dict) and "name" in value:
        return value["name"]
    if field_type == "multipleSelects" and isinstance(value, list):
        return [item["name"] if isinstance(item, dict) and "name" in item else item for item in value]
    if field_type == "multipleRecordLinks" and isinstance(value, list):
        return [item["id"] if isinstance(item, dict) and "id" in item else item for item in value]
    return value


class PushApplier:
    def __init__(
        self,
        *,
        base_id: str,
        records: RecordRepository,
        schemas: TableSchemaRepository,
        clock: Callable[[], float] = time.time,
        max_future_seconds: float = MAX_FUTURE_SECONDS,
    ) -> None:
        self._base_id = base_id
        self._records = records
        self._schemas = schemas
        self._clock = clock
        self._max_future_seconds = max_future_seconds

    def apply(self, document: Mapping[str, Any]) -> PushResult:
        push = self._parse(document)
        version = micros_from_seconds(push.timestamp.timestamp())
        if push.timestamp.timestamp() > self._clock() + self._max_future_seconds:
            raise PushRejectedError(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                "TIMESTAMP_IN_FUTURE",
                f"the push timestamp is more than {self._max_future_seconds:g} s ahead of the mirror's clock",
            )
        timestamp_iso = _iso_millis(push.timestamp)
        tables = {table_id: self._table(table_id) for table_id in push.payload.changed_tables_by_id}
        prepared = {
            table_id: (
                [(record, self._cells(tables[table_id], record)) for record in table.added],
                [(record, self._cells(tables[table_id], record)) for record in table.updated],
                table.deleted_ids(),
            )
            for table_id, table in push.payload.changed_tables_by_id.items()
        }
        for added, _, _ in prepared.values():
            for record, _ in added:
                if record.created_time is not None:
                    _check_created_time(record.created_time)
        result = PushResult()
        for table_id, (added, updated, deleted) in prepared.items():
            for record, cells in added:
                self._add(table_id, record, cells, version, timestamp_iso, result)
            for record, cells in updated:
                self._update(table_id, record, cells, version, result)
            for record_id in deleted:
                outcome = self._records.delete(self._base_id, table_id, record_id, version)
                if outcome.status == "written":
                    result.deleted += 1
                else:
                    result.stale += 1
        return result

    # --- validation -------------------------------------------------------------------------

    @staticmethod
    def _parse(document: Mapping[str, Any]) -> _Push:
        try:
            return _Push.model_validate(document)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
                for problem in error.errors(include_url=False, include_input=False)[:5]
            )
            raise PushRejectedError(HTTPStatus.BAD_REQUEST, "INVALID_PUSH", problems) from None

    def _table(self, table_id: str) -> StoredTable:
        if not _TABLE_ID.fullmatch(table_id):
            raise PushRejectedError(
                HTTPStatus.BAD_REQUEST, "INVALID_PUSH", f"{table_id[:40]!r} is not a table id (tbl…)"
            )
        table = self._schemas.get_table(self._base_id, table_id)
        if table is None:
            raise PushRejectedError(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                "UNKNOWN_TABLE",
                f"the mirror has no schema for table {table_id}: sync it once first",
            )
        return table

    @staticmethod
    def _cells(table: StoredTable, record: _PushedRecord) -> dict[str, Any]:
        """Pushed values by field id (None: cleared); unknown field names reject the whole push."""
        by_name = {stored.name: stored for stored in table.fields}
        by_id = {stored.id: stored for stored in table.fields}
        cells: dict[str, Any] = {}
        unknown = []
        for key, value in record.values.items():
            stored = by_id.get(key) or by_name.get(key)
            if stored is None:
                unknown.append(key)
                continue
            cells[stored.id] = to_rest_value(stored.type, value)
        if unknown:
            shown = ", ".join(repr(name) for name in unknown[:10])
            raise PushRejectedError(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                "UNKNOWN_FIELDS",
                f"table {table.table_id} has no field named {shown}",
            )
        return cells

    # --- writes -----------------------------------------------------------------------------

    def _add(
        self,
        table_id: str,
        record: _PushedRecord,
        cells: Mapping[str, Any],
        version: int,
        timestamp_iso: str,
        result: PushResult,
    ) -> None:
        created_time = record.created_time
        if created_time is None:
            stored = self._records.get(self._base_id, record.id)
            # Without Airtable's createdTime, the push's own time is the closest we know.
            created_time = stored.created_time if stored and stored.created_time else timestamp_iso
        values: dict[str, JsonValue] = {key: value for key, value in cells.items() if value is not None}
        self._count(self._upsert(table_id, record.id, created_time, values, version), result)

    def _update(
        self, table_id: str, record: _PushedRecord, cells: Mapping[str, Any], version: int, result: PushResult
    ) -> None:
        stored = self._records.get(self._base_id, record.id, include_deleted=True, consistent_read=True)
        if stored is None or stored.table_id != table_id or stored.created_time is None:
            result.skipped_unknown += 1
            return
        if stored.deleted or stored.version >= version:
            result.stale += 1
            return
        merged: dict[str, JsonValue] = dict(stored.cells)
        for field_id, value in cells.items():
            if value is None:
                merged.pop(field_id, None)
            else:
                merged[field_id] = value
        self._count(self._upsert(table_id, record.id, stored.created_time, merged, version), result)

    def _upsert(
        self, table_id: str, record_id: str, created_time: str, cells: dict[str, JsonValue], version: int
    ) -> str:
        observation = RecordObservation(
            base_id=self._base_id,
            table_id=table_id,
            record_id=record_id,
            created_time=created_time,
            cells=cells,
            version=version,
        )
        return self._records.upsert(observation).status

    @staticmethod
    def _count(status: str, result: PushResult) -> None:
        if status == "written":
            result.written += 1
        elif status == "unchanged":
            result.unchanged += 1
        else:
            result.stale += 1


def _check_created_time(created_time: str) -> None:
    try:
        normalize_created_time(created_time)
    except ValueError as error:
        raise PushRejectedError(
            HTTPStatus.BAD_REQUEST, "INVALID_PUSH", f"createdTime {created_time[:40]!r}: {error}"
        ) from None


def _iso_millis(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
