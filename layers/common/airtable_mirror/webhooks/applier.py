"""What a batch of webhook payloads does to the mirror.

Payloads name what changed; the mirror does not store what they carry. Created and changed records
are **re-read** from Airtable's list endpoint, 100 per request (``OR(RECORD_ID()='rec…',…)``, field
ids as keys), and stored exactly as a full sync stores a page: the same :class:`RecordObservation`,
the same conditional upsert, stamped with the time the request was sent (our clock). An id named in
a payload that the re-read does not return was deleted since: it is tombstoned with that same
version (Airtable never reuses record ids). ``destroyedRecordIds`` are tombstoned with the time of
processing. Why re-read rather than convert the payloads' V2 values: docs/webhooks.md.

Schema changes (fields created, renamed, changed or deleted, a table renamed or created) re-read the
base schema once per batch and store each affected table's schema stamped with that request's time;
records are stored by field id, so a rename touches no record. Changes that alter values without
naming records (a deleted field, a new computed field, a changed field type) ask for a full sync of
the table (:mod:`airtable_mirror.webhooks.full_syncs`).

Tables outside the webhook's scope are ignored.
"""

import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from airtable_mirror.airtable import AirtableClient, AirtableNotFound, BaseSchema
from airtable_mirror.repository import RecordObservation, RecordRepository
from airtable_mirror.repository.records import DEFAULT_TOMBSTONE_TTL_SECONDS
from airtable_mirror.repository.table_schemas import StoredField, TableSchemaRepository
from airtable_mirror.repository.timestamps import micros_from_seconds
from airtable_mirror.repository.webhooks import WebhookState
from airtable_mirror.webhooks.full_syncs import FullSyncRequests

logger = Logger(child=True)

REREAD_BATCH = 100
_RECORD_ID = re.compile(r"rec[A-Za-z0-9]{14}")
_TABLE_ID = re.compile(r"tbl[A-Za-z0-9]{14}")
# Field types whose values Airtable computes for every record: adding one changes every record
# without a payload naming them.
COMPUTED_FIELD_TYPES = frozenset(
    {
        "autoNumber",
        "button",
        "count",
        "createdBy",
        "createdTime",
        "formula",
        "lastModifiedBy",
        "lastModifiedTime",
        "lookup",
        "multipleLookupValues",
        "rollup",
        "aiText",
    }
)
# A change of only these field properties leaves every value as it was.
_VALUE_NEUTRAL_FIELD_PROPERTIES = frozenset({"name", "description"})


@dataclass
class ApplyCounts:
    """What applying payloads did. ``reread``: record ids re-read; ``written``/``unchanged``/``stale``:
    outcomes of their upserts; ``deleted``: tombstones written; ``missing``: re-read ids Airtable no
    longer had; ``schema_tables``: table schemas stored; ``full_syncs``: tables a full sync was asked for."""

    payloads: int = 0
    reread: int = 0
    written: int = 0
    unchanged: int = 0
    stale: int = 0
    deleted: int = 0
    missing: int = 0
    too_large: int = 0
    schema_tables: int = 0
    full_syncs: int = 0
    ignored_tables: int = 0

    def add(self, other: "ApplyCounts") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _TableChanges:
    reread: dict[str, None] = field(default_factory=dict)  # ordered set
    destroyed: dict[str, None] = field(default_factory=dict)
    schema_changed: bool = False
    full_sync_reasons: list[str] = field(default_factory=list)


@dataclass
class _BatchChanges:
    tables: dict[str, _TableChanges] = field(default_factory=dict)
    destroyed_tables: dict[str, None] = field(default_factory=dict)
    ignored_tables: set[str] = field(default_factory=set)

    def table(self, table_id: str) -> _TableChanges:
        return self.tables.setdefault(table_id, _TableChanges())


def is_error_payload(payload: Mapping[str, Any]) -> bool:
    return payload.get("error") is True


def payload_record_count(payload: Mapping[str, Any]) -> int:
    """How many record ids a payload names (to bound how much one batch re-reads)."""
    total = 0
    for value in _mapping(payload.get("changedTablesById")).values():
        section = _mapping(value)
        for key in ("createdRecordsById", "changedRecordsById"):
            total += len(_mapping(section.get(key)))
        total += len(_sequence(section.get("destroyedRecordIds")))
    for created in _mapping(payload.get("createdTablesById")).values():
        total += len(_mapping(_mapping(created).get("recordsById")))
    return total


