"""Reading records: list-records parameters, ordering, filtering, paging iterators and record rendering.

Paging works like Airtable's: the first page takes a snapshot of the matching record ids (in order) and
the ``offset`` names that server-side iterator and the next record (``itr…/rec…``). Later pages return
the snapshot's records with their current values; a record deleted since the snapshot is skipped. An
iterator idle for ``iterator_idle_timeout_seconds`` on the injectable clock (or dropped on demand, or
never issued) answers 422 ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``.

Order without ``sort`` or ``view`` is creation order (Airtable's is arbitrary). Sorting puts empty cells
first when ascending; single selects sort by option order, links by the linked records' primary values.
"""

import copy
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import Clock, iso_millis
from .errors import AirtableApiError, invalid_request
from .formula import CompiledFormula, FormulaError, compile_formula, to_text
from .ids import IdFactory, looks_like
from .model import AirtableState, Base, Field, Record, Table
from .settings import EmulatorSettings

Presenter = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
Query = Mapping[str, list[str]]

MAX_PAGE_SIZE = 100
_SORT_PARAM = re.compile(r"^sort\[(\d+)\]\[(field|direction)\]$")
_ARRAY_PARAM = re.compile(r"^(fields|recordMetadata|records)\[(\d*)\]$")
_NUMBER_TYPES = {"number", "currency", "percent", "duration", "rating", "autoNumber", "count"}


def _bad(detail: str) -> AirtableApiError:
    return invalid_request(
        f"Invalid request: parameter validation failed. Check your request data. ({detail})"
    )


def iterator_not_available() -> AirtableApiError:
    return AirtableApiError(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")


def invalid_formula(detail: str) -> AirtableApiError:
    return AirtableApiError(
        422, "INVALID_FILTER_BY_FORMULA", f"The formula for filtering records is invalid: {detail}"
    )


# --- parameters --------------------------------------------------------------------------------


@dataclass
class ReadParams:
    """How records are rendered (list and get record)."""

    cell_format: str = "json"
    by_field_id: bool = False
    time_zone: str | None = None
    user_locale: str | None = None


@dataclass
class ListParams(ReadParams):
    page_size: int = MAX_PAGE_SIZE
    max_records: int | None = None
    offset: str | None = None
    view: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    formula: str | None = None
    fields: list[str] | None = None
    comment_count: bool = False


def parse_bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "1"}:
        return True
    if lowered in {"false", "0"}:
        return False
    raise _bad(f"{name} must be true, false, 1 or 0")


def _positive_int(name: str, value: Any, *, maximum: int | None = None, from_text: bool = False) -> int:
    if from_text and isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{name} must be an integer")
    if value < 1 or (maximum is not None and value > maximum):
        limit = f" and at most {maximum}" if maximum is not None else ""
        raise _bad(f"{name} must be at least 1{limit}")
    return value


def _single(query: Query, name: str) -> str:
    values = query[name]
    if len(values) != 1:
        raise _bad(f"{name} given {len(values)} times")
    return values[0]


def _collect_arrays(query: Query) -> tuple[dict[str, list[str]], dict[int, dict[str, str]], list[str]]:
    """``name[]``/``name[n]`` arrays, ``sort[n][part]`` entries, and the remaining plain names."""
    arrays: dict[str, list[tuple[int, int, str]]] = {}
    sorts: dict[int, dict[str, str]] = {}
    plain: list[str] = []
    for order, (name, values) in enumerate(query.items()):
        sort_match = _SORT_PARAM.match(name)
        array_match = _ARRAY_PARAM.match(name)
        if sort_match:
            entry = sorts.setdefault(int(sort_match.group(1)), {})
            entry[sort_match.group(2)] = _single(query, name)
        elif array_match:
            index = int(array_match.group(2)) if array_match.group(2) else -1
            bucket = arrays.setdefault(array_match.group(1), [])
            bucket.extend((index, order * 10_000 + position, value) for position, value in enumerate(values))
        else:
            plain.append(name)
    ordered = {name: [value for _, _, value in sorted(items)] for name, items in arrays.items()}
    return ordered, sorts, plain


def _apply_read_param(params: ReadParams, name: str, value: str) -> bool:
    if name == "cellFormat":
        params.cell_format = value
    elif name == "returnFieldsByFieldId":
        params.by_field_id = parse_bool(name, value)
    elif name == "timeZone":
        params.time_zone = value
    elif name == "userLocale":
        params.user_locale = value
    else:
        return False
    return True


