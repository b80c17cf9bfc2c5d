"""Webhook payload contents: shapes (reference §6, §11.22-25), V2 values, filters, splitting, errors."""

from typing import Any

import pytest
from pyairtable.models.webhook import WebhookPayload

from airtable_emulator.clock import iso_millis
from tests.local.airtable_emulator.webhook_support import BASE_ID, Demo, make_demo

ALL_DATA = ["tableData", "tableFields", "tableMetadata"]


@pytest.fixture
def demo() -> Demo:
    return make_demo()


def only_payload(demo: Demo, webhook_id: str) -> dict[str, Any]:
    [payload] = demo.payloads(webhook_id)
    WebhookPayload.model_validate(payload)  # pyairtable 3.5.1 must accept every payload we make
    return payload


def expected_user(demo: Demo) -> dict[str, Any]:
    return {
        "id": demo.service.acting_user["id"],
        "email": "emulator@example.com",
        "permissionLevel": "create",
        "name": "Airtable Emulator",
    }


def test_created_record_payload_matches_the_documented_shape(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    [person] = demo.state.create_records(BASE_ID, "People", [{"Name": "Ada", "Age": 36}])
    payload = only_payload(demo, hook)
    moment = iso_millis(person.created_time)
    assert payload == {
        "timestamp": payload["timestamp"],
        "baseTransactionNumber": 1,
        "actionMetadata": {"source": "client", "sourceMetadata": {"user": expected_user(demo)}},
        "payloadFormat": "v0",
        "changedTablesById": {
            demo.table_id("People"): {
                "createdRecordsById": {
                    person.id: {
                        "createdTime": moment,
                        "cellValuesByFieldId": {
                            demo.field_id("People", "Name"): "Ada",
                            demo.field_id("People", "Age"): 36,
                        },
                    }
                }
            }
        },
    }
    assert payload["timestamp"] >= moment


def test_public_api_writes_carry_the_public_api_source(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    demo.state.create_records(BASE_ID, "People", [{"Name": "Ada"}], source="publicApi")
    assert only_payload(demo, hook)["actionMetadata"] == {
        "source": "publicApi",
        "sourceMetadata": {"user": expected_user(demo)},
    }


def test_changed_record_holds_only_changed_fields_by_default(demo: Demo) -> None:
    [project] = demo.state.create_records(
        BASE_ID, "Projects", [{"Title": "Roof", "Budget": 10, "Notes": "n"}]
    )
    hook = demo.hook({"dataTypes": ["tableData"]})
    demo.state.update_records(BASE_ID, "Projects", [(project.id, {"Budget": 12, "Notes": ""})])
    payload = only_payload(demo, hook)
    assert payload["baseTransactionNumber"] == 2
    assert payload["changedTablesById"] == {
        demo.table_id("Projects"): {
            "changedRecordsById": {
                project.id: {
                    "current": {
                        "cellValuesByFieldId": {
                            demo.field_id("Projects", "Budget"): 12,
                            demo.field_id("Projects", "Notes"): None,  # cleared cells are null in V2
                        }
                    }
                }
            }
        }
    }


def test_includes_add_previous_and_the_named_unchanged_values(demo: Demo) -> None:
    [project] = demo.state.create_records(
        BASE_ID, "Projects", [{"Title": "Roof", "Budget": 10, "Status": "Todo", "Notes": "n"}]
    )
    title, budget, status = (demo.field_id("Projects", name) for name in ("Title", "Budget", "Status"))
    hook = demo.hook(
        {"dataTypes": ["tableData"]},
        {"includeCellValuesInFieldIds": [title, budget], "includePreviousCellValues": True},
    )
    demo.state.update_records(BASE_ID, "Projects", [(project.id, {"Budget": 12, "Status": "Done"})])
    changed = only_payload(demo, hook)["changedTablesById"][demo.table_id("Projects")]["changedRecordsById"]
    todo, done = demo.choice_ids("Projects", "Status").values()
    assert changed == {
        project.id: {
            "current": {
                "cellValuesByFieldId": {
                    budget: 12,
                    status: {"id": done, "name": "Done", "color": "cyanLight2"},
                }
            },
            "previous": {
                "cellValuesByFieldId": {
                    budget: 10,
                    status: {"id": todo, "name": "Todo", "color": "blueLight2"},
                }
            },
            # Budget changed, so it is in current; Notes is not named in the includes.
            "unchanged": {"cellValuesByFieldId": {title: "Roof"}},
        }
    }


def test_include_all_gives_the_full_row_and_computed_cells() -> None:
    demo = make_demo()
    demo.state.add_field(BASE_ID, "People", "Number", "autoNumber")
    demo.state.add_field(BASE_ID, "People", "Edited", "lastModifiedTime")
    [person] = demo.state.create_records(BASE_ID, "People", [{"Name": "Ada", "Age": 1}])
    hook = demo.hook({"dataTypes": ["tableData"]}, {"includeCellValuesInFieldIds": "all"})
    demo.clock.advance(60)
    demo.state.update_records(BASE_ID, "People", [(person.id, {"Age": 2})])
    record = only_payload(demo, hook)["changedTablesById"][demo.table_id("People")]["changedRecordsById"][
        person.id
    ]
    age, name, number, edited = (demo.field_id("People", n) for n in ("Age", "Name", "Number", "Edited"))
    moment = iso_millis(demo.state.table(BASE_ID, "People").records[person.id].last_modified_time)
    assert record == {
        "current": {"cellValuesByFieldId": {age: 2, edited: moment}},
        "unchanged": {"cellValuesByFieldId": {name: "Ada", number: 1}},
    }


def test_v2_values_for_selects_links_checkboxes_and_attachments(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableData"], "recordChangeScope": demo.table_id("Projects")})
    [ada] = demo.state.create_records(BASE_ID, "People", [{"Name": "Ada"}])
    [project] = demo.state.create_records(
        BASE_ID,
        "Projects",
        [
            {
                "Title": "Roof",
                "Status": "Todo",
                "Tags": ["blue", "red"],
                "Owner": [ada.id],
                "Finished": True,
                "Files": [{"url": "https://example.test/plan.pdf"}],
            }
        ],
    )
    choices = {
        name: {choice["name"]: choice for choice in demo.options("Projects", name)["choices"]}
        for name in ("Status", "Tags")
    }
    stored_file = project.cells[demo.field_id("Projects", "Files")][0]
    cells = only_payload(demo, hook)["changedTablesById"][demo.table_id("Projects")]["createdRecordsById"][
        project.id
    ]["cellValuesByFieldId"]
    assert cells == {
        demo.field_id("Projects", "Title"): "Roof",
        demo.field_id("Projects", "Status"): {
            "id": choices["Status"]["Todo"]["id"],
            "name": "Todo",
            "color": "blueLight2",
        },
        demo.field_id("Projects", "Tags"): [
            {"id": choices["Tags"]["blue"]["id"], "name": "blue", "color": choices["Tags"]["blue"]["color"]},
            {"id": choices["Tags"]["red"]["id"], "name": "red", "color": choices["Tags"]["red"]["color"]},
        ],
        demo.field_id("Projects", "Owner"): [{"id": ada.id, "name": "Ada"}],
        demo.field_id("Projects", "Finished"): True,
        demo.field_id("Projects", "Files"): [
            {**stored_file, "url": f"https://files.test/{stored_file['id']}/1"}
        ],
    }


def test_attachment_urls_are_issued_when_payloads_are_served(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    demo.state.create_records(BASE_ID, "Projects", [{"Files": [{"url": "https://example.test/a.png"}]}])
    assert demo.presenter.calls == 0  # making the payload issues no URL
    first = demo.service.payloads(hook)["payloads"][0]
    second = demo.service.payloads(hook)["payloads"][0]
    assert demo.presenter.calls == 2
    file_field = demo.field_id("Projects", "Files")

    def url(payload: dict[str, Any]) -> str:
        [created] = payload["changedTablesById"][demo.table_id("Projects")]["createdRecordsById"].values()
        return str(created["cellValuesByFieldId"][file_field][0]["url"])

    assert url(first).endswith("/1")
    assert url(second).endswith("/2")


def test_link_names_follow_the_primary_value_and_survive_the_linked_record(demo: Demo) -> None:
    [ada] = demo.state.create_records(BASE_ID, "People", [{"Name": "Ada"}])
    [project] = demo.state.create_records(BASE_ID, "Projects", [{"Title": "Roof", "Owner": [ada.id]}])
    hook = demo.hook(
        {"dataTypes": ["tableData"], "recordChangeScope": demo.table_id("Projects")},
        {"includePreviousCellValues": True},
    )
    demo.state.update_records(BASE_ID, "People", [(ada.id, {"Name": "Ada L."})])
    demo.state.delete_records(BASE_ID, "People", [ada.id])
    # Renaming Ada changes no Projects cell; deleting her unlinks the project.
    record = only_payload(demo, hook)["changedTablesById"][demo.table_id("Projects")]["changedRecordsById"][
        project.id
    ]
    owner = demo.field_id("Projects", "Owner")
    assert record == {
        "current": {"cellValuesByFieldId": {owner: None}},
        "previous": {"cellValuesByFieldId": {owner: [{"id": ada.id, "name": "Ada L."}]}},
    }


def test_destroyed_records_and_inverse_link_changes(demo: Demo) -> None:
    [ada] = demo.state.create_records(BASE_ID, "People", [{"Name": "Ada"}])
    [project] = demo.state.create_records(BASE_ID, "Projects", [{"Title": "Roof", "Owner": [ada.id]}])
    hook = demo.hook({"dataTypes": ["tableData"]})
    demo.state.delete_records(BASE_ID, "Projects", [project.id])
    inverse = demo.options("Projects", "Owner")["inverseLinkFieldId"]
    assert only_payload(demo, hook)["changedTablesById"] == {
        demo.table_id("People"): {
            "changedRecordsById": {ada.id: {"current": {"cellValuesByFieldId": {inverse: None}}}}
        },
        demo.table_id("Projects"): {"destroyedRecordIds": [project.id]},
    }


def test_field_changes_with_and_without_previous_definitions(demo: Demo) -> None:
    plain = demo.hook({"dataTypes": ["tableFields"]})
    detailed = demo.hook({"dataTypes": ["tableFields"]}, {"includePreviousFieldDefinitions": True})
    created = demo.state.add_field(BASE_ID, "People", "Email", "email")
    demo.state.rename_field(BASE_ID, "People", "Email", "Mail")
    demo.state.delete_field(BASE_ID, "People", "Mail")
    demo.state.create_records(BASE_ID, "People", [{"Name": "not a field change"}])
    people = demo.table_id("People")
    expected = [
        {people: {"createdFieldsById": {created.id: {"name": "Email", "type": "email"}}}},
        {people: {"changedFieldsById": {created.id: {"current": {"name": "Mail"}}}}},
        {people: {"destroyedFieldIds": [created.id]}},
    ]
    assert [payload["changedTablesById"] for payload in demo.payloads(plain)] == expected
    expected[1] = {
        people: {
            "changedFieldsById": {created.id: {"current": {"name": "Mail"}, "previous": {"name": "Email"}}}
        }
    }
    assert [payload["changedTablesById"] for payload in demo.payloads(detailed)] == expected
    for payload in demo.payloads(detailed):
        WebhookPayload.model_validate(payload)


def test_table_metadata_changes_and_created_tables(demo: Demo) -> None:
    metadata = demo.hook({"dataTypes": ["tableMetadata"]})
    fields = demo.hook({"dataTypes": ["tableFields"]})
    data = demo.hook({"dataTypes": ["tableData"]})
    demo.state.update_table(BASE_ID, "People", name="Humans", description="Everyone")
    table = demo.state.add_table(
        BASE_ID, {"name": "Tasks", "fields": [{"name": "Task", "type": "singleLineText"}]}
    )
    [renamed, created] = demo.payloads(metadata)
    assert renamed["changedTablesById"] == {
        demo.table_id("Humans"): {
            "changedMetadata": {
                "current": {"name": "Humans", "description": "Everyone"},
                "previous": {"name": "People", "description": None},
            }
        }
    }
    assert created["createdTablesById"] == {table.id: {"metadata": {"name": "Tasks", "description": None}}}
    assert "changedTablesById" not in created
    [field_view] = demo.payloads(fields)
    assert field_view["createdTablesById"] == {
        table.id: {"fieldsById": {table.primary_field_id: {"name": "Task", "type": "singleLineText"}}}
    }
    assert demo.payloads(data) == []
    for payload in [renamed, created, field_view]:
        WebhookPayload.model_validate(payload)


def test_record_change_scope_limits_to_one_table_and_accepts_a_view(demo: Demo) -> None:
    by_table = demo.hook({"dataTypes": ["tableData"], "recordChangeScope": demo.table_id("People")})
    by_view = demo.hook({"dataTypes": ["tableData"], "recordChangeScope": demo.view_id("Projects", "Open")})
    demo.state.create_records(BASE_ID, "People", [{"Name": "Ada"}])
    demo.state.create_records(BASE_ID, "Projects", [{"Title": "Roof"}])
    assert [list(p["changedTablesById"]) for p in demo.payloads(by_table)] == [[demo.table_id("People")]]
    # A view scope is treated as its table (changedViewsById is not emulated).
    assert [list(p["changedTablesById"]) for p in demo.payloads(by_view)] == [[demo.table_id("Projects")]]


def test_change_types_filter(demo: Demo) -> None:
    adds = demo.hook({"dataTypes": ["tableData"], "changeTypes": ["add"]})
    removals = demo.hook({"dataTypes": ["tableData"], "changeTypes": ["remove"]})
    updates = demo.hook(
        {"dataTypes": ["tableData"], "changeTypes": ["update"], "recordChangeScope": demo.table_id("People")}
    )
    [ada] = demo.state.create_records(BASE_ID, "People", [{"Name": "Ada"}])
    demo.state.update_records(BASE_ID, "People", [(ada.id, {"Age": 3})])
    demo.state.delete_records(BASE_ID, "People", [ada.id])
    people = demo.table_id("People")
    assert [list(p["changedTablesById"][people]) for p in demo.payloads(adds)] == [["createdRecordsById"]]
    assert [list(p["changedTablesById"][people]) for p in demo.payloads(updates)] == [["changedRecordsById"]]
    assert [list(p["changedTablesById"][people]) for p in demo.payloads(removals)] == [["destroyedRecordIds"]]


def test_from_sources_filter(demo: Demo) -> None:
    api_only = demo.hook({"dataTypes": ["tableData"], "fromSources": ["publicApi"]})
    ui_only = demo.hook({"dataTypes": ["tableData"], "fromSources": ["client"]})
    demo.state.create_records(BASE_ID, "People", [{"Name": "from the API"}], source="publicApi")
    demo.state.create_records(BASE_ID, "People", [{"Name": "from the UI"}], source="client")
    assert [p["baseTransactionNumber"] for p in demo.payloads(api_only)] == [1]
    assert [p["baseTransactionNumber"] for p in demo.payloads(ui_only)] == [2]


def test_watch_data_in_field_ids_keeps_only_updates_of_watched_fields(demo: Demo) -> None:
    [ada] = demo.state.create_records(BASE_ID, "People", [{"Name": "Ada", "Age": 1}])
    age = demo.field_id("People", "Age")
    hook = demo.hook({"dataTypes": ["tableData"], "watchDataInFieldIds": [age]})
    demo.state.update_records(BASE_ID, "People", [(ada.id, {"Name": "Ada L."})])
    demo.state.update_records(BASE_ID, "People", [(ada.id, {"Name": "Ada", "Age": 2})])
    assert [p["changedTablesById"] for p in demo.payloads(hook)] == [
        {
            demo.table_id("People"): {
                "changedRecordsById": {ada.id: {"current": {"cellValuesByFieldId": {age: 2}}}}
            }
        }
    ]


def test_watch_schemas_of_field_ids_keeps_only_those_fields(demo: Demo) -> None:
    age = demo.field_id("People", "Age")
    hook = demo.hook({"dataTypes": ["tableFields"], "watchSchemasOfFieldIds": [age]})
    demo.state.add_field(BASE_ID, "People", "Email", "email")
    demo.state.rename_field(BASE_ID, "People", "Name", "Full name")
    demo.state.rename_field(BASE_ID, "People", "Age", "Years")
    assert [p["changedTablesById"] for p in demo.payloads(hook)] == [
        {demo.table_id("People"): {"changedFieldsById": {age: {"current": {"name": "Years"}}}}}
    ]


def test_large_actions_split_into_payloads_sharing_transaction_and_time() -> None:
    demo = make_demo(max_records_per_payload=3)
    hook = demo.hook({"dataTypes": ["tableData"]})
    created = demo.state.create_records(BASE_ID, "People", [{"Name": f"P{n}"} for n in range(7)])
    payloads = demo.payloads(hook)
    assert len(payloads) == 3
    assert {p["baseTransactionNumber"] for p in payloads} == {1}
    assert len({p["timestamp"] for p in payloads}) == 1
    assert all(p["actionMetadata"] == payloads[0]["actionMetadata"] for p in payloads)
    people = demo.table_id("People")
    sizes = [len(p["changedTablesById"][people]["createdRecordsById"]) for p in payloads]
    assert sizes == [3, 3, 1]
    ids = [rec for p in payloads for rec in p["changedTablesById"][people]["createdRecordsById"]]
    assert ids == [record.id for record in created]
    assert demo.listed(hook)["cursorForNextPayload"] == 4


def test_nothing_is_stored_when_no_change_passes_the_filters(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableFields"]})
    demo.state.create_records(BASE_ID, "People", [{"Name": "Ada"}])
    assert demo.service.payloads(hook) == {"cursor": 1, "mightHaveMore": False, "payloads": []}
    assert demo.listed(hook)["cursorForNextPayload"] == 1


def test_deleting_a_watched_field_sends_an_error_payload_and_disables_the_hook(demo: Demo) -> None:
    age = demo.field_id("People", "Age")
    hook = demo.hook({"dataTypes": ["tableData", "tableFields"], "watchDataInFieldIds": [age]})
    bystander = demo.hook({"dataTypes": ["tableData"]})
    demo.state.delete_field(BASE_ID, "People", "Age")
    demo.state.create_records(BASE_ID, "People", [{"Name": "after"}])
    destroyed, error = demo.payloads(hook)
    assert destroyed["changedTablesById"] == {demo.table_id("People"): {"destroyedFieldIds": [age]}}
    assert error == {
        "timestamp": destroyed["timestamp"],
        "baseTransactionNumber": 1,
        "payloadFormat": "v0",
        "error": True,
        "code": "INVALID_FILTERS",
    }
    parsed = WebhookPayload.model_validate(error)
    assert parsed.error is True
    assert parsed.error_code == "INVALID_FILTERS"
    listed = demo.listed(hook)
    assert listed["isHookEnabled"] is False
    assert listed["cursorForNextPayload"] == 3  # the later record made no payload
    assert demo.listed(bystander)["isHookEnabled"] is True
    assert len(demo.payloads(bystander)) == 1


def test_injected_error_payload(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ALL_DATA})
    cursor = demo.service.inject_error_payload(hook, "INVALID_HOOK")
    assert cursor == 1
    [payload] = demo.payloads(hook)
    assert payload["error"] is True
    assert payload["code"] == "INVALID_HOOK"
    assert demo.listed(hook)["isHookEnabled"] is False
