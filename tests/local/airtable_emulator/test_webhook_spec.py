"""Webhook specification validation and the filters it implies (reference §6 "Specification")."""

from typing import Any

import pytest

from airtable_emulator.errors import AirtableApiError
from airtable_emulator.model import Base
from airtable_emulator.webhook_spec import parse_specification
from tests.local.airtable_emulator.webhook_support import BASE_ID, Demo, make_demo


@pytest.fixture
def demo() -> Demo:
    return make_demo()


@pytest.fixture
def base(demo: Demo) -> Base:
    return demo.state.base(BASE_ID)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({}, "filters is required"),
        ({"filters": {}}, "dataTypes is required"),
        ({"filters": {"dataTypes": []}}, "at least one"),
        ({"filters": {"dataTypes": ["tableRows"]}}, "'tableRows'"),
        ({"filters": {"dataTypes": "tableData"}}, "array of strings"),
        ({"filters": {"dataTypes": ["tableData"], "colour": "red"}}, "'colour'"),
        ({"filters": {"dataTypes": ["tableData"], "recordChangeScope": "People"}}, "'People'"),
        ({"filters": {"dataTypes": ["tableData"], "changeTypes": ["edit"]}}, "'edit'"),
        ({"filters": {"dataTypes": ["tableData"], "fromSources": ["email"]}}, "'email'"),
        ({"filters": {"dataTypes": ["tableData"], "watchDataInFieldIds": ["Name"]}}, "'Name'"),
        ({"filters": {"dataTypes": ["tableData"], "watchSchemasOfFieldIds": "fld"}}, "array of strings"),
        ({"filters": {"dataTypes": ["tableData"], "sourceOptions": {"email": {}}}}, "'email'"),
        (
            {"filters": {"dataTypes": ["tableData"]}, "includes": {"includePreviousCellValues": "yes"}},
            "boolean",
        ),
        (
            {"filters": {"dataTypes": ["tableData"]}, "includes": {"includeCellValuesInFieldIds": "some"}},
            "array",
        ),
        ({"filters": {"dataTypes": ["tableData"]}, "includes": {"everything": True}}, "'everything'"),
        ({"filters": {"dataTypes": ["tableData"]}, "extras": {}}, "'extras'"),
        ("not an object", "must be an object"),
    ],
)
def test_invalid_specifications_are_422(base: Base, options: Any, fragment: str) -> None:
    with pytest.raises(AirtableApiError) as excinfo:
        parse_specification(base, {"options": options})
    assert excinfo.value.status == 422
    assert excinfo.value.type == "INVALID_REQUEST_UNKNOWN"
    assert fragment in str(excinfo.value.message)


@pytest.mark.parametrize("specification", [None, [], {}, {"options": {}, "more": 1}])
def test_the_specification_is_an_object_with_options(base: Base, specification: Any) -> None:
    with pytest.raises(AirtableApiError) as excinfo:
        parse_specification(base, specification)
    assert excinfo.value.status == 422


def test_field_ids_must_belong_to_the_scoped_table(demo: Demo, base: Base) -> None:
    filters = {
        "dataTypes": ["tableData"],
        "recordChangeScope": demo.table_id("People"),
        "watchDataInFieldIds": [demo.field_id("Projects", "Title")],
    }
    with pytest.raises(AirtableApiError) as excinfo:
        parse_specification(base, {"options": {"filters": filters}})
    assert "not in recordChangeScope" in str(excinfo.value.message)


def test_a_full_specification_is_parsed_and_kept_verbatim(demo: Demo, base: Base) -> None:
    name, age = demo.field_id("People", "Name"), demo.field_id("People", "Age")
    specification = {
        "options": {
            "filters": {
                "dataTypes": ["tableData", "tableFields"],
                "recordChangeScope": demo.view_id("People", "Grid view"),
                "changeTypes": ["add", "update"],
                "fromSources": ["client", "publicApi"],
                "watchDataInFieldIds": [age],
                "watchSchemasOfFieldIds": [name],
            },
            "includes": {
                "includeCellValuesInFieldIds": [name],
                "includePreviousCellValues": True,
                "includePreviousFieldDefinitions": False,
            },
        }
    }
    spec = parse_specification(base, specification)
    assert spec.raw == specification
    assert spec.raw is not specification
    assert spec.scope_table_id == demo.table_id("People")  # a view scopes to its table
    assert spec.covers("tableData", "add", demo.table_id("People"))
    assert not spec.covers("tableData", "remove", demo.table_id("People"))
    assert not spec.covers("tableData", "add", demo.table_id("Projects"))
    assert not spec.covers("tableMetadata", "update", demo.table_id("People"))
    assert spec.accepts_source("publicApi")
    assert not spec.accepts_source("automation")
    assert spec.includes_cell_value(name)
    assert not spec.includes_cell_value(age)
    assert spec.include_previous_cell_values
    assert not spec.include_previous_field_definitions
    assert spec.watched_field_ids() == {name, age}


def test_nulls_mean_absent_as_pyairtable_may_send_them(base: Base) -> None:
    spec = parse_specification(
        base,
        {
            "options": {
                "filters": {"dataTypes": ["tableMetadata"], "recordChangeScope": None, "changeTypes": None},
                "includes": None,
            }
        },
    )
    assert spec.scope_table_id is None
    assert spec.change_types is None
    assert spec.covers("tableMetadata", "remove", None)
    assert not spec.includes_cell_value("fldAnything000000")
