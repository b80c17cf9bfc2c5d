"""Webhook payloads (reference §6 "Payload structure", §11.22-25) made from one transaction.

Called while the state lock is held, right after the transaction committed, so the live state is the
state just after the change: computed cells (autoNumber, createdTime, lastModifiedTime) and linked
record names are read from it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .cells_v2 import V2Converter
from .clock import iso_millis
from .model import (
    Base,
    FieldChanged,
    FieldCreated,
    FieldDestroyed,
    RecordChanged,
    RecordCreated,
    RecordDestroyed,
    Table,
    TableChanged,
    TableCreated,
    Transaction,
)
from .webhook_spec import WebhookSpec

PAYLOAD_FORMAT = "v0"
# The order of a table's sections in Airtable's documented example.
_SECTION_ORDER = (
    "changedMetadata",
    "createdFieldsById",
    "changedFieldsById",
    "destroyedFieldIds",
    "createdRecordsById",
    "changedRecordsById",
    "destroyedRecordIds",
)
_LIST_SECTIONS = frozenset({"destroyedFieldIds", "destroyedRecordIds"})


@dataclass(frozen=True)
class _Entry:
    """One line of a payload: a value under ``changedTablesById[table][section][key]``."""

    table_id: str
    section: str
    key: str
    value: Any = None


def _ordered(table: Table | None, field_ids: Iterable[str]) -> list[str]:
    """Field ids in the table's field order (changes arrive as unordered sets)."""
    position = {field_id: index for index, field_id in enumerate(table.fields)} if table else {}
    return sorted(field_ids, key=lambda field_id: (position.get(field_id, len(position)), field_id))


