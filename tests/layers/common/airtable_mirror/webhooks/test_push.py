"""The seed project's push format: fields by name, its timestamp as the version, all or nothing."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airtable_emulator.clock import iso_millis
from airtable_mirror.webhooks.push import to_rest_value
from tests.layers.common.airtable_mirror.webhooks.harness import WebhookHarness, push_request, webhook_harness
from tests.support.dynamodb import DynamoTable


@pytest.fixture
def hooks(moto_dynamo: DynamoTable) -> Iterator[WebhookHarness]:
    with webhook_harness(moto_dynamo) as ready:
        yield ready


def at(seconds_ago: float) -> str:
    """A push timestamp; negative: a little ahead of our clock (as Airtable's may be), so that it is
    newer than the full sync the fixture just ran."""
    return iso_millis(datetime.now(UTC) - timedelta(seconds=seconds_ago))


def push(hooks: WebhookHarness, timestamp: str, **sections: Any) -> dict[str, Any]:
    return {
        "event": "update",
        "timestamp": timestamp,
        "payload": {"changedTablesById": {hooks.table_id(): sections}},
    }


def send(hooks: WebhookHarness, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = hooks.receive(push_request(document))
    return response.status, json.loads(response.body)


@pytest.fixture
def synced(hooks: WebhookHarness) -> list[str]:
    """Items with 3 records, fully synced (so the schema, and the records, are in the mirror)."""
    ids = hooks.sync.add_records(3)
    hooks.sync.sync()
    return ids


def test_added_updated_and_deleted_records_are_applied_by_field_name(
    hooks: WebhookHarness, synced: list[str]
) -> None:
    name, color, tags = hooks.field_id("Name"), hooks.field_id("Color"), hooks.field_id("Tags")
    document = push(
        hooks,
        at(-2),
        addedRecords=[
            {"id": "recPushedRecord01", "current": {"Name": "John", "Color": {"id": "sel1", "name": "red"}}}
        ],
        updatedRecords=[{"id": synced[0], "current": {"Name": "Jane", "Tags": [], "Color": "blue"}}],
        deletedRecords=[synced[1]],
    )

    status, body = send(hooks, document)

    assert status == 200
    assert body["applied"] == {"written": 2, "unchanged": 0, "stale": 0, "deleted": 1, "skipped_unknown": 0}
    added = hooks.sync.records.get(hooks.base_id, "recPushedRecord01")
    assert added is not None and added.cells == {name: "John", color: "red"}
    updated = hooks.sync.records.get(hooks.base_id, synced[0])
    assert updated is not None
    assert updated.cells[name] == "Jane" and updated.cells[color] == "blue" and tags not in updated.cells
    assert hooks.sync.records.get(hooks.base_id, synced[1]) is None


def test_a_replayed_or_older_push_changes_nothing(hooks: WebhookHarness, synced: list[str]) -> None:
    newer = push(hooks, at(-10), updatedRecords=[{"id": synced[0], "current": {"Name": "newer"}}])
    older = push(hooks, at(-5), updatedRecords=[{"id": synced[0], "current": {"Name": "older"}}])
    assert send(hooks, newer)[0] == 200

    replay = send(hooks, newer)
    late = send(hooks, older)

    assert replay[1]["applied"]["stale"] == 1 and late[1]["applied"]["stale"] == 1
    stored = hooks.sync.records.get(hooks.base_id, synced[0])
    assert stored is not None and stored.cells[hooks.field_id("Name")] == "newer"


def test_a_webhook_observation_newer_than_the_push_wins(hooks: WebhookHarness, synced: list[str]) -> None:
    # The full sync of the fixture observed the record after this push was made
    status, body = send(hooks, push(hooks, at(3600), deletedRecords=[synced[2]]))
    assert status == 200 and body["applied"]["stale"] == 1
    assert hooks.sync.records.get(hooks.base_id, synced[2]) is not None


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (
            {"updatedRecords": [{"id": "recAAAAAAAAAAAAAA", "current": {"No such field": 1}}]},
            422,
            "UNKNOWN_FIELDS",
        ),
        ({"addedRecords": [{"id": "not-a-record", "current": {}}]}, 400, "INVALID_PUSH"),
        ({"deletedRecords": ["rec#bad"]}, 400, "INVALID_PUSH"),
        ({"addedRecords": [{"id": "recAAAAAAAAAAAAAA", "createdTime": "yesterday"}]}, 400, "INVALID_PUSH"),
    ],
)
def test_an_invalid_push_is_refused_whole(
    hooks: WebhookHarness, synced: list[str], change: dict[str, Any], status: int, code: str
) -> None:
    # A valid deletion rides along: it must not be applied either
    sections = {"deletedRecords": [synced[0]], **change}
    if "deletedRecords" in change:
        sections["deletedRecords"] = [synced[0], *change["deletedRecords"]]
    got_status, body = send(hooks, push(hooks, at(-2), **sections))

    assert (got_status, body["error"]["code"]) == (status, code)
    assert hooks.sync.records.get(hooks.base_id, synced[0]) is not None


def test_a_push_from_the_future_or_for_an_unknown_table_is_refused(
    hooks: WebhookHarness, synced: list[str]
) -> None:
    future = send(
        hooks, push(hooks, iso_millis(datetime.now(UTC) + timedelta(hours=1)), deletedRecords=[synced[0]])
    )
    unknown = send(
        hooks,
        {"event": "x", "timestamp": at(-2), "payload": {"changedTablesById": {"tblNotMirrored001": {}}}},
    )
    no_timestamp = send(hooks, {"event": "x", "payload": {"changedTablesById": {}}})

    assert (future[0], future[1]["error"]["code"]) == (422, "TIMESTAMP_IN_FUTURE")
    assert (unknown[0], unknown[1]["error"]["code"]) == (422, "UNKNOWN_TABLE")
    assert (no_timestamp[0], no_timestamp[1]["error"]["code"]) == (400, "INVALID_PUSH")
    assert hooks.sync.records.get(hooks.base_id, synced[0]) is not None


def test_an_update_of_a_record_the_mirror_lacks_is_skipped(hooks: WebhookHarness, synced: list[str]) -> None:
    status, body = send(
        hooks, push(hooks, at(-2), updatedRecords=[{"id": "recNeverSeen00001", "current": {"Name": "x"}}])
    )
    assert status == 200 and body["applied"]["skipped_unknown"] == 1
    assert hooks.sync.records.get(hooks.base_id, "recNeverSeen00001") is None


def test_a_push_signed_with_another_secret_is_refused(hooks: WebhookHarness, synced: list[str]) -> None:
    response = hooks.receive(push_request(push(hooks, at(-2), deletedRecords=[synced[0]]), key=b"wrong"))
    assert response.status == 401
    assert hooks.sync.records.get(hooks.base_id, synced[0]) is not None


def test_a_pushed_record_matches_what_a_full_sync_stores(hooks: WebhookHarness, synced: list[str]) -> None:
    created_time, cells = hooks.sync.airtable_state()[synced[0]]
    fields = hooks.sync.base.table("Items").fields
    by_name = {fields[field_id].name: value for field_id, value in cells.items()}
    before = hooks.sync.records.get(hooks.base_id, synced[0])

    status, body = send(
        hooks,
        push(
            hooks, at(-2), addedRecords=[{"id": synced[0], "createdTime": created_time, "current": by_name}]
        ),
    )

    # Same content hash as the full sync's copy: only the version moved
    assert status == 200 and body["applied"]["unchanged"] == 1
    after = hooks.sync.records.get(hooks.base_id, synced[0])
    assert before is not None and after is not None
    assert after.content_hash == before.content_hash and after.version > before.version


@pytest.mark.parametrize(
    ("field_type", "value", "expected"),
    [
        ("singleLineText", "", None),
        ("checkbox", False, None),
        ("number", 0, 0),
        ("singleSelect", {"id": "sel1", "name": "red", "color": "redLight2"}, "red"),
        ("multipleSelects", [{"id": "sel1", "name": "a"}, "b"], ["a", "b"]),
        ("multipleRecordLinks", [{"id": "recAAAAAAAAAAAAAA", "name": "A"}], ["recAAAAAAAAAAAAAA"]),
        ("multipleAttachments", [], None),
    ],
)
def test_values_are_reduced_to_the_rest_format(field_type: str, value: Any, expected: Any) -> None:
    assert to_rest_value(field_type, value) == expected