def read_params_from_query(query: Query) -> ReadParams:
    """Get record: ``cellFormat``, ``returnFieldsByFieldId``, ``timeZone``, ``userLocale``."""
    params = ReadParams()
    for name in query:
        if not _apply_read_param(params, name, _single(query, name)):
            raise _bad(f"unknown parameter {name!r}")
    return params


def list_params_from_query(query: Query) -> ListParams:
    """The GET form: ``fields[]``, ``sort[0][field]``, ``recordMetadata[]``, scalars once each."""
    params = ListParams()
    arrays, sorts, plain = _collect_arrays(query)
    for name in plain:
        value = _single(query, name)
        if _apply_read_param(params, name, value):
            continue
        if name == "pageSize":
            params.page_size = _positive_int(name, value, maximum=MAX_PAGE_SIZE, from_text=True)
        elif name == "maxRecords":
            params.max_records = _positive_int(name, value, from_text=True)
        elif name == "offset":
            params.offset = value
        elif name == "view":
            params.view = value
        elif name == "filterByFormula":
            params.formula = value
        else:
            raise _bad(f"unknown parameter {name!r}")
    for name, values in arrays.items():
        if name == "fields":
            params.fields = values
        elif name == "recordMetadata":
            params.comment_count = _record_metadata(values)
        else:
            raise _bad(f"unknown parameter {name}[]")
    params.sort = _sort_entries([sorts[index] for index in sorted(sorts)])
    return params


def list_params_from_body(body: Any, query: Query) -> ListParams:
    """The POST ``listRecords`` form: the same parameters as JSON; ``timeZone``/``userLocale`` may stay
    in the query string."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    params = ListParams()
    for name in query:
        if name not in {"timeZone", "userLocale"}:
            raise _bad(f"unknown query parameter {name!r} (send it in the JSON body)")
        _apply_read_param(params, name, _single(query, name))
    for name, value in body.items():
        if name in {"cellFormat", "timeZone", "userLocale", "offset", "view", "filterByFormula"}:
            if not isinstance(value, str):
                raise _bad(f"{name} must be a string")
            if name == "offset":
                params.offset = value
            elif name == "view":
                params.view = value
            elif name == "filterByFormula":
                params.formula = value
            else:
                _apply_read_param(params, name, value)
        elif name == "returnFieldsByFieldId":
            if not isinstance(value, bool):
                raise _bad(f"{name} must be a boolean")
            params.by_field_id = value
        elif name == "pageSize":
            params.page_size = _positive_int(name, value, maximum=MAX_PAGE_SIZE)
        elif name == "maxRecords":
            params.max_records = _positive_int(name, value)
        elif name == "fields":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise _bad("fields must be an array of field names or ids")
            params.fields = value
        elif name == "recordMetadata":
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise _bad("recordMetadata must be an array")
            params.comment_count = _record_metadata(value)
        elif name == "sort":
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                raise _bad("sort must be an array of {field, direction} objects")
            params.sort = _sort_entries(value)
        else:
            raise _bad(f"unknown parameter {name!r}")
    return params


def _record_metadata(values: list[str]) -> bool:
    for value in values:
        if value != "commentCount":
            raise _bad(f"recordMetadata only accepts commentCount, not {value!r}")
    return bool(values)


def _sort_entries(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    sort: list[tuple[str, str]] = []
    for entry in entries:
        if set(entry) - {"field", "direction"} or not isinstance(entry.get("field"), str):
            raise _bad("each sort entry needs a field (and optionally a direction)")
        direction = entry.get("direction", "asc")
        if direction not in ("asc", "desc"):
            raise _bad("sort direction must be asc or desc")
        sort.append((entry["field"], direction))
    return sort


def check_cell_format(params: ReadParams) -> None:
    if params.cell_format == "json":
        return
    if params.cell_format == "string":
        raise _bad("cellFormat=string is not emulated; use cellFormat=json")
    raise _bad("cellFormat must be json or string")


# --- values for formulas and sorting ------------------------------------------------------------


def raw_cell(table: Table, table_field: Field, record: Record) -> Any:
    """The record's REST value of one field, computed fields included; None when empty."""
    kind = table_field.type
    if kind == "autoNumber":
        return record.auto_number
    if kind == "createdTime":
        return iso_millis(record.created_time)
    if kind == "lastModifiedTime":
        return iso_millis(record.last_modified_time)
    return record.cells.get(table_field.id)


