"""The facade's wiring of the webhook service: routes, bodies, and HTTP writes seen by hooks.

The webhook behaviour itself is tested in test_webhooks*.py; this checks it is reachable over HTTP.
"""

import pyairtable

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import Client

SPEC = {
    "options": {"filters": {"dataTypes": ["tableData"]}, "includes": {"includeCellValuesInFieldIds": "all"}}
}


def test_webhook_endpoints_over_http(emulator: Emulator, items_base: Base, http: Client) -> None:
    hooks = f"/v0/bases/{items_base.id}/webhooks"
    created = http.post(hooks, json={"specification": SPEC})
    assert created.status_code == 200, created.text
    hook_id = created.json()["id"]
    listed = http.get(hooks).json()["webhooks"]
    assert [hook["id"] for hook in listed] == [hook_id]
    record = http.post(f"/v0/{items_base.id}/Items", json={"fields": {"Name": "seen"}}).json()
    payloads = http.get(f"{hooks}/{hook_id}/payloads", params={"cursor": "1"}).json()
    (payload,) = payloads["payloads"]
    assert payload["actionMetadata"]["source"] == "publicApi"
    table_id = items_base.table("Items").id
    assert record["id"] in payload["changedTablesById"][table_id]["createdRecordsById"]
    assert http.post(f"{hooks}/{hook_id}/refresh").json()["expirationTime"]
    disabled = http.post(f"{hooks}/{hook_id}/enableNotifications", json={"enable": False})
    assert disabled.status_code == 200
    deleted = http.delete(f"{hooks}/{hook_id}")
    assert deleted.status_code == 200 and deleted.content == b""
    assert http.get(hooks).json() == {"webhooks": []}


def test_webhook_errors_keep_airtable_envelopes(items_base: Base, http: Client) -> None:
    hooks = f"/v0/bases/{items_base.id}/webhooks"
    assert http.post(hooks, data=b"{oops", headers={"Content-Type": "application/json"}).status_code == 400
    assert http.post(hooks, json={"specification": {"options": {}}}).status_code == 422
    assert http.get("/v0/bases/appAAAAAAAAAAAAAA/webhooks").status_code == 403
    missing = http.delete(f"{hooks}/achAAAAAAAAAAAAAA")
    assert missing.status_code == 404 and "error" in missing.json()


def test_pyairtable_webhooks_and_attachment_urls_in_payloads(emulator: Emulator, items_base: Base) -> None:
    api = pyairtable.Api(emulator.token, endpoint_url=emulator.url)
    base = api.base(items_base.id)
    created = base.add_webhook("http://127.0.0.1:9/unreachable", SPEC)
    emulator.state.create_records(
        items_base.id, "Items", [{"Files": [{"content": b"data", "filename": "f.txt", "type": "text/plain"}]}]
    )
    (hook,) = base.webhooks()
    assert hook.id == created.id
    (payload,) = list(hook.payloads())
    table_changes = payload.changed_tables_by_id[items_base.table("Items").id]
    (created_record,) = table_changes.created_records_by_id.values()
    files_id = items_base.table("Items").field("Files").id
    (attachment,) = created_record.cell_values_by_field_id[files_id]
    assert attachment["url"].startswith(f"{emulator.url}/attachments/")
