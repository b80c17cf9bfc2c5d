"""The webhooks API over HTTP, driven by pyairtable 3.5.1 against a started emulator."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests
from pyairtable import Api
from pyairtable.api.base import Base as PyBase
from pyairtable.models.webhook import WebhookNotification

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from airtable_emulator.webhooks import MAC_HEADER
from tests.local.airtable_emulator.http_support import Client, error_type
from tests.local.airtable_emulator.webhook_support import Receiver

ALL = {
    "options": {"filters": {"dataTypes": ["tableData"]}, "includes": {"includeCellValuesInFieldIds": "all"}}
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    endpoint.serve()
    yield endpoint
    endpoint.close()


@pytest.fixture
def pybase(emulator: Emulator, items_base: Base) -> PyBase:
    api = Api(emulator.token, endpoint_url=emulator.url, retry_strategy=False)
    return api.base(items_base.id)


def test_create_ping_and_read_payloads_with_pyairtable(
    emulator: Emulator, items_base: Base, pybase: PyBase, receiver: Receiver
) -> None:
    created = pybase.add_webhook(receiver.url, ALL)
    record = pybase.table("Items").create({"Name": "Lamp", "Color": "red", "Done": True})
    assert receiver.arrived.wait(10)
    [ping] = receiver.received
    notification = WebhookNotification.from_request(
        ping.body.decode("ascii"), ping.headers[MAC_HEADER], created.mac_secret_base64
    )
    assert (notification.base.id, notification.webhook.id) == (items_base.id, created.id)
    webhook = pybase.webhook(created.id)
    [payload] = list(webhook.payloads())
    assert payload.cursor == 1
    assert payload.base_transaction_number == 1
    assert payload.action_metadata is not None
    assert payload.action_metadata.source == "publicApi"
    table = items_base.table("Items")
    cells = payload.changed_tables_by_id[table.id].created_records_by_id[record["id"]].cell_values_by_field_id
    red = next(
        choice for choice in (table.field("Color").options or {})["choices"] if choice["name"] == "red"
    )
    assert cells[table.field("Color").id] == {"id": red["id"], "name": "red", "color": red["color"]}
    assert cells[table.field("Done").id] is True
    assert cells[table.field("Name").id] == "Lamp"
    assert emulator.webhooks.wait_until_idle()
    [listed] = pybase.webhooks()
    assert listed.cursor_for_next_payload == 2
    assert listed.last_notification_result is not None
    assert listed.last_notification_result.success is True
    assert listed.notification_url == receiver.url


def test_manage_a_webhook_with_pyairtable(emulator: Emulator, pybase: PyBase) -> None:
    created = pybase.add_webhook("https://example.test/none", ALL)
    webhook = pybase.webhook(created.id)
    webhook.disable_notifications()
    assert pybase.webhook(created.id).are_notifications_enabled is False
    webhook.enable_notifications()
    assert pybase.webhook(created.id).are_notifications_enabled is True
    emulator.clock.advance(3 * 24 * 3600)
    webhook.extend_expiration()
    # pyairtable keeps the response's string here, unparsed.
    refreshed = datetime.fromisoformat(str(webhook.expiration_time).replace("Z", "+00:00"))
    assert pybase.webhook(created.id).expiration_time == refreshed
    assert created.expiration_time is not None
    assert refreshed - created.expiration_time >= timedelta(days=3)
    webhook.delete()
    assert pybase.webhooks() == []
    with pytest.raises(requests.HTTPError) as excinfo:
        webhook.delete()
    assert excinfo.value.response.status_code == 404


def test_pyairtable_pages_through_many_payloads(emulator: Emulator, items_base: Base, pybase: PyBase) -> None:
    created = pybase.add_webhook("https://example.test/none", ALL)
    for n in range(60):
        emulator.state.create_records(items_base.id, "Items", [{"Name": f"item {n}"}])
    webhook = pybase.webhook(created.id)
    payloads = list(webhook.payloads())
    assert [p.cursor for p in payloads] == list(range(1, 61))
    assert [p.base_transaction_number for p in payloads] == list(range(1, 61))
    assert all(p.action_metadata is not None and p.action_metadata.source == "client" for p in payloads)
    assert [p.cursor for p in webhook.payloads(cursor=58)] == [58, 59, 60]
    assert pybase.webhook(created.id).cursor_for_next_payload == 61


def test_payload_attachment_urls_download(emulator: Emulator, items_base: Base, http: Client) -> None:
    created = emulator.webhooks.create_webhook(items_base.id, ALL)
    emulator.state.create_records(
        items_base.id, "Items", [{"Files": [{"url": "https://example.test/a.txt"}]}]
    )
    response = http.get(f"/v0/bases/{items_base.id}/webhooks/{created['id']}/payloads")
    assert response.status_code == 200
    [payload] = response.json()["payloads"]
    table = items_base.table("Items")
    [record] = payload["changedTablesById"][table.id]["createdRecordsById"].values()
    [attachment] = record["cellValuesByFieldId"][table.field("Files").id]
    download = requests.get(attachment["url"], timeout=10)
    assert download.status_code == 200
    assert download.content == b"content of https://example.test/a.txt"


def test_http_errors(items_base: Base, http: Client) -> None:
    hooks = f"/v0/bases/{items_base.id}/webhooks"
    created = http.post(hooks, json={"specification": ALL}).json()
    too_many = http.get(f"{hooks}/{created['id']}/payloads", params={"limit": "51"})
    assert (too_many.status_code, error_type(too_many)) == (422, "INVALID_REQUEST_UNKNOWN")
    by_name = http.post(
        hooks,
        json={
            "specification": {
                "options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": "Items"}}
            }
        },
    )
    assert (by_name.status_code, error_type(by_name)) == (422, "INVALID_REQUEST_UNKNOWN")
    missing = http.post(f"{hooks}/ach00000000000000/refresh")
    assert (missing.status_code, error_type(missing)) == (404, "NOT_FOUND")
    empty_delete = http.delete(f"{hooks}/{created['id']}")
    assert empty_delete.status_code == 200
