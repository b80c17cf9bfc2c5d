"""The records query service: mirrored records by table, in created or last-change order, a page at a
time, at a cost proportional to the page.

Every listing is a Query on one of the two record indexes (`by_created`, `by_changed`; keys only),
then a BatchGetItem of the page's items (RecordRepository.query_page). Nothing here scans, and
nothing reads more than a bounded number of index entries and items per call:

- a page of L records reads L index entries and L items, wherever the cursor points;
- `skip` walks `skip` index entries (keys only) before the page, so it costs what it skips, and is
  capped at MAX_SKIP;
- a filtered page reads at most EXAMINE_FACTOR x L entries and items, in at most MAX_ROUNDS
  rounds, and returns `next_cursor` to continue even when it found fewer than L matches;
- a created-time range starts the `by_created` read where the range starts and stops where it ends
  (in created order), so it narrows the read instead of filtering it.

Field names come from the table's stored schema (TableSchemaRepository): renaming a field changes
one schema item and no record, and a field no longer in the schema is not shown.
"""

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple

from airtable_mirror.records_api.cursor import CursorCodec, CursorPosition
from airtable_mirror.records_api.errors import InvalidQueryError, RecordNotFoundError, TableNotFoundError
from airtable_mirror.records_api.filters import FieldFilter
from airtable_mirror.records_api.query import (
    CONTROL_CHARACTERS,
    EXAMINE_FACTOR,
    MAX_LIMIT,
    MAX_SKIP,
    MAX_TABLE_REFERENCE_LENGTH,
    RECORD_ID_PATTERN,
    RecordQuery,
)
from airtable_mirror.repository.attribute_values import JsonValue
from airtable_mirror.repository.keys import (
    INDEX_SORT_KEYS,
    PARTITION_KEY,
    SORT_KEY,
    TABLE_KEY,
    table_key,
)
from airtable_mirror.repository.models import StoredRecord
from airtable_mirror.repository.record_index import INDEXES, RecordIndex
from airtable_mirror.repository.records import RecordRepository
from airtable_mirror.repository.table_schemas import StoredTable, TableSchemaRepository
from airtable_mirror.repository.timestamps import normalize_created_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    type IndexKey = dict[str, AttributeValueTypeDef]

SORT_ORDERS: dict[str, Literal["created", "changed"]] = {"created_at": "created", "changed_at": "changed"}
MAX_ROUNDS = 8

_RECORD_ID = re.compile(RECORD_ID_PATTERN)
_CONTROL_CHARACTERS = re.compile(f"[{CONTROL_CHARACTERS}]")
_EARLIEST = "0001-01-01T00:00:00.000Z"
_LATEST = "9999-12-31T23:59:59.999Z"


class NamedRecord(NamedTuple):
    """A record with its fields keyed by their current names."""

    record_id: str
    table_id: str
    table_name: str
    created_time: str
    fields: dict[str, JsonValue]
    changed_at: str | None
    synced_at: str | None
    version: int


class RecordListing(NamedTuple):
    table: StoredTable
    records: list[NamedRecord]
    next_cursor: str | None
    examined: int  # index entries read for this page (and its skip)


class TableSummary(NamedTuple):
    table: StoredTable
    record_count: int | None  # live records at the end of the last sync; None without a clean one