def _linked_names(base: Base, table_field: Field, record_ids: list[str]) -> list[str]:
    linked = base.tables.get((table_field.options or {}).get("linkedTableId", ""))
    names: list[str] = []
    for record_id in record_ids:
        other = linked.records.get(record_id) if linked is not None else None
        if other is None or linked is None:
            names.append(record_id)
            continue
        primary = raw_cell(linked, linked.fields[linked.primary_field_id], other)
        names.append(to_text(primary))
    return names


def formula_value(base: Base, table_field: Field, value: Any) -> Any:
    """A cell as Airtable formulas see it: text, number, true or blank (lists become joined text)."""
    if value is None:
        return None
    kind = table_field.type
    if kind == "multipleRecordLinks" and isinstance(value, list):
        return ", ".join(_linked_names(base, table_field, value))
    if isinstance(value, bool | int | float | str):
        return value
    return to_text(value)


def _sort_value(base: Base, table_field: Field, value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    kind = table_field.type
    choices = [choice["name"] for choice in (table_field.options or {}).get("choices", [])]
    if kind == "singleSelect":
        return (1, choices.index(value) if value in choices else len(choices))
    if kind == "multipleSelects" and isinstance(value, list):
        return (3, tuple(choices.index(v) if v in choices else len(choices) for v in value))
    if kind == "multipleRecordLinks" and isinstance(value, list):
        return (2, ", ".join(_linked_names(base, table_field, value)).casefold())
    if kind in _NUMBER_TYPES or isinstance(value, bool | int | float):
        try:
            return (1, float(value))
        except (TypeError, ValueError):
            return (2, to_text(value).casefold())
    return (2, to_text(value).casefold())


def _sort_key(base: Base, table: Table, table_field: Field) -> Callable[[Record], tuple[int, Any]]:
    def key(record: Record) -> tuple[int, Any]:
        return _sort_value(base, table_field, raw_cell(table, table_field, record))

    return key


# --- iterators ---------------------------------------------------------------------------------


@dataclass
class ListIterator:
    id: str
    base_id: str
    table_id: str
    record_ids: list[str]
    positions: dict[str, int]
    last_used: datetime


class IteratorStore:
    """Server-side list iterators, expired by idleness on the injectable clock."""

    max_iterators = 10_000

    def __init__(self, clock: Clock, settings: EmulatorSettings) -> None:
        self._clock = clock
        self._settings = settings
        # Separate from the state's seeded ids, so reading never changes which ids writes get.
        self._ids = IdFactory()
        self._lock = threading.Lock()
        self._iterators: dict[str, ListIterator] = {}

    def __len__(self) -> int:
        return len(self._iterators)

    def open(self, base_id: str, table_id: str, record_ids: list[str]) -> ListIterator:
        now = self._clock.now()
        iterator = ListIterator(
            self._ids.new("iterator"),
            base_id,
            table_id,
            record_ids,
            {record_id: index for index, record_id in enumerate(record_ids)},
            now,
        )
        with self._lock:
            if len(self._iterators) >= self.max_iterators:
                self._drop_expired(now)
            while len(self._iterators) >= self.max_iterators:
                del self._iterators[next(iter(self._iterators))]
            self._iterators[iterator.id] = iterator
        return iterator

    def find(self, base_id: str, table_id: str, iterator_id: str) -> ListIterator:
        now = self._clock.now()
        with self._lock:
            iterator = self._iterators.get(iterator_id)
            if iterator is None:
                raise iterator_not_available()
            if self._expired(iterator, now):
                del self._iterators[iterator_id]
                raise iterator_not_available()
            if iterator.base_id != base_id or iterator.table_id != table_id:
                raise iterator_not_available()
            iterator.last_used = now
            return iterator

    def close(self, iterator_id: str) -> None:
        with self._lock:
            self._iterators.pop(iterator_id, None)

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._iterators)
            self._iterators.clear()
            return count

    def _expired(self, iterator: ListIterator, now: datetime) -> bool:
        idle = (now - iterator.last_used).total_seconds()
        return idle > self._settings.iterator_idle_timeout_seconds

    def _drop_expired(self, now: datetime) -> None:
        for iterator_id in [key for key, value in self._iterators.items() if self._expired(value, now)]:
            del self._iterators[iterator_id]


# --- the service -------------------------------------------------------------------------------


