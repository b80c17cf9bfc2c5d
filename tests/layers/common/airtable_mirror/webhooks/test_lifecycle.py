"""Registration, daily maintenance (refresh, re-enable, repair) and repair after an error payload."""

from collections.abc import Iterator
from datetime import datetime

import pytest

from airtable_mirror.webhooks.drain import DrainOutcome
from tests.layers.common.airtable_mirror.webhooks.harness import WebhookHarness, webhook_harness
from tests.support.dynamodb import DynamoTable

URL = "https://mirror.example.test/hook"
DAY = 24 * 3600.0


@pytest.fixture
def hooks(moto_dynamo: DynamoTable) -> Iterator[WebhookHarness]:
    with webhook_harness(moto_dynamo) as ready:
        yield ready


def airtable_hooks(hooks: WebhookHarness) -> dict[str, dict[str, object]]:
    return {hook["id"]: hook for hook in hooks.emulator.webhooks.list_webhooks(hooks.base_id)}


def test_registration_keeps_the_secret_and_state_and_asks_for_full_syncs(hooks: WebhookHarness) -> None:
    hooks.sync.add_records(4)

    webhook_id = hooks.register(URL, (hooks.table_id(),), full_syncs=True)

    state = hooks.state()
    assert (state.cursor, state.notification_url, state.table_ids, state.health) == (
        1,
        URL,
        (hooks.table_id(),),
        "healthy",
    )
    assert state.expiration_time == airtable_hooks(hooks)[webhook_id]["expirationTime"]
    assert hooks.secrets.get(hooks.base_id, webhook_id) is not None
    # The records made before the webhook existed come with the full sync it asked for
    assert hooks.run_queued_syncs() == 1
    assert hooks.sync.mirror_state() == hooks.sync.airtable_state()


def test_maintenance_refreshes_reenables_and_queues_a_catch_up_drain(hooks: WebhookHarness) -> None:
    webhook_id = hooks.register(URL)
    hooks.emulator.webhooks.enable_notifications(webhook_id, False)
    hooks.emulator.clock.advance(3 * DAY)

    report = hooks.lifecycle.maintain()

    assert report.by_action("refreshed") == [webhook_id]
    assert report.by_action("notifications_enabled") == [webhook_id]
    assert report.by_action("drain_queued") == [webhook_id]
    listed = airtable_hooks(hooks)[webhook_id]
    assert listed["areNotificationsEnabled"] is True
    expiry = datetime.fromisoformat(str(listed["expirationTime"]))
    assert (expiry - hooks.emulator.clock.now()).total_seconds() > 6.9 * DAY
    assert hooks.state().expiration_time == listed["expirationTime"]
    assert [message.webhook_id for message in hooks.drain_queue.take_all()] == [webhook_id]


@pytest.mark.parametrize("breakage", ["expired", "deleted in Airtable", "disabled by Airtable"])
def test_maintenance_recreates_a_broken_webhook_and_covers_the_gap(
    hooks: WebhookHarness, breakage: str
) -> None:
    old = hooks.register(URL)
    ids = hooks.sync.add_records(5)
    hooks.drain()
    if breakage == "expired":
        hooks.emulator.clock.advance(8 * DAY)
    elif breakage == "deleted in Airtable":
        hooks.emulator.webhooks.delete(old)
    else:
        hooks.emulator.webhooks.inject_error_payload(old, "INVALID_HOOK")
    # Changes while the webhook is broken reach no payload of a live webhook
    hooks.emulator.state.update_records(hooks.base_id, "Items", [(ids[0], {"Name": "changed while broken"})])

    report = hooks.lifecycle.maintain()

    [repaired] = report.by_action("repaired")
    assert repaired == old
    old_state = hooks.state(old)
    assert old_state.health == "replaced" and old_state.replaced_by is not None
    new = old_state.replaced_by
    assert set(airtable_hooks(hooks)) == {new}
    assert hooks.secrets.get(hooks.base_id, old) is None
    assert hooks.secrets.get(hooks.base_id, new) is not None
    assert hooks.state(new).notification_url == URL
    # The full syncs asked for cover the gap
    hooks.webhook_id = new
    hooks.settle()
    assert hooks.sync.mirror_state() == hooks.sync.airtable_state()
    assert hooks.full_syncs.pending() == []


def test_an_error_payload_marks_the_webhook_unhealthy_and_its_repair_recreates_it(
    hooks: WebhookHarness,
) -> None:
    old = hooks.register(URL)
    ids = hooks.sync.add_records(3)
    hooks.emulator.webhooks.inject_error_payload(old, "INVALID_FILTERS")

    result = hooks.drain()

    # The payloads before the error were applied; the cursor moved past the error payload
    assert (result.outcome, result.error_code) == (DrainOutcome.HOOK_ERROR, "INVALID_FILTERS")
    assert result.cursor_to == 3
    state = hooks.state()
    assert (
        state.health == "unhealthy"
        and state.health_reason is not None
        and "INVALID_FILTERS" in state.health_reason
    )
    assert hooks.sync.records.get(hooks.base_id, ids[0]) is not None

    new_state = hooks.lifecycle.repair(old, "INVALID_FILTERS")

    assert new_state is not None and new_state.webhook_id != old
    assert hooks.lifecycle.repair(old, "again") is None  # already replaced
    assert hooks.run_queued_syncs() == 2  # Items and Others: the scope was the whole base
    hooks.webhook_id = new_state.webhook_id
    hooks.emulator.state.update_records(hooks.base_id, "Items", [(ids[1], {"Name": "after repair"})])
    assert hooks.drain().outcome is DrainOutcome.DRAINED
    assert hooks.sync.mirror_state() == hooks.sync.airtable_state()


def test_a_webhook_left_without_its_secret_is_deleted(hooks: WebhookHarness) -> None:
    known = hooks.register(URL)
    orphan = hooks.emulator.webhooks.create_webhook(
        hooks.base_id, {"options": {"filters": {"dataTypes": ["tableData"]}}}, URL
    )
    stranger = hooks.emulator.webhooks.create_webhook(
        hooks.base_id, {"options": {"filters": {"dataTypes": ["tableData"]}}}, "https://someone-else.test/"
    )

    report = hooks.lifecycle.maintain()

    assert report.by_action("orphan_deleted") == [orphan["id"]]
    assert set(airtable_hooks(hooks)) == {known, stranger["id"]}


def test_unregister_removes_the_webhook_its_secret_and_state(hooks: WebhookHarness) -> None:
    webhook_id = hooks.register(URL)
    hooks.lifecycle.unregister(webhook_id)
    assert airtable_hooks(hooks) == {}
    assert hooks.repository.get(hooks.base_id, webhook_id) is None
    assert hooks.secrets.get(hooks.base_id, webhook_id) is None
