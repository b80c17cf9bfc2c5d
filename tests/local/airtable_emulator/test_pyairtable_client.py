"""pyairtable 3.5.1 against the emulator: the real client's requests must all be understood.

``Api(token, endpoint_url=emulator.url)``: pyairtable appends ``/v0`` itself.
"""

import pyairtable
import pytest
import requests
from pyairtable.formulas import EQ, OR, RECORD_ID, Field

from airtable_emulator.demo import DEMO_BASE_ID, build_demo_base
from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base


@pytest.fixture
def demo(emulator: Emulator) -> Base:
    return build_demo_base(emulator.state, seed=3)


@pytest.fixture
def api(emulator: Emulator) -> pyairtable.Api:
    return pyairtable.Api(emulator.token, endpoint_url=emulator.url, retry_strategy=False)


def test_all_and_iterate_walk_every_page(api: pyairtable.Api, demo: Base) -> None:
    tasks = api.table(DEMO_BASE_ID, "Tasks")
    expected = list(demo.table("Tasks").records)
    assert [record["id"] for record in tasks.all()] == expected
    pages = list(tasks.iterate(page_size=40))
    assert [len(page) for page in pages] == [40] * 7 + [20]
    assert [record["id"] for page in pages for record in page] == expected
    assert len(tasks.all(max_records=55, page_size=10)) == 55
    assert tasks.first(formula="{Status} = 'Done'") is not None


def test_views_sort_fields_and_formulas(api: pyairtable.Api, demo: Base) -> None:
    tasks = api.table(DEMO_BASE_ID, "Tasks")
    open_tasks = tasks.all(view="Open tasks", fields=["Title", "Due", "Done"])
    assert open_tasks and all(set(record["fields"]) <= {"Title", "Due"} for record in open_tasks)
    dues = [record["fields"]["Due"] for record in open_tasks]
    assert dues == sorted(dues)
    by_estimate = tasks.all(sort=["-Estimate", "Title"], formula=EQ(Field("Status"), "Blocked"))
    estimates = [record["fields"]["Estimate"] for record in by_estimate]
    assert estimates == sorted(estimates, reverse=True)
    assert all(record["fields"]["Status"] == "Blocked" for record in by_estimate)


def test_use_field_ids_and_comment_counts(emulator: Emulator, demo: Base) -> None:
    api = pyairtable.Api(emulator.token, endpoint_url=emulator.url, use_field_ids=True)
    record = api.table(DEMO_BASE_ID, "Tasks").first(count_comments=True)
    assert record is not None
    assert all(key.startswith("fld") for key in record["fields"])
    assert record["commentCount"] == 0


def test_long_formula_falls_back_to_post_list_records(api: pyairtable.Api, demo: Base) -> None:
    tasks = api.table(DEMO_BASE_ID, "Tasks")
    wanted = list(demo.table("Tasks").records)[:5]
    padding = [f"rec{index:014d}" for index in range(600)]
    formula = OR(*(EQ(RECORD_ID(), record_id) for record_id in padding + wanted))
    assert len(str(formula)) > 16_000
    found = tasks.all(formula=formula, page_size=2, time_zone="Europe/Paris")
    assert sorted(record["id"] for record in found) == sorted(wanted)


def test_create_batch_create_update_upsert_delete(api: pyairtable.Api, demo: Base) -> None:
    people = api.table(DEMO_BASE_ID, "People")
    one = people.create({"Name": "Solo", "Age": 30})
    assert one["fields"] == {"Name": "Solo", "Age": 30}
    many = people.batch_create([{"Name": f"Batch {index}", "Skills": ["Go"]} for index in range(23)])
    assert len(many) == 23
    updated = people.batch_update([{"id": record["id"], "fields": {"Age": 40}} for record in many])
    assert {record["fields"]["Age"] for record in updated} == {40}
    assert people.update(one["id"], {"Notes": "hi"})["fields"]["Notes"] == "hi"
    assert people.update(one["id"], {"Name": "Solo 2"}, replace=True)["fields"] == {"Name": "Solo 2"}
    upserted = people.batch_upsert(
        [{"fields": {"Name": "Batch 0", "Age": 50}}, {"fields": {"Name": "Brand new", "Age": 1}}],
        key_fields=["Name"],
    )
    assert upserted["updatedRecords"] == [many[0]["id"]]
    assert len(upserted["createdRecords"]) == 1
    deleted = people.batch_delete([record["id"] for record in many])
    assert all(entry["deleted"] for entry in deleted) and len(deleted) == 23
    assert people.delete(one["id"]) == {"id": one["id"], "deleted": True}
    with pytest.raises(requests.HTTPError) as caught:
        people.get(one["id"])
    assert caught.value.response is not None and caught.value.response.status_code == 404


def test_schema_and_bases(api: pyairtable.Api, demo: Base) -> None:
    schema = api.base(DEMO_BASE_ID).schema()
    tasks = schema.table("Tasks")
    assert tasks.id == demo.table("Tasks").id
    assignee = tasks.field("Assignee")
    assert assignee.type == "multipleRecordLinks"
    people = schema.table("People")
    inverse = people.field("Tasks")
    assert inverse.options.inverse_link_field_id == assignee.id  # type: ignore[union-attr]
    assert [view.name for view in tasks.views] == ["Grid view", "Open tasks"]
    assert tasks.views[0].visible_field_ids == [field.id for field in tasks.fields]
    assert [base.id for base in api.bases()] == [DEMO_BASE_ID]


def test_errors_reach_pyairtable_with_the_airtable_body(api: pyairtable.Api, demo: Base) -> None:
    with pytest.raises(requests.HTTPError) as caught:
        api.table(DEMO_BASE_ID, "Tasks").all(formula="NOW() > 1")
    assert "INVALID_FILTER_BY_FORMULA" in str(caught.value)
    with pytest.raises(requests.HTTPError) as missing:
        api.table(DEMO_BASE_ID, "Nope").all()
    assert "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND" in str(missing.value)