class RecordReader:
    """List records, get record, and the record shape every records endpoint answers with."""

    def __init__(self, state: AirtableState, present_attachments: Presenter) -> None:
        self.state = state
        self.present_attachments = present_attachments
        self.iterators = IteratorStore(state.clock, state.settings)

    def render(
        self,
        table: Table,
        record: Record,
        *,
        by_field_id: bool = False,
        only_field_ids: set[str] | None = None,
        comment_count: bool = False,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_id, table_field in table.fields.items():
            if only_field_ids is not None and field_id not in only_field_ids:
                continue
            value = raw_cell(table, table_field, record)
            if value is None:
                continue
            value = copy.deepcopy(value)
            if table_field.type == "multipleAttachments" and isinstance(value, list):
                value = self.present_attachments(value)
            values[field_id if by_field_id else table_field.name] = value
        body: dict[str, Any] = {
            "id": record.id,
            "createdTime": iso_millis(record.created_time),
            "fields": values,
        }
        if comment_count:
            body["commentCount"] = record.comment_count
        return body

    def get_record(self, base_id: str, table_key: str, record_id: str, params: ReadParams) -> dict[str, Any]:
        check_cell_format(params)
        with self.state.lock:
            table = self.state.table(base_id, table_key)
            return self.render(table, table.record(record_id), by_field_id=params.by_field_id)

    def list_records(self, base_id: str, table_key: str, params: ListParams) -> dict[str, Any]:
        with self.state.lock:
            base = self.state.base(base_id)
            table = base.table(table_key)
            check_cell_format(params)
            only = {table.field(key).id for key in params.fields} if params.fields is not None else None
            if params.offset is not None:
                iterator, start = self._resume(base_id, table, params.offset)
                record_ids = iterator.record_ids
            else:
                iterator, start = None, 0
                record_ids = self._matching_ids(base, table, params)
            page: list[dict[str, Any]] = []
            index = start
            while index < len(record_ids) and len(page) < params.page_size:
                record = table.records.get(record_ids[index])
                index += 1
                if record is not None:
                    page.append(
                        self.render(
                            table,
                            record,
                            by_field_id=params.by_field_id,
                            only_field_ids=only,
                            comment_count=params.comment_count,
                        )
                    )
            while index < len(record_ids) and record_ids[index] not in table.records:
                index += 1
            body: dict[str, Any] = {"records": page}
            if index < len(record_ids):
                if iterator is None:
                    iterator = self.iterators.open(base_id, table.id, record_ids)
                body["offset"] = f"{iterator.id}/{record_ids[index]}"
            elif iterator is not None:
                self.iterators.close(iterator.id)
            return body

    def _resume(self, base_id: str, table: Table, offset: str) -> tuple[ListIterator, int]:
        iterator_id, _, record_id = offset.partition("/")
        if not looks_like("iterator", iterator_id) or not looks_like("record", record_id):
            raise iterator_not_available()
        iterator = self.iterators.find(base_id, table.id, iterator_id)
        position = iterator.positions.get(record_id)
        if position is None:
            raise iterator_not_available()
        return iterator, position

    def _matching_ids(self, base: Base, table: Table, params: ListParams) -> list[str]:
        records = list(table.records.values())
        sort: list[tuple[str, str]] = []
        if params.view is not None:
            view = table.view(params.view)
            if view.formula:
                records = self._filter(base, table, records, view.formula)
            sort = list(view.sort)
        if params.formula is not None and params.formula.strip():
            records = self._filter(base, table, records, params.formula)
        if params.sort:
            sort = [(table.field(key).id, direction) for key, direction in params.sort]
        for field_id, direction in reversed(sort):
            table_field = table.fields.get(field_id)
            if table_field is None:  # a view sorted by a field deleted since
                continue
            records.sort(key=_sort_key(base, table, table_field), reverse=direction == "desc")
        if params.max_records is not None:
            records = records[: params.max_records]
        return [record.id for record in records]

    def _filter(self, base: Base, table: Table, records: list[Record], text: str) -> list[Record]:
        formula = self._compile(table, text)
        kept: list[Record] = []
        for record in records:
            cache: dict[str, Any] = {}

            def cell(field_id: str, record: Record = record, cache: dict[str, Any] = cache) -> Any:
                if field_id not in cache:
                    table_field = table.fields[field_id]
                    cache[field_id] = formula_value(base, table_field, raw_cell(table, table_field, record))
                return cache[field_id]

            if formula.matches(record.id, cell):
                kept.append(record)
        return kept

    def _compile(self, table: Table, text: str) -> CompiledFormula:
        def resolve(name: str) -> str | None:
            found = table.find_field(name)
            return found.id if found is not None else None

        try:
            return compile_formula(text, resolve)
        except FormulaError as error:
            raise invalid_formula(str(error)) from None
