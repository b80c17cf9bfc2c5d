"""Equality filters: what each REST value matches, and how filter parameters are read and refused."""

import pytest

from airtable_mirror.records_api.errors import InvalidQueryError
from airtable_mirror.records_api.filters import MAX_FILTERS, FieldFilter, cell_matches, filter_parameters
from airtable_mirror.repository.attribute_values import JsonValue

COLLABORATOR: dict[str, JsonValue] = {"id": "usrAAAAAAAAAAAAAA", "email": "ada@example.com", "name": "Ada"}

MATCHES: list[tuple[JsonValue | None, str, str, bool]] = [
    # cell, field type, wanted, matches
    ("Done", "singleSelect", "Done", True),
    ("Done", "singleSelect", "done", False),
    ("Done", "singleSelect", "Don", False),
    ("a,b", "singleLineText", "a,b", True),
    (3, "number", "3", True),
    (3, "number", "3.0", True),
    (3, "number", "3e0", True),
    (2.5, "number", "2.5", True),
    (2.5, "number", "2.50", True),
    (3, "number", "three", False),
    (3, "number", "1_000", False),
    (3, "number", "", False),
    (-1, "number", "-1", True),
    (True, "checkbox", "true", True),
    (True, "checkbox", "TRUE", True),
    (True, "checkbox", "false", False),
    (None, "checkbox", "false", True),
    (None, "checkbox", "true", False),
    (["bug", "docs"], "multipleSelects", "docs", True),
    (["bug", "docs"], "multipleSelects", "urgent", False),
    (["recAAAAAAAAAAAAAA"], "multipleRecordLinks", "recAAAAAAAAAAAAAA", True),
    ([1, 2], "multipleLookupValues", "2", True),
    (COLLABORATOR, "singleCollaborator", "ada@example.com", True),
    (COLLABORATOR, "singleCollaborator", "Ada", True),
    (COLLABORATOR, "singleCollaborator", "usrAAAAAAAAAAAAAA", True),
    (COLLABORATOR, "singleCollaborator", "Grace", False),
    ([COLLABORATOR], "multipleCollaborators", "Ada", True),
    ([{"id": "attX", "filename": "a.png"}], "multipleAttachments", "attX", True),
    (None, "singleLineText", "", True),
    ("", "singleLineText", "", True),
    ([], "multipleSelects", "", True),
    ("x", "singleLineText", "", False),
    (None, "singleLineText", "x", False),
    ({"label": "Open"}, "button", "Open", False),
]


@pytest.mark.parametrize(("cell", "field_type", "wanted", "expected"), MATCHES)
def test_a_cell_matches_a_filter_value_by_its_rest_format(
    cell: JsonValue | None, field_type: str, wanted: str, expected: bool
) -> None:
    assert cell_matches(cell, field_type, wanted) is expected


def test_a_field_filter_reads_the_cell_by_field_id() -> None:
    done = FieldFilter("fldDone", "Done", "checkbox", "false")
    assert done.matches({"fldOther": True})
    assert not done.matches({"fldDone": True})


PARSED: list[tuple[str, dict[str, str]]] = [
    ("", {}),
    ("limit=10&table_name=Tasks", {}),
    ("filter[Status]=Done", {"Status": "Done"}),
    ("filter%5BStatus%5D=Done", {"Status": "Done"}),
    ("filter[Status]=In+progress&filter[Done]=true", {"Status": "In progress", "Done": "true"}),
    ("filter[Notes]=", {"Notes": ""}),
    ("filter[Cost [USD]]=3", {"Cost [USD]": "3"}),
    ("filter[Tags]=a%2Cb", {"Tags": "a,b"}),
    ("filter[Caf%C3%A9]=ol%C3%A9", {"Café": "olé"}),
]


@pytest.mark.parametrize(("raw_query", "expected"), PARSED)
def test_filter_parameters_are_read_from_the_raw_query_string(
    raw_query: str, expected: dict[str, str]
) -> None:
    assert filter_parameters(raw_query) == expected


REFUSED: list[tuple[str, str]] = [
    # raw query, the parameter the error names
    ("filter=Done", "filter"),
    ("filter[]=Done", "filter[]"),
    ("filter[Status=Done", "filter[Status"),
    ("filter[Status]x=Done", "filter[Status]x"),
    ("filters[Status]=Done", "filters[Status]"),
    ("filter[Status]=Done&filter[Status]=Todo", "filter[Status]"),
    ("filter[Notes]=" + "x" * 1001, "filter[Notes]"),
    ("&".join(f"filter[f{n}]=x" for n in range(MAX_FILTERS + 1)), "filter"),
    ("&".join(f"p{n}=x" for n in range(101)), "query"),
]


@pytest.mark.parametrize(("raw_query", "parameter"), REFUSED)
def test_a_malformed_filter_is_refused_naming_the_parameter(raw_query: str, parameter: str) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        filter_parameters(raw_query)
    assert raised.value.parameter == parameter
    assert str(raised.value).startswith(f"{parameter}: ")
