"""The metadata API: list bases (paged) and the base schema."""

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import Client


def test_list_bases_pages_with_an_offset(emulator: Emulator, http: Client) -> None:
    emulator.settings.bases_page_size = 2
    bases = [emulator.state.create_base(f"b{index}", []) for index in range(5)]
    seen: list[dict[str, str]] = []
    params: dict[str, str] = {}
    while True:
        body = http.get("/v0/meta/bases", params=params).json()
        assert len(body["bases"]) <= 2
        seen.extend(body["bases"])
        if "offset" not in body:
            break
        params = {"offset": body["offset"]}
    assert seen == [{"id": base.id, "name": base.name, "permissionLevel": "create"} for base in bases]
    assert http.get("/v0/meta/bases", params={"offset": "nope"}).status_code == 422
    assert http.get("/v0/meta/bases", params={"pageSize": "1"}).status_code == 422


def test_base_schema_has_ids_names_types_options_and_views(items_base: Base, http: Client) -> None:
    body = http.get(f"/v0/meta/bases/{items_base.id}/tables").json()
    items, owners = body["tables"]
    assert items["id"] == items_base.table("Items").id
    assert items["primaryFieldId"] == items["fields"][0]["id"]
    assert [field["name"] for field in items["fields"]][:3] == ["Name", "Count", "Done"]
    color = next(field for field in items["fields"] if field["name"] == "Color")
    assert color["type"] == "singleSelect"
    assert [choice["name"] for choice in color["options"]["choices"]] == ["red", "green", "blue"]
    assert all(choice["id"].startswith("sel") for choice in color["options"]["choices"])
    name = items["fields"][0]
    assert "options" not in name and "description" not in name
    link = next(field for field in items["fields"] if field["name"] == "Owner")
    inverse = next(field for field in owners["fields"] if field["type"] == "multipleRecordLinks")
    assert link["options"]["linkedTableId"] == owners["id"]
    assert link["options"]["inverseLinkFieldId"] == inverse["id"]
    assert inverse["options"]["inverseLinkFieldId"] == link["id"]
    assert [view["name"] for view in items["views"]] == ["Grid view", "Open by count"]
    assert all(set(view) == {"id", "name", "type"} for view in items["views"])


def test_include_visible_field_ids(items_base: Base, http: Client) -> None:
    for name in ("include", "include[]"):
        body = http.get(f"/v0/meta/bases/{items_base.id}/tables", params={name: "visibleFieldIds"}).json()
        table = body["tables"][0]
        assert table["views"][0]["visibleFieldIds"] == [field["id"] for field in table["fields"]]
    assert (
        http.get(f"/v0/meta/bases/{items_base.id}/tables", params={"include": "everything"}).status_code
        == 422
    )


def test_schema_reflects_model_changes(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.state.add_field(items_base.id, "Items", "Added", "url", description="a link")
    fields = http.get(f"/v0/meta/bases/{items_base.id}/tables").json()["tables"][0]["fields"]
    assert fields[-1]["name"] == "Added" and fields[-1]["description"] == "a link"


def test_update_field_renames_and_describes_over_http(items_base: Base, http: Client) -> None:
    table_id = items_base.table("Items").id
    field_id = items_base.table("Items").field("Count").id
    answer = http.patch(
        f"/v0/meta/bases/{items_base.id}/tables/{table_id}/fields/{field_id}",
        json={"name": "Quantity", "description": "how many"},
    )
    assert answer.status_code == 200
    field = answer.json()
    assert (field["id"], field["name"], field["type"], field["description"]) == (
        field_id,
        "Quantity",
        "number",
        "how many",
    )
    fields = http.get(f"/v0/meta/bases/{items_base.id}/tables").json()["tables"][0]["fields"]
    assert next(field for field in fields if field["id"] == field_id)["name"] == "Quantity"
    # The table may be named instead of identified; a description alone leaves the name.
    answer = http.patch(
        f"/v0/meta/bases/{items_base.id}/tables/Items/fields/{field_id}", json={"description": ""}
    )
    assert answer.status_code == 200
    assert answer.json()["name"] == "Quantity" and "description" not in answer.json()


def test_update_field_rejects_bad_bodies_and_unknown_fields(items_base: Base, http: Client) -> None:
    table_id = items_base.table("Items").id
    field_id = items_base.table("Items").field("Count").id
    path = f"/v0/meta/bases/{items_base.id}/tables/{table_id}/fields/{field_id}"
    for body in ({}, {"name": ""}, {"name": 3}, {"type": "number"}, ["name"]):
        answer = http.patch(path, json=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["type"] == "INVALID_REQUEST_UNKNOWN"
    taken = http.patch(path, json={"name": "Name"})
    assert taken.status_code == 422
    unknown = http.patch(
        f"/v0/meta/bases/{items_base.id}/tables/{table_id}/fields/fldNope0000000000", json={"name": "X"}
    )
    assert unknown.status_code in {403, 404, 422}
    assert "error" in unknown.json()


def test_update_table_renames_over_http(items_base: Base, http: Client) -> None:
    table_id = items_base.table("Items").id
    answer = http.patch(f"/v0/meta/bases/{items_base.id}/tables/{table_id}", json={"name": "Things"})
    assert answer.status_code == 200 and answer.json()["name"] == "Things"
    assert http.get(f"/v0/meta/bases/{items_base.id}/tables").json()["tables"][0]["name"] == "Things"