class PayloadApplier:
    """Applies payloads of one base's webhooks to the mirror, as a full sync would store them."""

    def __init__(
        self,
        *,
        base_id: str,
        client: AirtableClient,
        records: RecordRepository,
        schemas: TableSchemaRepository,
        full_syncs: FullSyncRequests | None = None,
        clock: Callable[[], float] = time.time,
        write_workers: int = 8,
        tombstone_ttl_seconds: int = DEFAULT_TOMBSTONE_TTL_SECONDS,
    ) -> None:
        self._base_id = base_id
        self._client = client
        self._records = records
        self._schemas = schemas
        self._full_syncs = full_syncs
        self._clock = clock
        self._write_workers = write_workers
        self._tombstone_ttl = tombstone_ttl_seconds
        self._tables_with_schema: set[str] = set()

    def apply(self, state: WebhookState, payloads: Sequence[Mapping[str, Any]]) -> ApplyCounts:
        """Apply the payloads (in cursor order; error payloads are the caller's business)."""
        counts = ApplyCounts(payloads=len(payloads))
        changes = self._collect(state, payloads)
        counts.ignored_tables = len(changes.ignored_tables)
        for table_id in changes.destroyed_tables:
            changes.tables.pop(table_id, None)
        self._store_schemas(changes, counts)
        for table_id, table in changes.tables.items():
            for record_id in table.destroyed:
                table.reread.pop(record_id, None)
            self._reread(table_id, list(table.reread), counts)
            self._tombstone(table_id, list(table.destroyed), counts)
        for table_id in changes.destroyed_tables:
            self._tombstone_table(table_id, counts)
        wanted = {
            table_id: "; ".join(table.full_sync_reasons)
            for table_id, table in changes.tables.items()
            if table.full_sync_reasons
        }
        if wanted:
            counts.full_syncs = len(wanted)
            self.request_full_syncs(wanted)
        return counts

    def request_full_syncs(self, reasons_by_table: Mapping[str, str]) -> None:
        if self._full_syncs is None:
            logger.warning("full syncs needed but none can be started here", tables=sorted(reasons_by_table))
            return
        for table_id, reason in reasons_by_table.items():
            self._full_syncs.request([table_id], reason=reason)

    # --- reading the payloads ---------------------------------------------------------------

    def _collect(self, state: WebhookState, payloads: Iterable[Mapping[str, Any]]) -> _BatchChanges:
        changes = _BatchChanges()
        for payload in payloads:
            for table_id, section in _mapping(payload.get("changedTablesById")).items():
                if not _in_scope(state, table_id, changes):
                    continue
                self._collect_table(changes.table(table_id), _mapping(section))
            for table_id, created in _mapping(payload.get("createdTablesById")).items():
                if not _in_scope(state, table_id, changes):
                    continue
                table = changes.table(table_id)
                table.schema_changed = True
                table.reread.update(dict.fromkeys(_record_ids(_mapping(created).get("recordsById"))))
            for table_id in _sequence(payload.get("destroyedTableIds")):
                if isinstance(table_id, str) and _in_scope(state, table_id, changes):
                    changes.destroyed_tables[table_id] = None
        return changes

    @staticmethod
    def _collect_table(table: _TableChanges, section: Mapping[str, Any]) -> None:
        sources = [section, *(_mapping(view) for view in _mapping(section.get("changedViewsById")).values())]
        for source in sources:
            table.reread.update(dict.fromkeys(_record_ids(source.get("createdRecordsById"))))
            table.reread.update(dict.fromkeys(_record_ids(source.get("changedRecordsById"))))
            table.destroyed.update(dict.fromkeys(_record_ids(source.get("destroyedRecordIds"))))
        if section.get("changedMetadata") is not None:
            table.schema_changed = True
        created_fields = _mapping(section.get("createdFieldsById"))
        changed_fields = _mapping(section.get("changedFieldsById"))
        destroyed_fields = _sequence(section.get("destroyedFieldIds"))
        if created_fields or changed_fields or destroyed_fields:
            table.schema_changed = True
        if destroyed_fields:
            table.full_sync_reasons.append("a field was deleted")
        if any(_mapping(info).get("type") in COMPUTED_FIELD_TYPES for info in created_fields.values()):
            table.full_sync_reasons.append("a computed field was added")
        for change in changed_fields.values():
            current = _mapping(_mapping(change).get("current"))
            if set(current) - _VALUE_NEUTRAL_FIELD_PROPERTIES:
                table.full_sync_reasons.append("a field's type or options changed")
                break

    # --- schema -----------------------------------------------------------------------------

    def _store_schemas(self, changes: _BatchChanges, counts: ApplyCounts) -> None:
        wanted = [
            table_id
            for table_id, table in changes.tables.items()
            if table.schema_changed or not self._has_schema(table_id)
        ]
        if not wanted:
            return
        version = micros_from_seconds(self._clock())
        schema = self._client.get_base_schema()
        stored = self._put_schemas(schema, wanted, version)
        counts.schema_tables += stored

    def _put_schemas(self, schema: BaseSchema, table_ids: Sequence[str], version: int) -> int:
        by_id = {table.id: table for table in schema.tables}
        stored = 0
        for table_id in table_ids:
            table = by_id.get(table_id)
            if table is None:
                continue  # deleted since; its destroyedTableIds payload follows
            self._schemas.put_table(
                self._base_id,
                table.id,
                table.name,
                table.primary_field_id,
                [StoredField(id=f.id, name=f.name, type=f.type) for f in table.fields],
                version,
            )
            self._tables_with_schema.add(table.id)
            stored += 1
        return stored

    def _has_schema(self, table_id: str) -> bool:
        if table_id in self._tables_with_schema:
            return True
        if self._schemas.get_table(self._base_id, table_id) is not None:
            self._tables_with_schema.add(table_id)
            return True
        return False

    # --- records ----------------------------------------------------------------------------

    def _reread(self, table_id: str, record_ids: list[str], counts: ApplyCounts) -> None:
        for start in range(0, len(record_ids), REREAD_BATCH):
            chunk = record_ids[start : start + REREAD_BATCH]
            version = micros_from_seconds(self._clock())
            try:
                found = self._client.list_records_by_ids(table_id, chunk, return_fields_by_field_id=True)
            except AirtableNotFound:
                if self._table_exists(table_id):
                    raise  # not a deleted table: most likely the token lost access
                logger.info("table gone from Airtable; its re-read records are tombstoned", table_id=table_id)
                found = []
            counts.reread += len(chunk)
            observations = [
                RecordObservation(
                    base_id=self._base_id,
                    table_id=table_id,
                    record_id=record.id,
                    created_time=record.created_time_iso,
                    cells=record.fields,
                    version=version,
                )
                for record in found
            ]
            for outcome in self._records.upsert_many(observations, max_workers=self._write_workers):
                if outcome.status == "written":
                    counts.written += 1
                elif outcome.status == "unchanged":
                    counts.unchanged += 1
                elif outcome.status == "stale":
                    counts.stale += 1
                else:
                    counts.too_large += 1
                    logger.error("record too large for DynamoDB", record_id=outcome.record_id)
            returned = {record.id for record in found}
            gone = [record_id for record_id in chunk if record_id not in returned]
            counts.missing += len(gone)
            self._tombstone(table_id, gone, counts, version=version)

    def _tombstone(
        self, table_id: str, record_ids: Sequence[str], counts: ApplyCounts, *, version: int | None = None
    ) -> None:
        if not record_ids:
            return
        at = version if version is not None else micros_from_seconds(self._clock())
        for record_id in record_ids:
            outcome = self._records.delete(
                self._base_id, table_id, record_id, at, tombstone_ttl_seconds=self._tombstone_ttl
            )
            if outcome.status == "written":
                counts.deleted += 1

    def _tombstone_table(self, table_id: str, counts: ApplyCounts) -> None:
        version = micros_from_seconds(self._clock())
        record_ids = [record_id for record_id, _ in self._records.iter_table_keys(self._base_id, table_id)]
        logger.info(
            "table deleted in Airtable; tombstoning its records", table_id=table_id, records=len(record_ids)
        )
        self._tombstone(table_id, record_ids, counts, version=version)

    def _table_exists(self, table_id: str) -> bool:
        return any(table.id == table_id for table in self._client.get_base_schema().tables)


def _in_scope(state: WebhookState, table_id: object, changes: _BatchChanges) -> bool:
    if not isinstance(table_id, str) or not _TABLE_ID.fullmatch(table_id):
        logger.warning("payload names an invalid table id; ignored", table_id=repr(table_id)[:40])
        return False
    if state.covers(table_id):
        return True
    changes.ignored_tables.add(table_id)
    return False


def _record_ids(value: object) -> list[str]:
    """Record ids of a ``…RecordsById`` mapping or a ``destroyedRecordIds`` list; anything that is not a
    record id is dropped (it could never be re-read or stored)."""
    candidates: Iterable[object] = value.keys() if isinstance(value, Mapping) else _sequence(value)
    ids = []
    for candidate in candidates:
        if isinstance(candidate, str) and _RECORD_ID.fullmatch(candidate):
            ids.append(candidate)
        else:
            logger.warning("payload names an invalid record id; ignored", record_id=repr(candidate)[:40])
    return ids


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sequence(value: object) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()
