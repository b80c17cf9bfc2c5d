"""V1 (REST) to V2 (webhook) cell values (reference §8)."""

from typing import Any

import pytest

from airtable_emulator.cells_v2 import (
    UNNAMED_RECORD,
    PendingAttachments,
    V2Converter,
    destroyed_record_names,
    display_text,
    present,
)
from tests.local.airtable_emulator.webhook_support import BASE_ID, Demo, make_demo


@pytest.fixture
def demo() -> Demo:
    return make_demo()


def converter(demo: Demo, remembered: dict[tuple[str, str], str] | None = None) -> V2Converter:
    names = remembered or {}
    return V2Converter(demo.state.base(BASE_ID), lambda table_id, record_id: names.get((table_id, record_id)))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Ada", "Ada"),
        (3, "3"),
        (3.0, "3"),
        (2.5, "2.5"),
        (None, UNNAMED_RECORD),
        ("", UNNAMED_RECORD),
        (["a", 1], "a, 1"),
        ({"id": "usr00000000000001", "name": "Bo"}, "Bo"),
        ({"id": "usr00000000000001", "email": "bo@example.test"}, "bo@example.test"),
    ],
)
def test_display_text(value: Any, text: str) -> None:
    assert display_text(value) == text


def test_plain_values_pass_through_and_none_stays_null(demo: Demo) -> None:
    convert = converter(demo)
    projects = demo.table_id("Projects")
    assert convert.value(projects, demo.field_id("Projects", "Budget"), 12.5) == 12.5
    assert convert.value(projects, demo.field_id("Projects", "Finished"), True) is True
    assert convert.value(projects, demo.field_id("Projects", "Title"), None) is None
    # A field the base no longer has: the value is kept as it was.
    assert convert.value(projects, "fldGone0000000000", ["x"]) == ["x"]


def test_select_options_become_objects(demo: Demo) -> None:
    convert = converter(demo)
    projects = demo.table_id("Projects")
    status = demo.field_id("Projects", "Status")
    ids = demo.choice_ids("Projects", "Status")
    assert convert.value(projects, status, "Todo") == {
        "id": ids["Todo"],
        "name": "Todo",
        "color": "blueLight2",
    }
    assert convert.value(projects, status, "Unknown") == {"name": "Unknown"}
    tags = demo.field_id("Projects", "Tags")
    converted = convert.value(projects, tags, ["blue"])
    assert [option["name"] for option in converted] == ["blue"]
    assert converted[0]["id"] == demo.choice_ids("Projects", "Tags")["blue"]


def test_links_are_named_by_primary_value_or_memory(demo: Demo) -> None:
    [ada] = demo.state.create_records(BASE_ID, "People", [{"Name": "Ada"}])
    [nameless] = demo.state.create_records(BASE_ID, "People", [{"Age": 4}])
    people = demo.table_id("People")
    convert = converter(demo, {(people, "recGone0000000000"): "Grace"})
    owner = demo.field_id("Projects", "Owner")
    assert convert.value(
        demo.table_id("Projects"), owner, [ada.id, nameless.id, "recGone0000000000", "recLost0000000000"]
    ) == [
        {"id": ada.id, "name": "Ada"},
        {"id": nameless.id, "name": UNNAMED_RECORD},
        {"id": "recGone0000000000", "name": "Grace"},
        {"id": "recLost0000000000", "name": UNNAMED_RECORD},
    ]


def test_attachments_wait_to_be_presented(demo: Demo) -> None:
    stored = [{"id": "att00000000000001", "filename": "a.txt", "size": 1, "type": "text/plain"}]
    pending = converter(demo).value(demo.table_id("Projects"), demo.field_id("Projects", "Files"), stored)
    assert pending == PendingAttachments(tuple(stored))
    served = present(
        {"cells": {"f": pending, "n": [1, None]}}, lambda items: [{**i, "url": "u"} for i in items]
    )
    assert served == {"cells": {"f": [{**stored[0], "url": "u"}], "n": [1, None]}}
    assert "url" not in stored[0]


def test_destroyed_records_keep_their_names_for_their_transaction(demo: Demo) -> None:
    [ada] = demo.state.create_records(BASE_ID, "People", [{"Name": "Ada"}])
    seen: list[dict[tuple[str, str], str]] = []
    base = demo.state.base(BASE_ID)
    demo.state.subscribe(lambda transaction: seen.append(destroyed_record_names(base, transaction.changes)))
    demo.state.delete_records(BASE_ID, "People", [ada.id])
    assert seen == [{(demo.table_id("People"), ada.id): "Ada"}]
