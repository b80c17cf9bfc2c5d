"""List records: paging with server-side iterators, parameters, views, sorting and URL length."""

from typing import Any

import pytest

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import Client, error_type


@pytest.fixture
def filled(emulator: Emulator, items_base: Base) -> list[str]:
    """25 Items named item-00..item-24 with Count = index % 7, every third one Done."""
    records = emulator.state.create_records(
        items_base.id,
        "Items",
        [{"Name": f"item-{index:02d}", "Count": index % 7, "Done": index % 3 == 0} for index in range(25)],
    )
    return [record.id for record in records]


def _url(base: Base) -> str:
    return f"/v0/{base.id}/Items"


def _all_pages(http: Client, base: Base, params: dict[str, Any]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    params = dict(params)
    while True:
        body = http.get(_url(base), params=params).json()
        records.extend(body["records"])
        if "offset" not in body:
            return records
        params["offset"] = body["offset"]


def test_pages_follow_offsets_until_the_last_page(items_base: Base, http: Client, filled: list[str]) -> None:
    first = http.get(_url(items_base), params={"pageSize": "10"}).json()
    assert len(first["records"]) == 10
    iterator_id, _, record_id = first["offset"].partition("/")
    assert iterator_id.startswith("itr") and len(iterator_id) == 17
    assert record_id == filled[10]
    records = _all_pages(http, items_base, {"pageSize": "10"})
    assert [record["id"] for record in records] == filled


def test_default_page_size_is_100_and_no_offset_on_a_single_page(
    items_base: Base, http: Client, filled: list[str]
) -> None:
    body = http.get(_url(items_base)).json()
    assert len(body["records"]) == 25
    assert "offset" not in body


@pytest.mark.parametrize("page_size", ["0", "101", "-1", "ten", "1.5"])
def test_bad_page_size_is_422(items_base: Base, http: Client, page_size: str) -> None:
    response = http.get(_url(items_base), params={"pageSize": page_size})
    assert response.status_code == 422
    assert error_type(response) == "INVALID_REQUEST_UNKNOWN"


def test_max_records_caps_the_total_across_pages(items_base: Base, http: Client, filled: list[str]) -> None:
    records = _all_pages(http, items_base, {"pageSize": "4", "maxRecords": "10"})
    assert [record["id"] for record in records] == filled[:10]
    assert http.get(_url(items_base), params={"maxRecords": "0"}).status_code == 422


def test_the_snapshot_skips_deleted_records_and_ignores_new_ones(
    emulator: Emulator, items_base: Base, http: Client, filled: list[str]
) -> None:
    first = http.get(_url(items_base), params={"pageSize": "10"}).json()
    emulator.state.delete_records(items_base.id, "Items", [filled[10], filled[12]])
    emulator.state.create_records(items_base.id, "Items", [{"Name": "late"}])
    emulator.state.update_records(items_base.id, "Items", [(filled[11], {"Name": "renamed"})])
    second = http.get(_url(items_base), params={"pageSize": "10", "offset": first["offset"]}).json()
    ids = [record["id"] for record in second["records"]]
    assert ids == filled[11:12] + filled[13:22]
    assert second["records"][0]["fields"]["Name"] == "renamed"
    third = http.get(_url(items_base), params={"pageSize": "10", "offset": second["offset"]}).json()
    assert [record["id"] for record in third["records"]] == filled[22:]
    assert "offset" not in third


def test_iterator_expires_after_idle_time_on_the_clock(
    emulator: Emulator, items_base: Base, http: Client, filled: list[str]
) -> None:
    timeout = emulator.settings.iterator_idle_timeout_seconds
    first = http.get(_url(items_base), params={"pageSize": "5"}).json()
    emulator.clock.advance(timeout - 1)
    second = http.get(_url(items_base), params={"pageSize": "5", "offset": first["offset"]})
    assert second.status_code == 200
    emulator.clock.advance(timeout - 1)  # idle time counts from the last page, not the first
    third = http.get(_url(items_base), params={"pageSize": "5", "offset": second.json()["offset"]})
    assert third.status_code == 200
    emulator.clock.advance(timeout + 1)
    expired = http.get(_url(items_base), params={"pageSize": "5", "offset": third.json()["offset"]})
    assert expired.status_code == 422
    assert expired.json() == {"error": {"type": "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"}}


def test_iterators_expire_on_demand(
    emulator: Emulator, items_base: Base, http: Client, filled: list[str]
) -> None:
    first = http.get(_url(items_base), params={"pageSize": "5"}).json()
    assert emulator.expire_iterators() == 1
    response = http.get(_url(items_base), params={"pageSize": "5", "offset": first["offset"]})
    assert response.status_code == 422
    assert error_type(response) == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"
    restarted = _all_pages(http, items_base, {"pageSize": "5"})
    assert len(restarted) == 25


@pytest.mark.parametrize("offset", ["garbage", "itrAAAAAAAAAAAAAA/recAAAAAAAAAAAAAA", "itr/rec", "", "/"])
def test_unknown_or_garbled_offsets_are_iterator_not_available(
    items_base: Base, http: Client, filled: list[str], offset: str
) -> None:
    response = http.get(_url(items_base), params={"offset": offset})
    assert response.status_code == 422
    assert error_type(response) == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"


def test_an_offset_from_another_table_is_not_available(
    emulator: Emulator, items_base: Base, http: Client, filled: list[str]
) -> None:
    first = http.get(_url(items_base), params={"pageSize": "5"}).json()
    response = http.get(f"/v0/{items_base.id}/Owners", params={"offset": first["offset"]})
    assert error_type(response) == "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"


def test_fields_by_name_or_id_and_unknown_fields(items_base: Base, http: Client, filled: list[str]) -> None:
    table = items_base.table("Items")
    count_id = table.field("Count").id
    body = http.get(_url(items_base), params={"fields[]": ["Name", count_id], "maxRecords": "2"}).json()
    assert [record["fields"] for record in body["records"]] == [
        {"Name": "item-00", "Count": 0},  # 0 is a value, not an empty cell
        {"Name": "item-01", "Count": 1},
    ]
    response = http.get(_url(items_base), params={"fields[]": ["Name", "Nope"]})
    assert response.status_code == 422
    assert response.json() == {
        "error": {"type": "UNKNOWN_FIELD_NAME", "message": 'Unknown field name: "Nope"'}
    }


def test_return_fields_by_field_id_accepts_true_false_1_0(
    items_base: Base, http: Client, filled: list[str]
) -> None:
    name_id = items_base.table("Items").primary_field_id
    for value, by_id in [("true", True), ("1", True), ("false", False), ("0", False)]:
        record = http.get(_url(items_base), params={"returnFieldsByFieldId": value, "maxRecords": "1"}).json()
        assert (name_id in record["records"][0]["fields"]) is by_id
    assert http.get(_url(items_base), params={"returnFieldsByFieldId": "yes"}).status_code == 422


def test_sort_by_several_fields(items_base: Base, http: Client, filled: list[str]) -> None:
    params = {"sort[0][field]": "Count", "sort[0][direction]": "desc", "sort[1][field]": "Name"}
    records = _all_pages(http, items_base, params)
    keys = [(record["fields"].get("Count", 0), record["fields"]["Name"]) for record in records]
    assert keys == sorted(keys, key=lambda key: (-key[0], key[1]))


def test_sort_puts_empty_cells_first_ascending(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.state.create_records(items_base.id, "Items", [{"Name": "b"}, {}, {"Name": "A"}, {"Name": "c"}])
    ascending = http.get(_url(items_base), params={"sort[0][field]": "Name"}).json()["records"]
    assert [record["fields"].get("Name") for record in ascending] == [None, "A", "b", "c"]
    descending = http.get(
        _url(items_base), params={"sort[0][field]": "Name", "sort[0][direction]": "desc"}
    ).json()["records"]
    assert [record["fields"].get("Name") for record in descending] == ["c", "b", "A", None]


def test_single_selects_sort_by_option_order(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.state.create_records(
        items_base.id, "Items", [{"Color": "blue"}, {"Color": "red"}, {"Color": "green"}]
    )
    records = http.get(_url(items_base), params={"sort[0][field]": "Color"}).json()["records"]
    assert [record["fields"]["Color"] for record in records] == ["red", "green", "blue"]


@pytest.mark.parametrize(
    "params",
    [
        {"sort[0][field]": "Nope"},
        {"sort[0][direction]": "desc"},
        {"sort[0][field]": "Name", "sort[0][direction]": "up"},
        {"sort[x][field]": "Name"},
    ],
)
def test_bad_sort_is_422(items_base: Base, http: Client, params: dict[str, str]) -> None:
    assert http.get(_url(items_base), params=params).status_code == 422


def test_view_filters_and_orders_and_sort_overrides(
    items_base: Base, http: Client, filled: list[str]
) -> None:
    in_view = _all_pages(http, items_base, {"view": "Open by count"})
    assert all("Done" not in record["fields"] for record in in_view)
    assert len(in_view) == 25 - 9
    counts = [record["fields"].get("Count", 0) for record in in_view]
    assert counts == sorted(counts, reverse=True)
    view_id = next(
        view.id for view in items_base.table("Items").views.values() if view.name == "Open by count"
    )
    by_id = _all_pages(http, items_base, {"view": view_id, "sort[0][field]": "Name"})
    assert [record["fields"]["Name"] for record in by_id] == sorted(
        record["fields"]["Name"] for record in in_view
    )
    filtered = _all_pages(http, items_base, {"view": "Open by count", "filterByFormula": "{Count} = 1"})
    assert {record["fields"]["Count"] for record in filtered} == {1}


def test_unknown_view_is_422(items_base: Base, http: Client) -> None:
    response = http.get(_url(items_base), params={"view": "Nope"})
    assert response.status_code == 422
    assert error_type(response) == "VIEW_NAME_NOT_FOUND"


def test_comment_count_only_when_asked(
    emulator: Emulator, items_base: Base, http: Client, filled: list[str]
) -> None:
    emulator.state.table(items_base.id, "Items").records[filled[0]].comment_count = 3
    plain = http.get(_url(items_base), params={"maxRecords": "2"}).json()["records"]
    assert all("commentCount" not in record for record in plain)
    counted = http.get(
        _url(items_base), params={"maxRecords": "2", "recordMetadata[]": "commentCount"}
    ).json()
    assert [record["commentCount"] for record in counted["records"]] == [3, 0]
    assert http.get(_url(items_base), params={"recordMetadata[]": "likes"}).status_code == 422


def test_cell_format_json_only(items_base: Base, http: Client) -> None:
    assert http.get(_url(items_base), params={"cellFormat": "json"}).status_code == 200
    response = http.get(
        _url(items_base), params={"cellFormat": "string", "timeZone": "Europe/Paris", "userLocale": "fr"}
    )
    assert response.status_code == 422
    assert "not emulated" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "params",
    [{"surprise": "1"}, {"pageSize": ["1", "2"]}, {"fields": "Name"}, {"records[]": "recAAAAAAAAAAAAAA"}],
)
def test_malformed_list_parameters_are_422(items_base: Base, http: Client, params: dict[str, Any]) -> None:
    response = http.get(_url(items_base), params=params)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "INVALID_REQUEST_UNKNOWN"


def test_post_list_records_takes_the_same_parameters_as_json(
    items_base: Base, http: Client, filled: list[str]
) -> None:
    body = {
        "pageSize": 4,
        "maxRecords": 6,
        "fields": ["Name"],
        "sort": [{"field": "Name", "direction": "desc"}],
        "filterByFormula": "NOT({Done})",
        "returnFieldsByFieldId": False,
        "recordMetadata": ["commentCount"],
    }
    first = http.post(f"{_url(items_base)}/listRecords", params={"timeZone": "UTC"}, json=body)
    assert first.status_code == 200, first.text
    second = http.post(
        f"{_url(items_base)}/listRecords", json={**body, "offset": first.json()["offset"]}
    ).json()
    names = [record["fields"]["Name"] for record in first.json()["records"] + second["records"]]
    assert names == ["item-23", "item-22", "item-20", "item-19", "item-17", "item-16"]
    assert "offset" not in second


@pytest.mark.parametrize(
    "body",
    [
        {"pageSize": "10"},
        {"fields": "Name"},
        {"returnFieldsByFieldId": 1},
        {"sort": {"field": "Name"}},
        {"surprise": True},
        ["Name"],
    ],
)
def test_post_list_records_validates_types(items_base: Base, http: Client, body: Any) -> None:
    response = http.post(f"{_url(items_base)}/listRecords", json=body)
    assert response.status_code == 422
    assert error_type(response) == "INVALID_REQUEST_UNKNOWN"


def test_post_list_records_refuses_other_query_parameters(items_base: Base, http: Client) -> None:
    response = http.post(f"{_url(items_base)}/listRecords", params={"pageSize": "5"}, json={})
    assert response.status_code == 422


def test_long_urls_are_rejected_so_clients_use_post(
    emulator: Emulator, items_base: Base, http: Client
) -> None:
    formula = "OR(" + ",".join(f"RECORD_ID()='rec{index:014d}'" for index in range(700)) + ")"
    response = http.get(_url(items_base), params={"filterByFormula": formula})
    assert len(response.request.url or "") >= emulator.settings.max_url_length
    assert response.status_code == emulator.settings.url_too_long_status == 414
    assert error_type(response) == "URL_TOO_LONG"
    posted = http.post(f"{_url(items_base)}/listRecords", json={"filterByFormula": formula})
    assert posted.status_code == 200
    assert posted.json() == {"records": []}


def test_url_length_limit_and_status_are_settings(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.settings.max_url_length = 200
    emulator.settings.url_too_long_status = 422
    assert http.get(_url(items_base), params={"filterByFormula": "x" * 100}).status_code == 422
    assert http.get(_url(items_base)).status_code == 200
