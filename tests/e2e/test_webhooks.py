"""Changes made in Airtable arrive in the mirror through the webhook, within seconds, with no sync:
the emulator pings the local function URL, the receiver queues a drain, the worker applies the
payloads. Everything is observed over HTTP."""

from typing import Any

import pytest

from tests.e2e.support import RunningStack, airtable_records, wait_for

pytestmark = pytest.mark.xdist_group("e2e-shared-stack")

WEBHOOK_TIMEOUT_SECONDS = 60.0


def mirrored_record(stack: RunningStack, record_id: str) -> dict[str, Any] | None:
    answer = stack.api("GET", f"/records/{record_id}")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, answer.text
    record: dict[str, Any] = answer.json()
    return record


def test_the_webhook_is_registered_and_alive(stack: RunningStack) -> None:
    webhooks = stack.get_json("/webhooks")["webhooks"]
    assert len(webhooks) == 1
    webhook = webhooks[0]
    assert webhook["health"] == "healthy"
    assert (webhook["notification_url"] or "").rstrip("/") == stack.function_url
    listed = stack.airtable("GET", f"/v0/bases/{stack.base_id}/webhooks").json()["webhooks"]
    assert [hook["id"] for hook in listed] == [webhook["webhook_id"]]
    assert listed[0]["notificationUrl"].rstrip("/") == stack.function_url


def test_an_update_in_airtable_reaches_the_mirror(stack: RunningStack) -> None:
    task = airtable_records(stack, "Tasks")[5]
    answer = stack.airtable(
        "PATCH",
        f"/v0/{stack.base_id}/Tasks/{task['id']}",
        json={"fields": {"Title": "Changed through the webhook", "Estimate": 12.5}},
    )
    assert answer.status_code == 200, answer.text

    def arrived() -> dict[str, Any] | None:
        record = mirrored_record(stack, task["id"])
        return record if record and record["fields"].get("Title") == "Changed through the webhook" else None

    record = wait_for(arrived, timeout=WEBHOOK_TIMEOUT_SECONDS, what="the update", stack=stack)
    assert record["fields"]["Estimate"] == 12.5
    assert record["fields"]["Status"] == task["fields"]["Status"]


def test_a_created_record_appears_and_a_deleted_one_disappears(stack: RunningStack) -> None:
    created = stack.airtable(
        "POST",
        f"/v0/{stack.base_id}/Tasks",
        json={"records": [{"fields": {"Title": "Born in Airtable", "Status": "Todo"}}]},
    )
    assert created.status_code == 200, created.text
    new_id = created.json()["records"][0]["id"]
    record = wait_for(
        lambda: mirrored_record(stack, new_id),
        timeout=WEBHOOK_TIMEOUT_SECONDS,
        what="the new record",
        stack=stack,
    )
    assert record["fields"]["Title"] == "Born in Airtable"
    assert record["table"]["name"] == "Tasks"

    deleted = stack.airtable("DELETE", f"/v0/{stack.base_id}/Tasks/{new_id}")
    assert deleted.status_code == 200, deleted.text
    wait_for(
        lambda: mirrored_record(stack, new_id) is None,
        timeout=WEBHOOK_TIMEOUT_SECONDS,
        what="the deletion",
        stack=stack,
    )
    listed = stack.get_json("/records", params={"table_name": "Tasks", "filter[Title]": "Born in Airtable"})
    assert listed["records"] == []


def test_a_renamed_field_shows_its_new_name_on_every_record(stack: RunningStack) -> None:
    schema = stack.airtable("GET", f"/v0/meta/bases/{stack.base_id}/tables").json()
    people = next(table for table in schema["tables"] if table["name"] == "People")
    age = next(field for field in people["fields"] if field["name"] == "Age")
    renamed = stack.airtable(
        "PATCH",
        f"/v0/meta/bases/{stack.base_id}/tables/{people['id']}/fields/{age['id']}",
        json={"name": "Age in years"},
    )
    assert renamed.status_code == 200, renamed.text
    person = next(
        record for record in airtable_records(stack, "People") if "Age in years" in record["fields"]
    )

    def renamed_in_mirror() -> dict[str, Any] | None:
        record = mirrored_record(stack, person["id"])
        return record if record and "Age in years" in record["fields"] else None

    record = wait_for(renamed_in_mirror, timeout=WEBHOOK_TIMEOUT_SECONDS, what="the rename", stack=stack)
    assert record["fields"]["Age in years"] == person["fields"]["Age in years"]
    assert "Age" not in record["fields"]
    tables = stack.get_json("/tables")["tables"]
    people_fields = next(table["fields"] for table in tables if table["name"] == "People")
    assert "Age in years" in [field["name"] for field in people_fields]
    old_name = stack.api("GET", "/people", params={"filter[Age]": "30"})
    assert old_name.status_code == 400, "a filter on the old name names a field that no longer exists"
