"""Record writes and reads over HTTP with requests: shapes, validation, and the model underneath."""

from typing import Any

import pytest

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base, Transaction
from tests.local.airtable_emulator.http_support import Client, error_type


def _items(base: Base) -> str:
    return f"/v0/{base.id}/Items"


def test_create_many_returns_records_in_order_and_omits_empty_cells(items_base: Base, http: Client) -> None:
    response = http.post(
        _items(items_base),
        json={
            "records": [{"fields": {"Name": "one", "Count": 1, "Done": False, "Notes": ""}}, {"fields": {}}]
        },
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    records = response.json()["records"]
    assert [record["fields"] for record in records] == [{"Name": "one", "Count": 1}, {}]
    for record in records:
        assert set(record) == {"id", "createdTime", "fields"}
        assert record["id"].startswith("rec") and len(record["id"]) == 17
        assert record["createdTime"].endswith("Z")


def test_create_single_record_form_and_typecast(items_base: Base, http: Client) -> None:
    response = http.post(
        _items(items_base), json={"fields": {"Name": "x", "Count": "12", "Color": "purple"}, "typecast": True}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "createdTime", "fields"}
    assert body["fields"] == {"Name": "x", "Count": 12, "Color": "purple"}


def test_return_fields_by_field_id_on_writes(items_base: Base, http: Client) -> None:
    table = items_base.table("Items")
    response = http.post(_items(items_base), json={"fields": {"Name": "x"}, "returnFieldsByFieldId": True})
    assert response.json()["fields"] == {table.primary_field_id: "x"}


def test_http_writes_reach_the_model_as_public_api_transactions(
    emulator: Emulator, items_base: Base, http: Client
) -> None:
    seen: list[Transaction] = []
    emulator.state.subscribe(seen.append)
    created = http.post(_items(items_base), json={"fields": {"Name": "x"}}).json()
    http.patch(f"{_items(items_base)}/{created['id']}", json={"fields": {"Count": 2}})
    http.delete(f"{_items(items_base)}/{created['id']}")
    assert [transaction.source for transaction in seen] == ["publicApi"] * 3
    assert [type(transaction.changes[0]).__name__ for transaction in seen] == [
        "RecordCreated",
        "RecordChanged",
        "RecordDestroyed",
    ]


def test_get_record_and_missing_record(items_base: Base, http: Client) -> None:
    created = http.post(_items(items_base), json={"fields": {"Name": "x", "Count": 5}}).json()
    response = http.get(f"{_items(items_base)}/{created['id']}")
    assert response.json() == created
    by_id = http.get(f"{_items(items_base)}/{created['id']}", params={"returnFieldsByFieldId": "1"}).json()
    assert set(by_id["fields"]) == {field_id for field_id in by_id["fields"] if field_id.startswith("fld")}
    missing = http.get(f"{_items(items_base)}/recAAAAAAAAAAAAAA")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"type": "MODEL_ID_NOT_FOUND", "message": "Record not found"}}
    assert http.get(f"{_items(items_base)}/notARecord").status_code == 404
    assert http.get(f"{_items(items_base)}/{created['id']}", params={"pageSize": "3"}).status_code == 422


def test_table_by_name_or_id_including_url_encoded_names(emulator: Emulator, http: Client) -> None:
    base = emulator.state.create_base(
        "b", [{"name": "My Table/2", "fields": [{"name": "N", "type": "singleLineText"}]}]
    )
    table = base.table("My Table/2")
    emulator.state.create_records(base.id, table.id, [{"N": "x"}])
    by_name = http.get(f"/v0/{base.id}/My%20Table%2F2").json()
    by_id = http.get(f"/v0/{base.id}/{table.id}").json()
    assert by_name == by_id
    assert len(by_id["records"]) == 1


def test_patch_merges_and_put_replaces(items_base: Base, http: Client) -> None:
    created = http.post(_items(items_base), json={"fields": {"Name": "x", "Count": 1, "Notes": "n"}}).json()
    url = f"{_items(items_base)}/{created['id']}"
    patched = http.patch(url, json={"fields": {"Count": 2}}).json()
    assert patched["fields"] == {"Name": "x", "Count": 2, "Notes": "n"}
    put = http.put(url, json={"fields": {"Name": "y"}}).json()
    assert put["fields"] == {"Name": "y"}
    cleared = http.patch(url, json={"fields": {"Name": None}}).json()
    assert cleared["fields"] == {}


