"""Webhook specifications (reference §6): validation at create time, and the filters they imply."""

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import AirtableApiError
from .model import Base

DATA_TYPES = frozenset({"tableData", "tableFields", "tableMetadata"})
CHANGE_TYPES = frozenset({"add", "remove", "update"})
# The documented enum was truncated in the archived docs; the rest comes from third-party lists.
SOURCES = frozenset(
    {
        "client",
        "publicApi",
        "formSubmission",
        "formPageSubmission",
        "automation",
        "system",
        "sync",
        "anonymousUser",
        "unknown",
    }
)
_OPTION_KEYS = frozenset({"filters", "includes"})
_FILTER_KEYS = frozenset(
    {
        "dataTypes",
        "recordChangeScope",
        "changeTypes",
        "fromSources",
        "sourceOptions",
        "watchDataInFieldIds",
        "watchSchemasOfFieldIds",
    }
)
_INCLUDE_KEYS = frozenset(
    {"includeCellValuesInFieldIds", "includePreviousCellValues", "includePreviousFieldDefinitions"}
)


def invalid_specification(detail: str) -> AirtableApiError:
    return AirtableApiError(422, "INVALID_REQUEST_UNKNOWN", f"Invalid webhook specification: {detail}")


@dataclass(frozen=True)
class WebhookSpec:
    """A validated specification; ``None`` filters mean "no restriction"."""

    raw: dict[str, Any]  # exactly as created, echoed by list webhooks
    data_types: frozenset[str]
    scope_table_id: str | None
    change_types: frozenset[str] | None
    from_sources: frozenset[str] | None
    watch_data_field_ids: frozenset[str] | None
    watch_schema_field_ids: frozenset[str] | None
    include_all_cell_values: bool
    include_cell_value_field_ids: frozenset[str]
    include_previous_cell_values: bool
    include_previous_field_definitions: bool

    def covers(self, data_type: str, change_type: str, table_id: str | None) -> bool:
        """Whether a change of this kind, in this table (None: a new table), passes the filters."""
        if data_type not in self.data_types:
            return False
        if self.change_types is not None and change_type not in self.change_types:
            return False
        return self.scope_table_id is None or self.scope_table_id == table_id

    def accepts_source(self, source: str) -> bool:
        return self.from_sources is None or source in self.from_sources

    def includes_cell_value(self, field_id: str) -> bool:
        return self.include_all_cell_values or field_id in self.include_cell_value_field_ids

    def watched_field_ids(self) -> frozenset[str]:
        """Fields whose deletion makes the filters invalid."""
        return (self.watch_data_field_ids or frozenset()) | (self.watch_schema_field_ids or frozenset())


def _mapping(value: Any, where: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid_specification(f"{where} must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise invalid_specification(f"unknown key {unknown[0]!r} in {where}")
    return value


def _string_list(value: Any, where: str, *, allowed: frozenset[str] | None = None) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid_specification(f"{where} must be an array of strings")
    if allowed is not None:
        for item in value:
            if item not in allowed:
                raise invalid_specification(f"{item!r} is not a valid value for {where}")
    return frozenset(value)


def _field_ids(base: Base, value: Any, where: str, scope_table_id: str | None) -> frozenset[str]:
    ids = _string_list(value, where)
    for field_id in sorted(ids):
        owner = next((table for table in base.tables.values() if field_id in table.fields), None)
        if owner is None:
            raise invalid_specification(f"{where} names {field_id!r}, which is not a field id in this base")
        if scope_table_id is not None and owner.id != scope_table_id:
            raise invalid_specification(f"{where} names {field_id!r}, which is not in recordChangeScope")
    return ids


def _scope_table_id(base: Base, scope: Any) -> str:
    if not isinstance(scope, str):
        raise invalid_specification("filters.recordChangeScope must be a table or view id")
    if scope in base.tables:
        return scope
    for table in base.tables.values():
        if scope in table.views:
            return table.id
    raise invalid_specification(f"filters.recordChangeScope {scope!r} is not a table or view id in this base")


def _flag(includes: Mapping[str, Any], key: str) -> bool:
    value = includes.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_specification(f"includes.{key} must be a boolean")
    return value


def parse_specification(base: Base, specification: Any) -> WebhookSpec:
    """Validate ``specification`` against ``base``'s schema; ids only, never names."""
    if not isinstance(specification, Mapping) or set(specification) != {"options"}:
        raise invalid_specification('the specification must be an object with one key, "options"')
    options = _mapping(specification["options"], "options", _OPTION_KEYS)
    if options.get("filters") is None:
        raise invalid_specification("options.filters is required")
    filters = _mapping(options["filters"], "options.filters", _FILTER_KEYS)
    if filters.get("dataTypes") is None:
        raise invalid_specification("options.filters.dataTypes is required")
    data_types = _string_list(filters["dataTypes"], "filters.dataTypes", allowed=DATA_TYPES)
    if not data_types:
        raise invalid_specification("filters.dataTypes must name at least one data type")
    scope_table_id = (
        _scope_table_id(base, filters["recordChangeScope"])
        if filters.get("recordChangeScope") is not None
        else None
    )
    change_types = (
        _string_list(filters["changeTypes"], "filters.changeTypes", allowed=CHANGE_TYPES)
        if filters.get("changeTypes") is not None
        else None
    )
    from_sources = (
        _string_list(filters["fromSources"], "filters.fromSources", allowed=SOURCES)
        if filters.get("fromSources") is not None
        else None
    )
    if filters.get("sourceOptions") is not None:
        _mapping(
            filters["sourceOptions"],
            "filters.sourceOptions",
            frozenset({"formSubmission", "formPageSubmission"}),
        )
    watch_data = (
        _field_ids(base, filters["watchDataInFieldIds"], "filters.watchDataInFieldIds", scope_table_id)
        if filters.get("watchDataInFieldIds") is not None
        else None
    )
    watch_schema = (
        _field_ids(base, filters["watchSchemasOfFieldIds"], "filters.watchSchemasOfFieldIds", scope_table_id)
        if filters.get("watchSchemasOfFieldIds") is not None
        else None
    )
    includes = _mapping(options.get("includes") or {}, "options.includes", _INCLUDE_KEYS)
    cell_values = includes.get("includeCellValuesInFieldIds")
    include_all = cell_values == "all"
    include_ids: frozenset[str] = frozenset()
    if cell_values is not None and not include_all:
        include_ids = _field_ids(base, cell_values, "includes.includeCellValuesInFieldIds", scope_table_id)
    return WebhookSpec(
        raw=copy.deepcopy(dict(specification)),
        data_types=data_types,
        scope_table_id=scope_table_id,
        change_types=change_types,
        from_sources=from_sources,
        watch_data_field_ids=watch_data,
        watch_schema_field_ids=watch_schema,
        include_all_cell_values=include_all,
        include_cell_value_field_ids=include_ids,
        include_previous_cell_values=_flag(includes, "includePreviousCellValues"),
        include_previous_field_definitions=_flag(includes, "includePreviousFieldDefinitions"),
    )
