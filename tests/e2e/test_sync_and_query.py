"""A user's first minutes: the first sync has mirrored the demo base, and the records API answers
queries with filters, sorting and pagination, all over HTTP through the local gateway."""

from typing import Any

import pytest

from tests.e2e.support import RunningStack, airtable_records, all_records, synced_tables, wait_for

pytestmark = pytest.mark.xdist_group("e2e-shared-stack")


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """Fields as Airtable returns them, without attachment URLs (Airtable signs them anew per read)."""
    fields = dict(record["fields"])
    if "Avatar" in fields:
        fields["Avatar"] = [attachment["id"] for attachment in fields["Avatar"]]
    return {"id": record["id"], "createdTime": record["createdTime"], "fields": fields}


def test_first_sync_mirrors_every_table_exactly(stack: RunningStack) -> None:
    tables = synced_tables(stack)
    assert tables is not None
    for name in ("People", "Tasks"):
        in_airtable = airtable_records(stack, name)
        mirrored = all_records(stack, name)
        assert tables[name]["record_count"] == len(in_airtable)
        # Compared as values: JSON has one number type, so Airtable's 8.0 and the mirror's 8 are equal.
        by_id = {record["id"]: comparable(record) for record in in_airtable}
        assert {record["id"]: comparable(record) for record in mirrored} == by_id
        assert all(record["table"]["name"] == name for record in mirrored)


def test_the_seed_query_and_the_alias_routes(stack: RunningStack) -> None:
    page = stack.get_json(
        "/records",
        params={
            "table_name": "tasks",
            "skip": "0",
            "limit": "100",
            "sort_by": "created_at",
            "sort_order": "desc",
        },
    )
    created = [record["createdTime"] for record in page["records"]]
    assert len(created) == 100
    assert created == sorted(created, reverse=True)
    people = stack.get_json("/people", params={"limit": "7"})
    assert [record["id"] for record in people["records"]] == [
        record["id"]
        for record in stack.get_json("/records", params={"table_name": "People", "limit": "7"})["records"]
    ]
    assert len(stack.get_json("/tasks", params={"limit": "3"})["records"]) == 3


def test_cursor_pages_visit_every_record_once_in_order(stack: RunningStack) -> None:
    records = all_records(stack, "Tasks", sort_by="created_at", sort_order="asc", limit="37")
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids)) == len(airtable_records(stack, "Tasks"))
    created = [record["createdTime"] for record in records]
    assert created == sorted(created)


def test_equality_filter_matches_airtable_own_filter(stack: RunningStack) -> None:
    mirrored = all_records(stack, "Tasks", **{"filter[Status]": "Done"})
    in_airtable = airtable_records(stack, "Tasks", filterByFormula="{Status} = 'Done'")
    assert mirrored, "the demo base has Done tasks"
    assert {record["id"] for record in mirrored} == {record["id"] for record in in_airtable}
    assert all(record["fields"]["Status"] == "Done" for record in mirrored)


def test_one_record_by_id_and_bad_ids(stack: RunningStack) -> None:
    some = airtable_records(stack, "People")[0]
    record = stack.get_json(f"/records/{some['id']}")
    assert comparable(record) == comparable(some)
    assert set(record["mirror"]) >= {"changed_at", "synced_at", "version"}
    unknown = stack.api("GET", "/records/recAAAAAAAAAAAAAA")
    assert unknown.status_code == 404
    assert "message" in unknown.json()["error"]
    malformed = stack.api("GET", "/records/not-a-record")
    assert malformed.status_code == 400
    assert "record_id" in malformed.json()["error"]["message"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"table_name": "tasks", "limit": "0"}, "limit"),
        ({"table_name": "tasks", "sort_by": "Title"}, "sort_by"),
        ({"table_name": "tasks", "sort_order": "sideways"}, "sort_order"),
        ({"table_name": "tasks", "cursor": "forged"}, "cursor"),
    ],
)
def test_bad_query_parameters_get_400_naming_them(
    stack: RunningStack, params: dict[str, str], named: str
) -> None:
    answer = stack.api("GET", "/records", params=params)
    assert answer.status_code == 400, answer.text
    assert named in answer.text


def test_unknown_table_is_404(stack: RunningStack) -> None:
    answer = stack.api("GET", "/records", params={"table_name": "Invoices"})
    assert answer.status_code == 404
    assert answer.json()["error"]["message"]


def test_gateway_answers_unknown_routes_and_methods_as_api_gateway_does(stack: RunningStack) -> None:
    missing = stack.api("GET", "/nowhere")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    wrong_method = stack.api("DELETE", "/records")
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"message": "Method Not Allowed"})
    assert "GET" in wrong_method.headers["Allow"]


def test_swagger_ui_and_the_openapi_document(stack: RunningStack) -> None:
    page = stack.api("GET", "/docs")
    assert page.status_code == 200
    assert "swagger" in page.text.lower()
    document = stack.get_json("/docs", params={"format": "json"})
    assert "/records" in document["paths"]


def test_a_sync_started_over_http_runs_to_the_end(stack: RunningStack) -> None:
    started = stack.api("POST", "/sync/people")
    assert started.status_code in {202, 409}, started.text
    run_id = started.json()["run_id"] if started.status_code == 202 else started.json()["error"]["run_id"]

    def finished() -> dict[str, Any] | None:
        run = stack.get_json(f"/sync/runs/{run_id}")
        return run if run["status"] in {"succeeded", "failed", "cancelled"} else None

    run = wait_for(finished, timeout=120, what="the sync run to finish", stack=stack)
    assert run["status"] == "succeeded", run
    assert run["counts"]["fetched"] == len(airtable_records(stack, "People"))
    assert run["counts"]["rate_limited"] == 0
    unknown = stack.api("POST", "/sync/Invoices")
    assert unknown.status_code == 404