class RecordsQueryService:
    def __init__(
        self,
        *,
        base_id: str,
        records: RecordRepository,
        index: RecordIndex,
        schemas: TableSchemaRepository,
        cursors: CursorCodec,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self._base_id = base_id
        self._records = records
        self._index = index
        self._schemas = schemas
        self._cursors = cursors
        self._aliases = {alias.lower(): target for alias, target in (aliases or {}).items()}

    # Tables

    def list_tables(self) -> list[TableSummary]:
        """Every mirrored table (one Query on the schema partition; records are not counted)."""
        return [
            TableSummary(table, _record_count(table))
            for table in sorted(self._schemas.list_tables(self._base_id), key=lambda t: t.name.lower())
        ]

    def resolve_table(self, reference: str, *, parameter: str = "table_name") -> StoredTable:
        """A mirrored table by alias, `tbl…` id or name (exact, else case-insensitive if unique)."""
        reference = _checked_reference(reference, parameter)
        target = self._aliases.get(reference.lower(), reference)
        tables = self._schemas.list_tables(self._base_id)
        for candidates in (
            [t for t in tables if t.table_id == target],
            [t for t in tables if t.name == target],
            [t for t in tables if t.name.lower() == target.lower()],
        ):
            if len(candidates) == 1:
                return candidates[0]
        raise TableNotFoundError(
            f"no mirrored table answers to {reference!r} (a name, a tbl… id or an alias; "
            "GET /tables lists them; a table appears once it has been synced)"
        )

    def resolve_alias(self, alias: str) -> StoredTable:
        """The table a configured alias (`people`, `tasks`: the TableAliases parameter) points to."""
        if alias.lower() not in self._aliases:
            raise TableNotFoundError(f"the alias {alias!r} is not configured (TableAliases)")
        return self.resolve_table(alias)

    # Records

    def get_record(self, record_id: str) -> NamedRecord:
        """One live record: a GetItem, and a GetItem of its table's schema for the field names."""
        if _RECORD_ID.fullmatch(record_id) is None:
            raise InvalidQueryError("record_id", "a record id is rec followed by 14 letters or digits")
        record = self._records.get(self._base_id, record_id)
        if record is None:
            raise RecordNotFoundError(f"no record {record_id} in the mirror (unknown or deleted)")
        table = self._schemas.get_table(self._base_id, record.table_id)
        return _named(record, table)

    def list_records(self, table: StoredTable, query: RecordQuery) -> RecordListing:
        plan = self._plan(table, query)
        if plan.skip:
            skipped_to = self._index.skip(
                self._base_id,
                table.table_id,
                order=plan.order,
                descending=plan.descending,
                count=plan.skip,
                exclusive_start=plan.start,
            )
            if skipped_to is None:
                return RecordListing(table, [], None, plan.skip)
            plan.start = skipped_to
        return self._read(table, plan, query.limit)

    # Internals

    def _plan(self, table: StoredTable, query: RecordQuery) -> "_Plan":
        if isinstance(query.limit, bool) or not 1 <= query.limit <= MAX_LIMIT:
            raise InvalidQueryError("limit", f"must be within 1..{MAX_LIMIT}")
        if query.sort_by not in SORT_ORDERS:
            raise InvalidQueryError("sort_by", f"must be one of {', '.join(SORT_ORDERS)}")
        if query.sort_order not in ("asc", "desc"):
            raise InvalidQueryError("sort_order", "must be asc or desc")
        if not 0 <= query.skip <= MAX_SKIP:
            raise InvalidQueryError(
                "skip", f"must be within 0..{MAX_SKIP}: skip reads every entry it passes; use cursor"
            )
        order = SORT_ORDERS[query.sort_by]
        descending = query.sort_order == "desc"
        filters = _field_filters(table, query.filters)
        after = None if query.created_after is None else _moment(query.created_after, round_up=False)
        before = None if query.created_before is None else _moment(query.created_before, round_up=True)
        if query.skip and query.cursor:
            raise InvalidQueryError("skip", "cannot be combined with cursor, which already marks the page")
        if query.skip and (filters or after or before):
            raise InvalidQueryError(
                "skip", "cannot be combined with filters or a created-time range; use cursor"
            )
        fingerprint = _fingerprint(filters, after, before)
        plan = _Plan(
            order=order,
            descending=descending,
            filters=filters,
            after=after,
            before=before,
            fingerprint=fingerprint,
            skip=query.skip,
        )
        if query.cursor is not None:
            plan.start = self._start_from_cursor(table, plan, query.cursor)
        elif order == "created" and (range_start := before if descending else after) is not None:
            plan.start = RecordIndex.created_bound_start(
                self._base_id, table.table_id, moment=range_start, descending=descending
            )
        return plan

    def _start_from_cursor(self, table: StoredTable, plan: "_Plan", token: str) -> "IndexKey":
        position = self._cursors.decode(token)
        if position.table_id != table.table_id:
            raise InvalidQueryError("cursor", "the cursor belongs to another table")
        if position.order != plan.order or position.descending != plan.descending:
            raise InvalidQueryError("cursor", "the cursor was issued for another sort_by or sort_order")
        if position.query_fingerprint != plan.fingerprint:
            raise InvalidQueryError(
                "cursor", "the cursor was issued for other filters or another created-time range"
            )
        return {
            TABLE_KEY: {"S": table_key(self._base_id, table.table_id)},
            INDEX_SORT_KEYS[INDEXES[plan.order]]: {"S": position.index_sort_key},
            PARTITION_KEY: {"S": position.partition_key},
            SORT_KEY: {"S": position.sort_key},
        }

    def _read(self, table: StoredTable, plan: "_Plan", limit: int) -> RecordListing:
        filtering = bool(plan.filters) or (plan.order == "changed" and bool(plan.after or plan.before))
        budget = limit * EXAMINE_FACTOR if filtering else limit
        matched: list[StoredRecord] = []
        examined = plan.skip
        position = plan.start
        rounds = 0
        while True:
            # Never more than the page still needs: the page always ends on a key DynamoDB returned
            chunk = min(limit - len(matched), budget - (examined - plan.skip))
            records, last_key = self._records.query_page(
                self._base_id,
                table.table_id,
                order=plan.order,
                descending=plan.descending,
                limit=chunk,
                exclusive_start=position,
            )
            examined += chunk if last_key else len(records)
            rounds += 1
            ended = last_key is None
            for record in records:
                moment = _created_moment(record)
                if plan.past_range_end(moment):
                    ended = True
                    break
                if plan.accepts(record, moment):
                    matched.append(record)
            if ended:
                next_position = None
                break
            position = last_key
            if len(matched) >= limit or examined - plan.skip >= budget or rounds >= MAX_ROUNDS:
                next_position = last_key
                break
        next_cursor = None
        if next_position is not None:
            next_cursor = self._cursors.encode(
                CursorPosition(
                    table_id=table.table_id,
                    order=plan.order,
                    descending=plan.descending,
                    query_fingerprint=plan.fingerprint,
                    index_sort_key=next_position[INDEX_SORT_KEYS[INDEXES[plan.order]]]["S"],
                    partition_key=next_position[PARTITION_KEY]["S"],
                    sort_key=next_position[SORT_KEY]["S"],
                )
            )
        return RecordListing(table, [_named(record, table) for record in matched], next_cursor, examined)


@dataclass
class _Plan:
    order: Literal["created", "changed"]
    descending: bool
    filters: Sequence[FieldFilter]
    after: str | None
    before: str | None
    fingerprint: str
    skip: int
    start: "IndexKey | None" = None

    def past_range_end(self, moment: str) -> bool:
        """In created order the range's far end ends the listing (everything after is outside)."""
        if self.order != "created":
            return False
        if self.descending:
            return self.after is not None and moment <= self.after
        return self.before is not None and moment >= self.before

    def accepts(self, record: StoredRecord, moment: str) -> bool:
        if self.after is not None and moment <= self.after:
            return False
        if self.before is not None and moment >= self.before:
            return False
        return all(f.matches(record.cells) for f in self.filters)


def _checked_reference(reference: str, parameter: str) -> str:
    stripped = reference.strip()
    if not stripped:
        raise InvalidQueryError(parameter, "name a table: its name, its tbl… id or an alias")
    if len(stripped) > MAX_TABLE_REFERENCE_LENGTH:
        raise InvalidQueryError(parameter, f"at most {MAX_TABLE_REFERENCE_LENGTH} characters")
    if _CONTROL_CHARACTERS.search(stripped):
        raise InvalidQueryError(parameter, "cannot contain control characters")
    return stripped


def _field_filters(table: StoredTable, wanted: Mapping[str, str]) -> list[FieldFilter]:
    by_name = {stored.name: stored for stored in table.fields}
    filters = []
    for name, value in wanted.items():
        stored = by_name.get(name)
        if stored is None:
            raise InvalidQueryError(f"filter[{name}]", f"{table.name} has no field named {name!r}")
        filters.append(FieldFilter(stored.id, stored.name, stored.type, value))
    return sorted(filters, key=lambda f: f.field_id)


def _fingerprint(filters: Sequence[FieldFilter], after: str | None, before: str | None) -> str:
    document = {"f": [[f.field_id, f.value] for f in filters], "a": after, "b": before}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _moment(value: datetime, *, round_up: bool) -> str:
    """The moment in the index's createdTime format (milliseconds, UTC). An exclusive lower bound
    rounds down and an exclusive upper bound up, so no record inside the range is lost to rounding."""
    if value.tzinfo is None:
        raise InvalidQueryError("created_after" if not round_up else "created_before", "needs a time zone")
    try:
        moment = value.astimezone(UTC)
        remainder = moment.microsecond % 1000
        if round_up and remainder:
            moment += timedelta(microseconds=1000 - remainder)
    except OverflowError:
        return _EARLIEST if value.year < 5000 else _LATEST
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def _created_moment(record: StoredRecord) -> str:
    return normalize_created_time(record.created_time) if record.created_time else _EARLIEST


def _named(record: StoredRecord, table: StoredTable | None) -> NamedRecord:
    if table is None:
        # No schema stored for the table (never expected: a sync stores it first): show field ids
        fields = dict(record.cells)
        table_name = record.table_id
    else:
        fields = {f.name: record.cells[f.id] for f in table.fields if f.id in record.cells}
        table_name = table.name
    return NamedRecord(
        record_id=record.record_id,
        table_id=record.table_id,
        table_name=table_name,
        created_time=record.created_time or "",
        fields=fields,
        changed_at=record.changed_at,
        synced_at=record.synced_at,
        version=record.version,
    )


def _record_count(table: StoredTable) -> int | None:
    last = table.last_sync
    if last is None or last.status != "succeeded" or last.counts.get("listing_restarts", 0):
        return None
    return max(last.counts.get("fetched", 0) - last.counts.get("failed", 0), 0)
