"""The emulator's data: bases, tables, fields, records, and the transactions that change them.

Every mutation runs under one lock and ends in one :class:`Transaction` handed to the subscribers
(the webhook service), exactly once, in transaction-number order. Changes made through HTTP and
through this Python API are the same mutations.
"""

import copy
import mimetypes
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import cells
from .clock import Clock, iso_millis
from .errors import (
    AirtableApiError,
    invalid_request,
    invalid_value,
    model_not_found,
    record_not_found,
    unknown_field,
)
from .ids import IdFactory
from .settings import EmulatorSettings


@dataclass
class Field:
    id: str
    name: str
    type: str
    options: dict[str, Any] | None = None
    description: str | None = None

    def schema(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.description:
            body["description"] = self.description
        if self.options is not None:
            body["options"] = copy.deepcopy(self.options)
        return body


@dataclass
class View:
    id: str
    name: str
    type: str = "grid"
    # (field id, "asc" | "desc") pairs; the view's record order.
    sort: list[tuple[str, str]] = field(default_factory=list)
    # A filterByFormula-style formula selecting the view's records, or None for all.
    formula: str | None = None

    def schema(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type}


@dataclass
class StoredAttachment:
    id: str
    filename: str
    content_type: str
    content: bytes


@dataclass
class Record:
    id: str
    created_time: datetime
    last_modified_time: datetime
    auto_number: int
    # Field id -> REST (V1) value; empty values are never stored.
    cells: dict[str, Any] = field(default_factory=dict)
    comment_count: int = 0


@dataclass
class Table:
    id: str
    name: str
    primary_field_id: str
    fields: dict[str, Field]
    views: dict[str, View]
    records: dict[str, Record] = field(default_factory=dict)
    description: str | None = None
    next_auto_number: int = 1

    def field(self, key: str) -> Field:
        """A field by id or by exact name."""
        if key in self.fields:
            return self.fields[key]
        for candidate in self.fields.values():
            if candidate.name == key:
                return candidate
        raise unknown_field(key)

    def find_field(self, key: str) -> Field | None:
        try:
            return self.field(key)
        except AirtableApiError:
            return None

    def view(self, key: str) -> View:
        if key in self.views:
            return self.views[key]
        for candidate in self.views.values():
            if candidate.name == key:
                return candidate
        raise AirtableApiError(422, "VIEW_NAME_NOT_FOUND", f'View "{key}" not found')

    def record(self, record_id: str) -> Record:
        try:
            return self.records[record_id]
        except KeyError:
            raise record_not_found() from None

    def read_cells(self, record: Record) -> dict[str, Any]:
        """The record's values by field id as a read returns them: stored and computed, never empty."""
        values: dict[str, Any] = {}
        for field_id, table_field in self.fields.items():
            if table_field.type == "autoNumber":
                values[field_id] = record.auto_number
            elif table_field.type == "createdTime":
                values[field_id] = iso_millis(record.created_time)
            elif table_field.type == "lastModifiedTime":
                values[field_id] = iso_millis(record.last_modified_time)
            elif field_id in record.cells:
                values[field_id] = copy.deepcopy(record.cells[field_id])
        return values

    def primary_value(self, record: Record) -> Any:
        return self.read_cells(record).get(self.primary_field_id)

    def schema(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "primaryFieldId": self.primary_field_id,
            "fields": [table_field.schema() for table_field in self.fields.values()],
            "views": [view.schema() for view in self.views.values()],
        }
        if self.description:
            body["description"] = self.description
        return body


@dataclass
class Base:
    id: str
    name: str
    tables: dict[str, Table] = field(default_factory=dict)
    transaction_number: int = 0
    permission_level: str = "create"

    def table(self, key: str) -> Table:
        """A table by id or by exact name; Airtable answers 403 for one it cannot find."""
        if key in self.tables:
            return self.tables[key]
        for candidate in self.tables.values():
            if candidate.name == key:
                return candidate
        raise model_not_found()


# --- Changes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordCreated:
    table_id: str
    record_id: str
    created_time: str
    # Every non-empty stored value by field id (REST form).
    cells: dict[str, Any]


@dataclass(frozen=True)
class RecordChanged:
    table_id: str
    record_id: str
    # Changed fields only; None where the cell was cleared (current) or was empty (previous).
    current: dict[str, Any]
    previous: dict[str, Any]
    # The record's other non-empty values after the change.
    unchanged: dict[str, Any]


@dataclass(frozen=True)
class RecordDestroyed:
    table_id: str
    record_id: str
    # The record's stored values just before it was destroyed (REST form), e.g. to name it.
    cells: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldCreated:
    table_id: str
    field: dict[str, Any]  # the field's schema


@dataclass(frozen=True)
class FieldChanged:
    table_id: str
    field_id: str
    current: dict[str, Any]  # changed keys of the schema (e.g. {"name": "New"})
    previous: dict[str, Any]


@dataclass(frozen=True)
class FieldDestroyed:
    table_id: str
    field_id: str


@dataclass(frozen=True)
class TableCreated:
    table_id: str
    schema: dict[str, Any]


@dataclass(frozen=True)
class TableChanged:
    """A table's name or description changed; both dicts hold ``name`` and ``description``."""

    table_id: str
    current: dict[str, Any]
    previous: dict[str, Any]


Change = (
    RecordCreated
    | RecordChanged
    | RecordDestroyed
    | FieldCreated
    | FieldChanged
    | FieldDestroyed
    | TableCreated
    | TableChanged
)


@dataclass(frozen=True)
class Transaction:
    base_id: str
    number: int
    timestamp: datetime
    source: str  # "publicApi" for HTTP writes, "client" for changes "made in the UI" (the Python API)
    changes: tuple[Change, ...]


Listener = Callable[[Transaction], None]


@dataclass
class _Draft:
    """What one mutation touched, to be turned into changes when it commits."""

    before: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    order: list[tuple[str, str]] = field(default_factory=list)
    schema_changes: list[Change] = field(default_factory=list)

    def touch(self, table: Table, record_id: str) -> None:
        key = (table.id, record_id)
        if key in self.before:
            return
        existing = table.records.get(record_id)
        self.before[key] = copy.deepcopy(existing.cells) if existing is not None else None
        self.order.append(key)


# A table as tests and the demo describe it: {"name": ..., "fields": [{"name", "type", "options"?}],
# "views"?: [{"name", "sort"?: [(field name, direction)], "formula"?}]}. The first field is primary.
# A link field names its table: {"type": "multipleRecordLinks", "options": {"linkedTable": "People"}}.
TableSpec = Mapping[str, Any]


class AirtableState:
    """All bases the emulator holds, and every way to change them."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        settings: EmulatorSettings | None = None,
        seed: int | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.settings = settings or EmulatorSettings()
        self.ids = IdFactory(seed)
        self.bases: dict[str, Base] = {}
        self.attachments: dict[str, StoredAttachment] = {}
        self._listeners: list[Listener] = []

    # --- reading ----------------------------------------------------------------------------

    def base(self, base_id: str) -> Base:
        try:
            return self.bases[base_id]
        except KeyError:
            raise model_not_found() from None

    def table(self, base_id: str, table_key: str) -> Table:
        return self.base(base_id).table(table_key)

    def subscribe(self, listener: Listener) -> None:
        with self.lock:
            self._listeners.append(listener)

    # --- schema -----------------------------------------------------------------------------

    def create_base(self, name: str, tables: Sequence[TableSpec], *, base_id: str | None = None) -> Base:
        with self.lock:
            base = Base(id=base_id or self.ids.new("base"), name=name)
            self.bases[base.id] = base
            pending_links: list[tuple[Table, Field]] = []
            for spec in tables:
                pending_links.extend(self._build_table(base, spec))
            self._resolve_links(base, pending_links, draft=None)
            return base

    def add_table(self, base_id: str, spec: TableSpec, *, source: str = "client") -> Table:
        with self._mutation(base_id, source) as draft:
            base = self.base(base_id)
            pending = self._build_table(base, spec)
            table = list(base.tables.values())[-1]
            draft.schema_changes.append(TableCreated(table.id, table.schema()))
            self._resolve_links(base, pending, draft=draft)
            return table

    def update_table(
        self,
        base_id: str,
        table_key: str,
        *,
        name: str | None = None,
        description: str | None = None,
        source: str = "client",
    ) -> Table:
        """Rename a table and/or change its description (``""`` clears the description)."""
        with self._mutation(base_id, source) as draft:
            base = self.base(base_id)
            table = base.table(table_key)
            previous = {"name": table.name, "description": table.description}
            if name is not None and name != table.name:
                if not isinstance(name, str) or not name.strip():
                    raise AirtableApiError(422, "INVALID_TABLE_NAME", "Table name must be a non-empty string")
                if any(other.name == name for other in base.tables.values() if other is not table):
                    raise AirtableApiError(
                        422, "DUPLICATE_TABLE_NAME", f'A table named "{name}" already exists'
                    )
                table.name = name
            if description is not None:
                table.description = description or None
            current = {"name": table.name, "description": table.description}
            if current != previous:
                draft.schema_changes.append(TableChanged(table.id, current, previous))
            return table

    def add_field(
        self,
        base_id: str,
        table_key: str,
        name: str,
        type_: str,
        options: Mapping[str, Any] | None = None,
        *,
        description: str | None = None,
        source: str = "client",
    ) -> Field:
        with self._mutation(base_id, source) as draft:
            base = self.base(base_id)
            table = base.table(table_key)
            self._check_new_field_name(table, name)
            new_field = Field(
                self.ids.new("field"), name, type_, dict(options) if options else None, description
            )
            if type_ in {"singleSelect", "multipleSelects"}:
                self._assign_choice_ids(new_field)
            table.fields[new_field.id] = new_field
            draft.schema_changes.append(FieldCreated(table.id, new_field.schema()))
            if type_ == "multipleRecordLinks":
                self._resolve_links(base, [(table, new_field)], draft=draft)
            return new_field

    def rename_field(
        self, base_id: str, table_key: str, field_key: str, new_name: str, *, source: str = "client"
    ) -> Field:
        with self._mutation(base_id, source) as draft:
            table = self.table(base_id, table_key)
            target = table.field(field_key)
            if new_name != target.name:
                self._check_new_field_name(table, new_name)
                previous = target.name
                target.name = new_name
                draft.schema_changes.append(
                    FieldChanged(table.id, target.id, {"name": new_name}, {"name": previous})
                )
            return target

    def update_field(
        self,
        base_id: str,
        table_key: str,
        field_key: str,
        *,
        name: str | None = None,
        description: str | None = None,
        source: str = "client",
    ) -> Field:
        """Rename a field and/or change its description (``""`` clears the description)."""
        with self._mutation(base_id, source) as draft:
            table = self.table(base_id, table_key)
            target = table.field(field_key)
            previous = {"name": target.name, "description": target.description}
            if name is not None and name != target.name:
                self._check_new_field_name(table, name)
                target.name = name
            if description is not None:
                target.description = description or None
            current = {"name": target.name, "description": target.description}
            changed = {key for key in current if current[key] != previous[key]}
            if changed:
                draft.schema_changes.append(
                    FieldChanged(
                        table.id,
                        target.id,
                        {key: current[key] for key in sorted(changed)},
                        {key: previous[key] for key in sorted(changed)},
                    )
                )
            return target

    def delete_field(self, base_id: str, table_key: str, field_key: str, *, source: str = "client") -> None:
        with self._mutation(base_id, source) as draft:
            base = self.base(base_id)
            table = base.table(table_key)
            target = table.field(field_key)
            if target.id == table.primary_field_id:
                raise AirtableApiError(
                    422, "CANNOT_DELETE_PRIMARY_FIELD", "The primary field cannot be deleted"
                )
            doomed = [(table, target)]
            inverse = self._inverse_of(base, target)
            if inverse is not None:
                doomed.append(inverse)
            for owner, gone in doomed:
                del owner.fields[gone.id]
                for record in owner.records.values():
                    record.cells.pop(gone.id, None)
                draft.schema_changes.append(FieldDestroyed(owner.id, gone.id))

    # --- records ----------------------------------------------------------------------------

    def create_records(
        self,
        base_id: str,
        table_key: str,
        records: Sequence[Mapping[str, Any]],
        *,
        typecast: bool = False,
        source: str = "client",
    ) -> list[Record]:
        """Create records from ``{field name or id: value}`` mappings."""
        with self._mutation(base_id, source) as draft:
            base = self.base(base_id)
            table = base.table(table_key)
            created: list[Record] = []
            now = self.clock.now()
            prepared = [self._normalize_fields(base, table, fields, typecast) for fields in records]
            for values in prepared:
                created.append(self._new_record(base, table, values, now, draft))
            return created

    def update_records(
        self,
        base_id: str,
        table_key: str,
        updates: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        replace: bool = False,
        typecast: bool = False,
        source: str = "client",
    ) -> list[Record]:
        """Update ``(record id, {field: value})`` pairs; ``replace`` clears unnamed fields (PUT)."""
        with self._mutation(base_id, source) as draft:
            base = self.base(base_id)
            table = base.table(table_key)
            targets = [table.record(record_id) for record_id, _ in updates]
            prepared = [self._normalize_fields(base, table, fields, typecast) for _, fields in updates]
            for record, values in zip(targets, prepared, strict=True):
                draft.touch(table, record.id)
                self._write_cells(base, table, record, values, replace=replace, draft=draft)
            return targets

    def upsert_records(
        self,
        base_id: str,
        table_key: str,
        records: Sequence[tuple[str | None, Mapping[str, Any]]],
        fields_to_merge_on: Sequence[str],
        *,
        replace: bool = False,
        typecast: bool = False,
        source: str = "client",
    ) -> tuple[list[Record], list[str], list[str]]:
        """Update-or-create ``(record id or None, {field: value})`` pairs in one transaction.

        A pair with an id updates that record. Without one, the record whose values of
        ``fields_to_merge_on`` equal the given ones is updated, or a new record is created when none
        matches. Returns (records in request order, created ids, updated ids).
        """
        with self._mutation(base_id, source) as draft:
            base = self.base(base_id)
            table = base.table(table_key)
            merge_ids = [table.field(key).id for key in fields_to_merge_on]
            prepared = [self._normalize_fields(base, table, fields, typecast) for _, fields in records]
            targets: list[Record | None] = []
            claimed: set[str] = set()
            new_keys: set[str] = set()
            for (record_id, _), values in zip(records, prepared, strict=True):
                target: Record | None
                if record_id is not None:
                    target = table.record(record_id)
                else:
                    missing = [table.fields[fid].name for fid in merge_ids if fid not in values]
                    if missing:
                        raise invalid_request(
                            "Each record of an upsert needs a value for every field of fieldsToMergeOn; "
                            f"missing: {', '.join(missing)}"
                        )
                    key = [values[fid] for fid in merge_ids]
                    matches = [
                        existing
                        for existing in table.records.values()
                        if [existing.cells.get(fid) for fid in merge_ids] == key
                    ]
                    if len(matches) > 1:
                        raise invalid_request(
                            f"{len(matches)} records match the fieldsToMergeOn values of one upserted record"
                        )
                    target = matches[0] if matches else None
                    if target is None:
                        marker = repr(key)
                        if marker in new_keys:
                            raise invalid_request("Two upserted records have the same fieldsToMergeOn values")
                        new_keys.add(marker)
                if target is not None:
                    if target.id in claimed:
                        raise invalid_request(f'Record "{target.id}" is upserted twice in one request')
                    claimed.add(target.id)
                targets.append(target)
            now = self.clock.now()
            result: list[Record] = []
            created_ids: list[str] = []
            updated_ids: list[str] = []
            for target, values in zip(targets, prepared, strict=True):
                if target is None:
                    record = self._new_record(base, table, values, now, draft)
                    created_ids.append(record.id)
                else:
                    draft.touch(table, target.id)
                    self._write_cells(base, table, target, values, replace=replace, draft=draft)
                    record = target
                    updated_ids.append(record.id)
                result.append(record)
            return result, created_ids, updated_ids

    def delete_records(
        self, base_id: str, table_key: str, record_ids: Sequence[str], *, source: str = "client"
    ) -> list[str]:
        with self._mutation(base_id, source) as draft:
            base = self.base(base_id)
            table = base.table(table_key)
            for record_id in record_ids:
                table.record(record_id)
            for record_id in record_ids:
                record = table.records.get(record_id)
                if record is None:  # named twice in one request
                    continue
                draft.touch(table, record_id)
                self._unlink_everywhere(base, table, record, draft)
                del table.records[record_id]
            return list(record_ids)

    # --- internals --------------------------------------------------------------------------

    @contextmanager
    def _mutation(self, base_id: str, source: str) -> Iterator[_Draft]:
        # Each mutation validates everything before it changes anything, so a failed request
        # changes nothing, as in Airtable, without copying the base.
        with self.lock:
            base = self.base(base_id)
            draft = _Draft()
            yield draft
            changes = self._changes(base, draft)
            if not changes:
                return
            base.transaction_number += 1
            transaction = Transaction(
                base.id, base.transaction_number, self.clock.now(), source, tuple(changes)
            )
            for listener in list(self._listeners):
                listener(transaction)

    def _changes(self, base: Base, draft: _Draft) -> list[Change]:
        changes: list[Change] = list(draft.schema_changes)
        for table_id, record_id in draft.order:
            before = draft.before[(table_id, record_id)]
            table = base.tables.get(table_id)
            record = table.records.get(record_id) if table is not None else None
            if before is None and record is None:
                continue
            if before is None and record is not None:
                changes.append(
                    RecordCreated(
                        table_id, record_id, iso_millis(record.created_time), copy.deepcopy(record.cells)
                    )
                )
            elif record is None:
                changes.append(RecordDestroyed(table_id, record_id, copy.deepcopy(before or {})))
            else:
                assert before is not None
                changed_ids = [
                    fid for fid in set(before) | set(record.cells) if before.get(fid) != record.cells.get(fid)
                ]
                if not changed_ids:
                    continue
                changes.append(
                    RecordChanged(
                        table_id,
                        record_id,
                        current={fid: copy.deepcopy(record.cells.get(fid)) for fid in changed_ids},
                        previous={fid: copy.deepcopy(before.get(fid)) for fid in changed_ids},
                        unchanged={
                            fid: copy.deepcopy(v) for fid, v in record.cells.items() if fid not in changed_ids
                        },
                    )
                )
        return changes

    def _new_record(
        self, base: Base, table: Table, values: Mapping[str, Any], now: datetime, draft: _Draft
    ) -> Record:
        record = Record(
            id=self.ids.new("record"),
            created_time=now,
            last_modified_time=now,
            auto_number=table.next_auto_number,
        )
        table.next_auto_number += 1
        draft.touch(table, record.id)
        table.records[record.id] = record
        self._write_cells(base, table, record, values, replace=False, draft=draft)
        return record

    def _normalize_fields(
        self, base: Base, table: Table, fields: Mapping[str, Any], typecast: bool
    ) -> dict[str, Any]:
        if not isinstance(fields, Mapping):
            raise invalid_request()
        values: dict[str, Any] = {}
        for key, value in fields.items():
            target = table.field(key)
            values[target.id] = cells.normalize(
                target,
                value,
                typecast=typecast,
                table=table,
                linked_record_exists=lambda link_field, record_id: self._linked_record_exists(
                    base, link_field, record_id
                ),
                new_choice=self._add_choice,
                new_attachment=self._attachment,
            )
        return values

    def _write_cells(
        self,
        base: Base,
        table: Table,
        record: Record,
        values: Mapping[str, Any],
        *,
        replace: bool,
        draft: _Draft,
    ) -> None:
        new_cells = {} if replace else dict(record.cells)
        for field_id, value in values.items():
            if value is None:
                new_cells.pop(field_id, None)
            else:
                new_cells[field_id] = value
        for field_id in set(record.cells) | set(new_cells):
            table_field = table.fields.get(field_id)
            if table_field is not None and table_field.type == "multipleRecordLinks":
                self._sync_inverse(
                    base,
                    table_field,
                    record.id,
                    record.cells.get(field_id, []),
                    new_cells.get(field_id, []),
                    draft,
                )
        if new_cells != record.cells:
            record.cells = new_cells
            record.last_modified_time = self.clock.now()

    def _sync_inverse(
        self,
        base: Base,
        link_field: Field,
        record_id: str,
        old: Iterable[str],
        new: Iterable[str],
        draft: _Draft,
    ) -> None:
        inverse = self._inverse_of(base, link_field)
        if inverse is None:
            return
        other_table, inverse_field = inverse
        old_set, new_set = set(old), set(new)
        for other_id in old_set ^ new_set:
            other = other_table.records.get(other_id)
            if other is None:
                continue
            draft.touch(other_table, other_id)
            links = list(other.cells.get(inverse_field.id, []))
            if other_id in new_set and record_id not in links:
                links.append(record_id)
            elif other_id in old_set and record_id in links:
                links.remove(record_id)
            if links:
                other.cells[inverse_field.id] = links
            else:
                other.cells.pop(inverse_field.id, None)
            other.last_modified_time = self.clock.now()

    def _unlink_everywhere(self, base: Base, table: Table, record: Record, draft: _Draft) -> None:
        for field_id, value in list(record.cells.items()):
            table_field = table.fields.get(field_id)
            if table_field is not None and table_field.type == "multipleRecordLinks":
                self._sync_inverse(base, table_field, record.id, value, [], draft)

    def _inverse_of(self, base: Base, link_field: Field) -> tuple[Table, Field] | None:
        options = link_field.options or {}
        other_table = base.tables.get(options.get("linkedTableId", ""))
        inverse_id = options.get("inverseLinkFieldId")
        if other_table is None or inverse_id is None or inverse_id not in other_table.fields:
            return None
        return other_table, other_table.fields[inverse_id]

    def _linked_record_exists(self, base: Base, link_field: Field, record_id: str) -> bool:
        linked_table = base.tables.get((link_field.options or {}).get("linkedTableId", ""))
        return linked_table is not None and record_id in linked_table.records

    def _add_choice(self, select_field: Field, name: str) -> None:
        options = select_field.options if select_field.options is not None else {}
        select_field.options = options
        choices = options.setdefault("choices", [])
        choices.append(
            {
                "id": self.ids.new("select_option"),
                "name": name,
                "color": cells.SELECT_COLORS[len(choices) % 10],
            }
        )

    def _assign_choice_ids(self, select_field: Field) -> None:
        options = select_field.options if select_field.options is not None else {}
        select_field.options = options
        choices = options.setdefault("choices", [])
        for index, choice in enumerate(choices):
            choice.setdefault("id", self.ids.new("select_option"))
            choice.setdefault("color", cells.SELECT_COLORS[index % 10])

    def _attachment(self, attachment_field: Field, value: Any) -> dict[str, Any]:
        """Store an attachment written as ``{"url", "filename"?}``, ``{"id"}`` or with ``content`` bytes."""
        if not isinstance(value, Mapping):
            raise invalid_value(attachment_field.name, "expected attachment objects")
        if set(value) == {"id"}:
            stored = self.attachments.get(str(value["id"]))
            if stored is None:
                raise invalid_value(attachment_field.name, f'unknown attachment id "{value["id"]}"')
        elif "content" in value and isinstance(value["content"], bytes):
            stored = self._store_attachment(
                str(value.get("filename", "file")),
                str(value.get("type", "application/octet-stream")),
                value["content"],
            )
        elif isinstance(value.get("url"), str) and value["url"].startswith(("http://", "https://")):
            url = value["url"]
            filename = str(value.get("filename") or url.rstrip("/").rsplit("/", 1)[-1] or "file")
            # No network here: the stored bytes stand for the file Airtable would have downloaded.
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            stored = self._store_attachment(filename, content_type, f"content of {url}".encode())
        else:
            raise invalid_value(attachment_field.name, "an attachment needs an http(s) url or an id")
        return {
            "id": stored.id,
            "filename": stored.filename,
            "size": len(stored.content),
            "type": stored.content_type,
        }

    def _store_attachment(self, filename: str, content_type: str, content: bytes) -> StoredAttachment:
        stored = StoredAttachment(self.ids.new("attachment"), filename, content_type, content)
        self.attachments[stored.id] = stored
        return stored

    def _check_new_field_name(self, table: Table, name: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise AirtableApiError(422, "INVALID_FIELD_NAME", "Field name must be a non-empty string")
        if any(existing.name.lower() == name.lower() for existing in table.fields.values()):
            raise AirtableApiError(
                422, "DUPLICATE_OR_EMPTY_FIELD_NAME", f'A field named "{name}" already exists'
            )

    def _build_table(self, base: Base, spec: TableSpec) -> list[tuple[Table, Field]]:
        name = spec["name"]
        if any(existing.name == name for existing in base.tables.values()):
            raise AirtableApiError(422, "DUPLICATE_TABLE_NAME", f'A table named "{name}" already exists')
        field_specs = list(spec["fields"])
        if not field_specs:
            raise AirtableApiError(422, "INVALID_REQUEST_UNKNOWN", "A table needs at least one field")
        fields: dict[str, Field] = {}
        pending_links: list[tuple[Table, Field]] = []
        for field_spec in field_specs:
            new_field = Field(
                self.ids.new("field"),
                field_spec["name"],
                field_spec["type"],
                copy.deepcopy(dict(field_spec["options"])) if field_spec.get("options") is not None else None,
                field_spec.get("description"),
            )
            if new_field.type in {"singleSelect", "multipleSelects"}:
                self._assign_choice_ids(new_field)
            fields[new_field.id] = new_field
        primary_field_id = next(iter(fields))
        table = Table(
            self.ids.new("table"), name, primary_field_id, fields, {}, description=spec.get("description")
        )
        for view_spec in spec.get("views") or [{"name": "Grid view"}]:
            view = View(
                self.ids.new("view"),
                view_spec["name"],
                view_spec.get("type", "grid"),
                [
                    (table.field(field_name).id, direction)
                    for field_name, direction in view_spec.get("sort", [])
                ],
                view_spec.get("formula"),
            )
            table.views[view.id] = view
        base.tables[table.id] = table
        pending_links.extend((table, f) for f in fields.values() if f.type == "multipleRecordLinks")
        return pending_links

    def _resolve_links(self, base: Base, links: list[tuple[Table, Field]], *, draft: _Draft | None) -> None:
        """Point link fields at their tables and give each an inverse field there, as Airtable does."""
        for table, link_field in links:
            options = link_field.options if link_field.options is not None else {}
            link_field.options = options
            target_key = options.pop("linkedTable", None) or options.get("linkedTableId")
            if target_key is None:
                raise AirtableApiError(
                    422, "INVALID_FIELD_OPTIONS", f'Link field "{link_field.name}" needs a linked table'
                )
            linked_table = base.table(target_key)
            options["linkedTableId"] = linked_table.id
            options.setdefault("isReversed", False)
            options.setdefault("prefersSingleRecordLink", False)
            if "inverseLinkFieldId" in options or linked_table.id == table.id:
                continue
            inverse_name = table.name
            suffix = 2
            while linked_table.find_field(inverse_name) is not None:
                inverse_name = f"{table.name} {suffix}"
                suffix += 1
            inverse = Field(
                self.ids.new("field"),
                inverse_name,
                "multipleRecordLinks",
                {
                    "linkedTableId": table.id,
                    "inverseLinkFieldId": link_field.id,
                    "isReversed": False,
                    "prefersSingleRecordLink": False,
                },
            )
            linked_table.fields[inverse.id] = inverse
            options["inverseLinkFieldId"] = inverse.id
            if draft is not None:
                draft.schema_changes.append(FieldCreated(linked_table.id, inverse.schema()))
