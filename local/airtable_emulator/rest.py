"""The records and metadata endpoints: request validation, calls into the model, Airtable's shapes.

Every write goes through :class:`AirtableState` with ``source="publicApi"``, so webhooks see HTTP writes.
"""

from typing import Any

from .errors import AirtableApiError, invalid_request
from .listing import (
    Query,
    RecordReader,
    list_params_from_body,
    list_params_from_query,
    read_params_from_query,
)
from .model import AirtableState, Record, Table

SOURCE = "publicApi"
_MISSING_FIELDS = "INVALID_REQUEST_MISSING_FIELDS"


def _bad(detail: str) -> AirtableApiError:
    return invalid_request(
        f"Invalid request: parameter validation failed. Check your request data. ({detail})"
    )


def _body_object(body: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise _bad(f"unknown body parameter {unknown[0]!r}")
    return body


def _optional_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(f"{name} must be a boolean")
    return value


def _no_query(query: Query) -> None:
    for name in query:
        raise _bad(f"unknown parameter {name!r}")


def _fields_of(item: dict[str, Any]) -> dict[str, Any]:
    if "fields" not in item:
        raise AirtableApiError(422, _MISSING_FIELDS, 'Could not find field "fields" in the request body')
    fields = item["fields"]
    if not isinstance(fields, dict):
        raise _bad('"fields" must be an object of field names or ids to values')
    return fields


def _record_list(body: dict[str, Any], verb: str, limit: int) -> list[Any]:
    records = body["records"]
    if not isinstance(records, list):
        raise _bad('"records" must be an array')
    if not records:
        raise AirtableApiError(422, "INVALID_RECORDS", f"At least one record must be {verb} per request")
    if len(records) > limit:
        raise AirtableApiError(
            422,
            "INVALID_RECORDS",
            f"A maximum of {limit} records can be {verb} per request but you have provided {len(records)}.",
        )
    return records


class RecordsApi:
    def __init__(self, state: AirtableState, reader: RecordReader) -> None:
        self.state = state
        self.reader = reader

    @property
    def _limit(self) -> int:
        return self.state.settings.max_records_per_write

    def _render_all(self, table: Table, records: list[Record], by_field_id: bool) -> list[dict[str, Any]]:
        return [self.reader.render(table, record, by_field_id=by_field_id) for record in records]

    # --- reads ----------------------------------------------------------------------------------

    def list_get(self, base_id: str, table_key: str, query: Query) -> Any:
        return self.reader.list_records(base_id, table_key, list_params_from_query(query))

    def list_post(self, base_id: str, table_key: str, query: Query, body: Any) -> Any:
        return self.reader.list_records(base_id, table_key, list_params_from_body(body, query))

    def get(self, base_id: str, table_key: str, record_id: str, query: Query) -> Any:
        return self.reader.get_record(base_id, table_key, record_id, read_params_from_query(query))

    # --- writes ---------------------------------------------------------------------------------

    def create(self, base_id: str, table_key: str, query: Query, body: Any) -> Any:
        _no_query(query)
        request = _body_object(body, {"records", "fields", "typecast", "returnFieldsByFieldId"})
        typecast = _optional_bool(request, "typecast")
        by_field_id = _optional_bool(request, "returnFieldsByFieldId")
        if "records" in request:
            if "fields" in request:
                raise _bad('give either "records" or "fields", not both')
            items = _record_list(request, "created", self._limit)
            field_sets = []
            for item in items:
                field_sets.append(_fields_of(_body_object(item, {"fields"})))
            with self.state.lock:
                table = self.state.table(base_id, table_key)
                created = self.state.create_records(
                    base_id, table.id, field_sets, typecast=typecast, source=SOURCE
                )
                return {"records": self._render_all(table, created, by_field_id)}
        fields = _fields_of(request)
        with self.state.lock:
            table = self.state.table(base_id, table_key)
            (record,) = self.state.create_records(
                base_id, table.id, [fields], typecast=typecast, source=SOURCE
            )
            return self.reader.render(table, record, by_field_id=by_field_id)

    def update_many(self, base_id: str, table_key: str, query: Query, body: Any, *, replace: bool) -> Any:
        _no_query(query)
        request = _body_object(body, {"records", "typecast", "returnFieldsByFieldId", "performUpsert"})
        typecast = _optional_bool(request, "typecast")
        by_field_id = _optional_bool(request, "returnFieldsByFieldId")
        if "records" not in request:
            raise _bad('"records" is required')
        merge_on = self._merge_fields(request.get("performUpsert"))
        items = _record_list(request, "updated", self._limit)
        pairs: list[tuple[str | None, dict[str, Any]]] = []
        for item in items:
            entry = _body_object(item, {"id", "fields"})
            record_id = entry.get("id")
            if record_id is None and merge_on is None:
                raise _bad('each record needs an "id" (or use performUpsert)')
            if record_id is not None and not isinstance(record_id, str):
                raise _bad('"id" must be a record id string')
            pairs.append((record_id, _fields_of(entry)))
        with self.state.lock:
            table = self.state.table(base_id, table_key)
            for record_id, _ in pairs:
                if record_id is not None and record_id not in table.records:
                    raise AirtableApiError(
                        422, "ROW_DOES_NOT_EXIST", f"Record ID {record_id} does not exist in this table"
                    )
            if merge_on is not None:
                records, created, updated = self.state.upsert_records(
                    base_id, table.id, pairs, merge_on, replace=replace, typecast=typecast, source=SOURCE
                )
                return {
                    "records": self._render_all(table, records, by_field_id),
                    "createdRecords": created,
                    "updatedRecords": updated,
                }
            updates = [(record_id, fields) for record_id, fields in pairs if record_id is not None]
            records = self.state.update_records(
                base_id, table.id, updates, replace=replace, typecast=typecast, source=SOURCE
            )
            return {"records": self._render_all(table, records, by_field_id)}

    def update_one(
        self, base_id: str, table_key: str, record_id: str, query: Query, body: Any, *, replace: bool
    ) -> Any:
        _no_query(query)
        request = _body_object(body, {"fields", "typecast", "returnFieldsByFieldId"})
        typecast = _optional_bool(request, "typecast")
        by_field_id = _optional_bool(request, "returnFieldsByFieldId")
        fields = _fields_of(request)
        with self.state.lock:
            table = self.state.table(base_id, table_key)
            (record,) = self.state.update_records(
                base_id, table.id, [(record_id, fields)], replace=replace, typecast=typecast, source=SOURCE
            )
            return self.reader.render(table, record, by_field_id=by_field_id)

    def delete_many(self, base_id: str, table_key: str, query: Query) -> Any:
        record_ids: list[str] = []
        for name, values in query.items():
            if name == "records[]" or (
                name.startswith("records[") and name[8:-1].isdigit() and name[-1] == "]"
            ):
                record_ids.extend(values)
            else:
                raise _bad(f"unknown parameter {name!r}")
        if not record_ids:
            raise _bad("name the records to delete with records[]=rec…")
        if len(record_ids) > self._limit:
            raise AirtableApiError(
                422,
                "INVALID_RECORDS",
                f"A maximum of {self._limit} records can be deleted per request but you have provided "
                f"{len(record_ids)}.",
            )
        with self.state.lock:
            table = self.state.table(base_id, table_key)
            deleted = self.state.delete_records(base_id, table.id, record_ids, source=SOURCE)
        return {"records": [{"id": record_id, "deleted": True} for record_id in deleted]}

    def delete_one(self, base_id: str, table_key: str, record_id: str, query: Query) -> Any:
        _no_query(query)
        with self.state.lock:
            table = self.state.table(base_id, table_key)
            self.state.delete_records(base_id, table.id, [record_id], source=SOURCE)
        return {"id": record_id, "deleted": True}

    def _merge_fields(self, upsert: Any) -> list[str] | None:
        if upsert is None:
            return None
        if not isinstance(upsert, dict) or set(upsert) != {"fieldsToMergeOn"}:
            raise _bad('performUpsert must be {"fieldsToMergeOn": [...]}')
        merge_on = upsert["fieldsToMergeOn"]
        if (
            not isinstance(merge_on, list)
            or not 1 <= len(merge_on) <= 3
            or not all(isinstance(name, str) for name in merge_on)
        ):
            raise _bad("fieldsToMergeOn must be an array of 1 to 3 field names or ids")
        return merge_on


class MetadataApi:
    def __init__(self, state: AirtableState) -> None:
        self.state = state

    def list_bases(self, query: Query) -> Any:
        offset: str | None = None
        for name, values in query.items():
            if name != "offset" or len(values) != 1:
                raise _bad(f"unknown parameter {name!r}")
            offset = values[0]
        with self.state.lock:
            bases = list(self.state.bases.values())
        start = 0
        if offset is not None:
            ids = [base.id for base in bases]
            if offset not in ids:
                raise _bad("offset is not valid")
            start = ids.index(offset)
        size = max(1, self.state.settings.bases_page_size)
        page = bases[start : start + size]
        body: dict[str, Any] = {
            "bases": [
                {"id": base.id, "name": base.name, "permissionLevel": base.permission_level} for base in page
            ]
        }
        if start + size < len(bases):
            body["offset"] = bases[start + size].id
        return body

    def base_schema(self, base_id: str, query: Query) -> Any:
        visible_field_ids = False
        for name, values in query.items():
            if name not in {"include", "include[]"} or any(value != "visibleFieldIds" for value in values):
                raise _bad(f"unknown parameter {name!r} (only include=visibleFieldIds)")
            visible_field_ids = True
        with self.state.lock:
            base = self.state.base(base_id)
            tables = []
            for table in base.tables.values():
                schema = table.schema()
                if visible_field_ids:
                    for view in schema["views"]:
                        if view["type"] == "grid":
                            view["visibleFieldIds"] = list(table.fields)
                tables.append(schema)
        return {"tables": tables}

    def update_field(self, base_id: str, table_key: str, field_key: str, body: Any) -> Any:
        """PATCH /v0/meta/bases/{baseId}/tables/{tableIdOrName}/fields/{columnId}: name and description."""
        changes = _schema_changes(body)
        updated = self.state.update_field(base_id, table_key, field_key, **changes)
        return updated.schema()

    def update_table(self, base_id: str, table_key: str, body: Any) -> Any:
        """PATCH /v0/meta/bases/{baseId}/tables/{tableIdOrName}: name and description."""
        changes = _schema_changes(body)
        updated = self.state.update_table(base_id, table_key, **changes)
        return updated.schema()


def _schema_changes(body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        raise _bad("the request body must be a JSON object")
    unknown = sorted(set(body) - {"name", "description"})
    if unknown:
        raise _bad(f"unknown body parameter {unknown[0]!r}")
    if not body:
        raise _bad("at least one of name and description must be given")
    for key, value in body.items():
        if not isinstance(value, str):
            raise _bad(f"{key} must be a string")
    if "name" in body and not body["name"].strip():
        raise _bad("name must not be empty")
    return {str(key): str(value) for key, value in body.items()}