def _field_info(schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": schema.get("name"), "type": schema.get("type")}


class PayloadBuilder:
    """Turns one transaction into the payloads one webhook receives."""

    def __init__(self, base: Base, converter: V2Converter, max_records_per_payload: int) -> None:
        self._base = base
        self._convert = converter
        self._max_records = max(1, max_records_per_payload)

    def build(
        self, spec: WebhookSpec, transaction: Transaction, user: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The transaction's payloads for ``spec``: none, one, or several sharing number and time."""
        if not spec.accepts_source(transaction.source):
            return []
        schema_entries: list[_Entry] = []
        record_entries: list[_Entry] = []
        created_tables: dict[str, Any] = {}
        for change in transaction.changes:
            if isinstance(change, RecordCreated | RecordChanged | RecordDestroyed):
                entry = self._record_entry(spec, change)
                if entry is not None:
                    record_entries.append(entry)
            elif isinstance(change, TableCreated):
                created = self._created_table(spec, change)
                if created is not None:
                    created_tables[change.table_id] = created
            else:
                entry = self._schema_entry(spec, change)
                if entry is not None:
                    schema_entries.append(entry)
        chunks = [
            record_entries[start : start + self._max_records]
            for start in range(0, len(record_entries), self._max_records)
        ] or [[]]
        payloads: list[dict[str, Any]] = []
        for index, chunk in enumerate(chunks):
            entries = schema_entries + chunk if index == 0 else chunk
            tables_created = created_tables if index == 0 else {}
            if not entries and not tables_created:
                continue
            payload: dict[str, Any] = {
                "timestamp": iso_millis(transaction.timestamp),
                "baseTransactionNumber": transaction.number,
                "actionMetadata": {"source": transaction.source, "sourceMetadata": {"user": dict(user)}},
                "payloadFormat": PAYLOAD_FORMAT,
            }
            if entries:
                payload["changedTablesById"] = self._tables(entries)
            if tables_created:
                payload["createdTablesById"] = dict(tables_created)
            payloads.append(payload)
        return payloads

    # --- records ----------------------------------------------------------------------------

    def _record_entry(
        self, spec: WebhookSpec, change: RecordCreated | RecordChanged | RecordDestroyed
    ) -> _Entry | None:
        table = self._base.tables.get(change.table_id)
        if isinstance(change, RecordDestroyed):
            if not spec.covers("tableData", "remove", change.table_id):
                return None
            return _Entry(change.table_id, "destroyedRecordIds", change.record_id)
        if isinstance(change, RecordCreated):
            if not spec.covers("tableData", "add", change.table_id):
                return None
            record = table.records.get(change.record_id) if table is not None else None
            cells = (
                table.read_cells(record)
                if table is not None and record is not None
                else {field_id: change.cells[field_id] for field_id in _ordered(table, change.cells)}
            )
            created = {
                "createdTime": change.created_time,
                "cellValuesByFieldId": self._convert.cells(change.table_id, cells),
            }
            return _Entry(change.table_id, "createdRecordsById", change.record_id, created)
        if not spec.covers("tableData", "update", change.table_id):
            return None
        return self._changed_record(spec, table, change)

    def _changed_record(self, spec: WebhookSpec, table: Table | None, change: RecordChanged) -> _Entry | None:
        watched = spec.watch_data_field_ids
        changed_ids = _ordered(
            table, (field_id for field_id in change.current if watched is None or field_id in watched)
        )
        if not changed_ids:
            return None
        record = table.records.get(change.record_id) if table is not None else None
        live = (
            table.read_cells(record) if table is not None and record is not None else dict(change.unchanged)
        )
        current = {
            field_id: self._convert.value(change.table_id, field_id, change.current[field_id])
            for field_id in changed_ids
        }
        # A lastModifiedTime cell changes with the record, though the model does not report it.
        if table is not None:
            for field_id, table_field in table.fields.items():
                if (
                    table_field.type == "lastModifiedTime"
                    and field_id in live
                    and (watched is None or field_id in watched)
                ):
                    current[field_id] = live[field_id]
        body: dict[str, Any] = {"current": {"cellValuesByFieldId": current}}
        if spec.include_previous_cell_values:
            body["previous"] = {
                "cellValuesByFieldId": {
                    field_id: self._convert.value(change.table_id, field_id, change.previous.get(field_id))
                    for field_id in changed_ids
                }
            }
        unchanged = {
            field_id: self._convert.value(change.table_id, field_id, value)
            for field_id, value in live.items()
            if field_id not in current and spec.includes_cell_value(field_id)
        }
        if unchanged:
            body["unchanged"] = {"cellValuesByFieldId": unchanged}
        return _Entry(change.table_id, "changedRecordsById", change.record_id, body)

    # --- schema -----------------------------------------------------------------------------

    def _schema_entry(
        self, spec: WebhookSpec, change: FieldCreated | FieldChanged | FieldDestroyed | TableChanged
    ) -> _Entry | None:
        watched = spec.watch_schema_field_ids
        if isinstance(change, TableChanged):
            if not spec.covers("tableMetadata", "update", change.table_id):
                return None
            metadata = {"current": dict(change.current), "previous": dict(change.previous)}
            return _Entry(change.table_id, "changedMetadata", "", metadata)
        if isinstance(change, FieldCreated):
            # A new field cannot be in a watch list, so a list excludes every creation.
            if watched is not None or not spec.covers("tableFields", "add", change.table_id):
                return None
            return _Entry(change.table_id, "createdFieldsById", change.field["id"], _field_info(change.field))
        if watched is not None and change.field_id not in watched:
            return None
        if isinstance(change, FieldDestroyed):
            if not spec.covers("tableFields", "remove", change.table_id):
                return None
            return _Entry(change.table_id, "destroyedFieldIds", change.field_id)
        if not spec.covers("tableFields", "update", change.table_id):
            return None
        body: dict[str, Any] = {"current": dict(change.current)}
        if spec.include_previous_field_definitions:
            body["previous"] = dict(change.previous)
        return _Entry(change.table_id, "changedFieldsById", change.field_id, body)

    def _created_table(self, spec: WebhookSpec, change: TableCreated) -> dict[str, Any] | None:
        with_metadata = spec.covers("tableMetadata", "add", None)
        with_fields = spec.covers("tableFields", "add", None)
        if not with_metadata and not with_fields:
            return None
        created: dict[str, Any] = {}
        if with_metadata:
            created["metadata"] = {
                "name": change.schema.get("name"),
                "description": change.schema.get("description"),
            }
        if with_fields:
            created["fieldsById"] = {
                field_schema["id"]: _field_info(field_schema)
                for field_schema in change.schema.get("fields", [])
            }
        return created

    @staticmethod
    def _tables(entries: list[_Entry]) -> dict[str, Any]:
        sections_by_table: dict[str, dict[str, Any]] = {}
        for entry in entries:
            sections = sections_by_table.setdefault(entry.table_id, {})
            if entry.section == "changedMetadata":
                sections["changedMetadata"] = entry.value
            elif entry.section in _LIST_SECTIONS:
                sections.setdefault(entry.section, []).append(entry.key)
            else:
                sections.setdefault(entry.section, {})[entry.key] = entry.value
        return {
            table_id: {name: sections[name] for name in _SECTION_ORDER if name in sections}
            for table_id, sections in sections_by_table.items()
        }


def error_payload(transaction: Transaction, code: str) -> dict[str, Any]:
    """The payload that tells a client its webhook stopped (reference §6 "Error payload")."""
    return {
        "timestamp": iso_millis(transaction.timestamp),
        "baseTransactionNumber": transaction.number,
        "payloadFormat": PAYLOAD_FORMAT,
        "error": True,
        "code": code,
    }


def broken_filters(spec: WebhookSpec, transaction: Transaction) -> bool:
    """Whether the transaction deleted a field the specification filters on (INVALID_FILTERS)."""
    watched = spec.watched_field_ids()
    return any(
        isinstance(change, FieldDestroyed) and change.field_id in watched for change in transaction.changes
    )
