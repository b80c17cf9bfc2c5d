"""Cell values as webhook payloads carry them ("V2"), made from the stored REST ("V1") values.

Reference §8: selects become ``{id, name, color}`` objects, record links ``{id, name}`` objects named
by the linked record's primary value, and a cleared cell is ``null``. Attachments are left as
:class:`PendingAttachments` so their URLs can be issued when a payload is served, not when it is made
(Airtable's attachment URLs expire a fixed time after the response that returned them).
"""

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .cells import COMPUTED_TYPES
from .model import Base, Change, Field, Record, RecordDestroyed, Table

# Airtable shows this for a record whose primary cell is empty (the V2 wording is unconfirmed).
UNNAMED_RECORD = "Unnamed record"


@dataclass(frozen=True)
class PendingAttachments:
    """Stored attachment objects, to be presented (given URLs) when the payload is served."""

    attachments: tuple[dict[str, Any], ...]


def display_text(value: Any) -> str:
    """A cell value as the short text Airtable names a record by."""
    if value is None or value in ("", []):
        return UNNAMED_RECORD
    if isinstance(value, bool):
        return "checked" if value else UNNAMED_RECORD
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(display_text(item) for item in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("email") or value.get("id") or UNNAMED_RECORD)
    return str(value)


def record_name(table: Table, record: Record) -> str:
    primary = table.fields.get(table.primary_field_id)
    if primary is not None and primary.type in COMPUTED_TYPES:
        return display_text(table.primary_value(record))
    return display_text(record.cells.get(table.primary_field_id))


def destroyed_record_names(base: Base, changes: Iterable[Change]) -> dict[tuple[str, str], str]:
    """Names of the records a transaction destroyed: its previous link values may still show them."""
    names: dict[tuple[str, str], str] = {}
    for change in changes:
        if isinstance(change, RecordDestroyed) and change.table_id in base.tables:
            table = base.tables[change.table_id]
            names[(table.id, change.record_id)] = display_text(change.cells.get(table.primary_field_id))
    return names


class V2Converter:
    """Converts one base's V1 values; ``remembered_name`` names linked records that no longer exist."""

    def __init__(self, base: Base, remembered_name: Callable[[str, str], str | None]) -> None:
        self._base = base
        self._remembered_name = remembered_name

    def value(self, table_id: str, field_id: str, value: Any) -> Any:
        if value is None:
            return None
        table = self._base.tables.get(table_id)
        field = table.fields.get(field_id) if table is not None else None
        if field is None:
            return copy.deepcopy(value)
        return self._convert(field, value)

    def cells(self, table_id: str, values: dict[str, Any]) -> dict[str, Any]:
        return {field_id: self.value(table_id, field_id, value) for field_id, value in values.items()}

    def _convert(self, field: Field, value: Any) -> Any:
        kind = field.type
        if kind in {"singleSelect", "externalSyncSource"} and isinstance(value, str):
            return self._choice(field, value)
        if kind == "multipleSelects" and isinstance(value, list):
            return [self._choice(field, name) for name in value]
        if kind == "multipleRecordLinks" and isinstance(value, list):
            linked_table_id = str((field.options or {}).get("linkedTableId", ""))
            return [
                {"id": record_id, "name": self._link_name(linked_table_id, record_id)} for record_id in value
            ]
        if kind == "multipleAttachments" and isinstance(value, list):
            return PendingAttachments(tuple(copy.deepcopy(item) for item in value))
        return copy.deepcopy(value)

    def _choice(self, field: Field, name: Any) -> dict[str, Any]:
        for choice in (field.options or {}).get("choices", []):
            if choice.get("name") == name:
                option: dict[str, Any] = {"id": choice.get("id"), "name": name}
                if choice.get("color") is not None:
                    option["color"] = choice["color"]
                return option
        return {"name": name}

    def _link_name(self, table_id: str, record_id: str) -> str:
        table = self._base.tables.get(table_id)
        record = table.records.get(record_id) if table is not None else None
        if table is not None and record is not None:
            return record_name(table, record)
        return self._remembered_name(table_id, record_id) or UNNAMED_RECORD


def present(value: Any, present_attachments: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Any:
    """A stored payload made ready to serve: a fresh structure with attachments presented."""
    if isinstance(value, PendingAttachments):
        return present_attachments([copy.deepcopy(item) for item in value.attachments])
    if isinstance(value, dict):
        return {key: present(item, present_attachments) for key, item in value.items()}
    if isinstance(value, list):
        return [present(item, present_attachments) for item in value]
    return value