def test_update_many_patch_and_put(items_base: Base, http: Client) -> None:
    created = http.post(
        _items(items_base),
        json={"records": [{"fields": {"Name": "a", "Count": 1}}, {"fields": {"Name": "b", "Count": 2}}]},
    ).json()["records"]
    patched = http.patch(
        _items(items_base),
        json={"records": [{"id": record["id"], "fields": {"Notes": "n"}} for record in created]},
    ).json()["records"]
    assert [record["fields"] for record in patched] == [
        {"Name": "a", "Count": 1, "Notes": "n"},
        {"Name": "b", "Count": 2, "Notes": "n"},
    ]
    replaced = http.put(
        _items(items_base), json={"records": [{"id": created[0]["id"], "fields": {"Count": 9}}]}
    ).json()["records"]
    assert replaced[0]["fields"] == {"Count": 9}


def test_update_many_unknown_record_is_row_does_not_exist(items_base: Base, http: Client) -> None:
    response = http.patch(
        _items(items_base), json={"records": [{"id": "recAAAAAAAAAAAAAA", "fields": {"Name": "x"}}]}
    )
    assert response.status_code == 422
    assert error_type(response) == "ROW_DOES_NOT_EXIST"
    assert http.patch(f"{_items(items_base)}/recAAAAAAAAAAAAAA", json={"fields": {}}).status_code == 404


