"""Equality filters on fields: `filter[<field name>]=<value>`, compared with the REST cell value.

The value is text, matched against the cell as Airtable's REST API returns it:

| cell | matches when |
|---|---|
| text, single select, date, email, URL… | the text is equal (case-sensitive) |
| number | the value is a number equal to it (`3`, `3.0` and `3e0` all match 3) |
| checkbox | `true` or `false` (any case); Airtable leaves unchecked boxes out, so `false` matches them |
| list (multiple selects, linked records, lookups) | one element matches |
| object (collaborator, attachment, button) | its `id`, `name` or `email` is equal |
| empty or absent | the value is empty (`filter[Notes]=`) |

Filters are combined with AND. The created-time range is not a filter: it narrows the index read
(records_api/service.py).
"""

import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import parse_qsl

from airtable_mirror.records_api.errors import InvalidQueryError
from airtable_mirror.repository.attribute_values import JsonValue

FILTER_PREFIX = "filter"
MAX_FILTERS = 10
MAX_FILTER_VALUE_LENGTH = 1000
MAX_QUERY_FIELDS = 100
CHECKBOX = "checkbox"

# Patterns, compiled (and cached by `re`) when a request first has a filter: one without compiles none.
# Greedy, so a field named `Cost [USD]` is `filter[Cost [USD]]`
_FILTER_PARAMETER = r"filter\[(?P<name>.+)\]"
_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_OBJECT_KEYS = ("id", "name", "email")


class FieldFilter(NamedTuple):
    field_id: str
    field_name: str
    field_type: str
    value: str

    def matches(self, cells: Mapping[str, JsonValue]) -> bool:
        return cell_matches(cells.get(self.field_id), self.field_type, self.value)


def filter_parameters(raw_query: str) -> dict[str, str]:
    """The `filter[<name>]=<value>` pairs of a raw query string, by field name.

    Read from the raw string, not API Gateway's `queryStringParameters`, which joins repeated
    parameters with commas and so cannot tell `a,b` from `a` and `b`.
    """
    try:
        pairs = parse_qsl(raw_query, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
    except ValueError:
        raise InvalidQueryError("query", f"at most {MAX_QUERY_FIELDS} query parameters") from None
    filters: dict[str, str] = {}
    for key, value in pairs:
        if not key.startswith(FILTER_PREFIX):
            continue
        match = re.fullmatch(_FILTER_PARAMETER, key, re.DOTALL)
        if match is None:
            raise InvalidQueryError(key, "a filter is written filter[<field name>]=<value>")
        name = match["name"]
        if name in filters:
            raise InvalidQueryError(key, "give each field's filter once")
        if len(value) > MAX_FILTER_VALUE_LENGTH:
            raise InvalidQueryError(key, f"a filter value has at most {MAX_FILTER_VALUE_LENGTH} characters")
        filters[name] = value
    if len(filters) > MAX_FILTERS:
        raise InvalidQueryError("filter", f"at most {MAX_FILTERS} field filters")
    return filters


def cell_matches(cell: JsonValue | None, field_type: str, wanted: str) -> bool:
    if cell is None or cell in ("", []):
        return wanted == "" or (field_type == CHECKBOX and wanted.lower() == "false")
    if isinstance(cell, bool):
        return wanted.lower() == ("true" if cell else "false")
    if isinstance(cell, int | float):
        return re.fullmatch(_NUMBER, wanted) is not None and float(wanted) == cell
    if isinstance(cell, str):
        return cell == wanted
    if isinstance(cell, list):
        return any(cell_matches(element, "", wanted) for element in cell if element is not None)
    return any(isinstance(cell.get(key), str) and cell[key] == wanted for key in _OBJECT_KEYS)