def test_upsert_creates_and_updates_by_merge_fields(items_base: Base, http: Client) -> None:
    http.post(_items(items_base), json={"records": [{"fields": {"Name": "a", "Count": 1}}]})
    response = http.patch(
        _items(items_base),
        json={
            "performUpsert": {"fieldsToMergeOn": ["Name"]},
            "records": [{"fields": {"Name": "a", "Count": 5}}, {"fields": {"Name": "new", "Count": 7}}],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"records", "createdRecords", "updatedRecords"}
    assert [record["fields"] for record in body["records"]] == [
        {"Name": "a", "Count": 5},
        {"Name": "new", "Count": 7},
    ]
    assert body["updatedRecords"] == [body["records"][0]["id"]]
    assert body["createdRecords"] == [body["records"][1]["id"]]
    listed = http.get(_items(items_base)).json()["records"]
    assert len(listed) == 2


@pytest.mark.parametrize(
    "body",
    [
        {"performUpsert": {"fieldsToMergeOn": []}, "records": [{"fields": {"Name": "a"}}]},
        {"performUpsert": {"fieldsToMergeOn": ["A", "B", "C", "D"]}, "records": [{"fields": {"Name": "a"}}]},
        {"performUpsert": {"fieldsToMergeOn": ["Name"]}, "records": [{"fields": {"Count": 1}}]},
        {"performUpsert": {"fieldsToMergeOn": ["Name"]}, "records": [{"fields": {"Name": "d"}}] * 2},
        {"performUpsert": {"merge": ["Name"]}, "records": [{"fields": {"Name": "a"}}]},
    ],
)
def test_upsert_validation(items_base: Base, http: Client, body: dict[str, Any]) -> None:
    response = http.patch(_items(items_base), json=body)
    assert response.status_code == 422
    assert error_type(response) == "INVALID_REQUEST_UNKNOWN"


def test_upsert_with_several_matches_is_refused(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.state.create_records(items_base.id, "Items", [{"Name": "dup"}, {"Name": "dup"}])
    response = http.patch(
        _items(items_base),
        json={"performUpsert": {"fieldsToMergeOn": ["Name"]}, "records": [{"fields": {"Name": "dup"}}]},
    )
    assert response.status_code == 422


def test_delete_many_and_single(items_base: Base, http: Client) -> None:
    created = http.post(
        _items(items_base), json={"records": [{"fields": {"Name": str(index)}} for index in range(3)]}
    ).json()["records"]
    ids = [record["id"] for record in created]
    response = http.delete(_items(items_base), params={"records[]": ids[:2]})
    assert response.json() == {"records": [{"id": ids[0], "deleted": True}, {"id": ids[1], "deleted": True}]}
    assert http.delete(f"{_items(items_base)}/{ids[2]}").json() == {"id": ids[2], "deleted": True}
    assert http.get(_items(items_base)).json() == {"records": []}
    again = http.delete(f"{_items(items_base)}/{ids[2]}")
    assert again.status_code == 404
    assert error_type(again) == "MODEL_ID_NOT_FOUND"


@pytest.mark.parametrize(("method", "verb"), [("POST", "created"), ("PATCH", "updated"), ("PUT", "updated")])
def test_more_than_ten_records_per_write_is_422(
    items_base: Base, http: Client, method: str, verb: str
) -> None:
    records: list[dict[str, Any]] = [{"fields": {"Name": str(index)}} for index in range(11)]
    if method != "POST":
        records = [{"id": f"rec{index:014d}", **record} for index, record in enumerate(records)]
    response = http.request(method, _items(items_base), json={"records": records})
    assert response.status_code == 422
    assert response.json()["error"] == {
        "type": "INVALID_RECORDS",
        "message": f"A maximum of 10 records can be {verb} per request but you have provided 11.",
    }


def test_deleting_more_than_ten_is_422(items_base: Base, http: Client) -> None:
    response = http.delete(_items(items_base), params={"records[]": [f"rec{i:014d}" for i in range(11)]})
    assert response.status_code == 422
    assert error_type(response) == "INVALID_RECORDS"


@pytest.mark.parametrize(
    ("body", "expected_type"),
    [
        ([{"fields": {"Name": "x"}}], "INVALID_REQUEST_UNKNOWN"),
        ({"records": []}, "INVALID_RECORDS"),
        ({"records": "x"}, "INVALID_REQUEST_UNKNOWN"),
        ({"records": [{"Name": "x"}]}, "INVALID_REQUEST_UNKNOWN"),
        ({"records": [{}]}, "INVALID_REQUEST_MISSING_FIELDS"),
        ({"records": [{"fields": []}]}, "INVALID_REQUEST_UNKNOWN"),
        ({}, "INVALID_REQUEST_MISSING_FIELDS"),
        ({"fields": {"Name": "x"}, "typecast": "yes"}, "INVALID_REQUEST_UNKNOWN"),
        ({"fields": {"Name": "x"}, "surprise": 1}, "INVALID_REQUEST_UNKNOWN"),
        ({"fields": {"Nope": "x"}}, "UNKNOWN_FIELD_NAME"),
        ({"fields": {"Count": "x"}}, "INVALID_VALUE_FOR_COLUMN"),
        ({"fields": {"Color": "purple"}}, "INVALID_MULTIPLE_CHOICE_OPTIONS"),
        ({"fields": {"Owner": ["recAAAAAAAAAAAAAA"]}}, "INVALID_VALUE_FOR_COLUMN"),
        ({"fields": {"Due": "tomorrow"}}, "INVALID_VALUE_FOR_COLUMN"),
    ],
)
def test_create_validation_errors(items_base: Base, http: Client, body: Any, expected_type: str) -> None:
    response = http.post(_items(items_base), json=body)
    assert response.status_code == 422, response.text
    assert error_type(response) == expected_type
    assert http.get(_items(items_base)).json() == {"records": []}


def test_a_failed_batch_changes_nothing(items_base: Base, http: Client) -> None:
    response = http.post(
        _items(items_base), json={"records": [{"fields": {"Name": "ok"}}, {"fields": {"Count": "bad"}}]}
    )
    assert response.status_code == 422
    assert http.get(_items(items_base)).json() == {"records": []}


def test_links_are_kept_in_sync_both_ways(emulator: Emulator, items_base: Base, http: Client) -> None:
    owner = http.post(f"/v0/{items_base.id}/Owners", json={"fields": {"Name": "Grace"}}).json()
    item = http.post(_items(items_base), json={"fields": {"Name": "x", "Owner": [owner["id"]]}}).json()
    assert http.get(f"/v0/{items_base.id}/Owners/{owner['id']}").json()["fields"]["Items"] == [item["id"]]
    http.delete(f"{_items(items_base)}/{item['id']}")
    assert "Items" not in http.get(f"/v0/{items_base.id}/Owners/{owner['id']}").json()["fields"]


def test_write_endpoints_refuse_query_parameters(items_base: Base, http: Client) -> None:
    response = http.post(_items(items_base), params={"typecast": "true"}, json={"fields": {"Name": "x"}})
    assert response.status_code == 422
