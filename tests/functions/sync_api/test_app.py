"""The sync API handler, fed the events in events/ (as `sam local invoke` would)."""

import copy
import json
from typing import Any

import pytest

from functions.sync_api import app
from tests.functions.conftest import FakeLambdaContext, Stack, load_event


def start_event(table: str) -> dict[str, Any]:
    event = load_event("sync_api_start_sync.json")
    event = copy.deepcopy(event)
    event["rawPath"] = f"/sync/{table}"
    event["requestContext"]["http"]["path"] = f"/sync/{table}"
    event["pathParameters"] = {"table": table}
    return event


def run_event(run_id: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("sync_api_get_run.json"))
    event["rawPath"] = f"/sync/runs/{run_id}"
    event["requestContext"]["http"]["path"] = f"/sync/runs/{run_id}"
    event["pathParameters"] = {"run_id": run_id}
    return event


def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = app.lambda_handler(event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_the_sample_event_starts_a_run_of_the_aliased_table(stack: Stack) -> None:
    status, body = invoke(load_event("sync_api_start_sync.json"))

    assert status == 202
    assert body["table_name"] == "Tasks"
    assert body["table_id"] == stack.base.table("Tasks").id
    assert body["status"] == "queued"
    assert stack.queued_messages() == [
        {"base_id": stack.base.id, "run_id": body["run_id"], "slice_number": 0}
    ]


@pytest.mark.parametrize("reference", ["People", "people", "PEOPLE"])
def test_a_table_is_named_by_name_alias_or_id(stack: Stack, reference: str) -> None:
    status, body = invoke(start_event(reference))
    assert status == 202
    assert body["table_name"] == "People"


def test_a_table_id_works_too(stack: Stack) -> None:
    status, body = invoke(start_event(stack.base.table("People").id))
    assert (status, body["table_name"]) == (202, "People")


def test_a_url_encoded_table_name_is_decoded(stack: Stack) -> None:
    stack.emulator.state.add_table(
        stack.base.id, {"name": "Open items", "fields": [{"name": "Name", "type": "singleLineText"}]}
    )
    status, body = invoke(start_event("Open%20items"))
    assert (status, body["table_name"]) == (202, "Open items")


def test_a_second_start_while_the_run_is_going_answers_409_with_its_id(stack: Stack) -> None:
    _, first = invoke(start_event("tasks"))

    status, body = invoke(start_event("Tasks"))

    assert status == 409
    assert body["error"]["code"] == "SYNC_RUN_ACTIVE"
    assert body["error"]["run_id"] == first["run_id"]


def test_an_unknown_table_is_404_with_airtables_message(stack: Stack) -> None:
    status, body = invoke(start_event("Nope"))
    assert status == 404
    assert body["error"]["code"] == "TABLE_NOT_FOUND"
    assert "Nope" in body["error"]["message"]


@pytest.mark.parametrize("table", ["%20%20", "%00bad", "x" * 300])
def test_a_malformed_table_string_is_400(stack: Stack, table: str) -> None:
    status, body = invoke(start_event(table))
    assert status == 400
    assert body["error"]["code"] == "INVALID_TABLE"


def test_a_rejected_token_is_502_and_the_token_is_not_in_the_answer(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airtable_mirror import runtime

    monkeypatch.setenv("AIRTABLE_API_KEY", "patWRONGtoken.secret-value")
    runtime.reset()

    status, body = invoke(start_event("tasks"))

    assert status == 502
    assert body["error"]["code"] == "AIRTABLE_AUTH_FAILED"
    assert "patWRONGtoken" not in json.dumps(body)
    assert stack.queued_messages() == []


def test_a_run_is_reported_with_its_counts(stack: Stack) -> None:
    _, started = invoke(start_event("people"))

    status, body = invoke(run_event(started["run_id"]))

    assert status == 200
    assert body["run_id"] == started["run_id"]
    assert body["status"] == "queued"
    assert body["counts"]["fetched"] == 0


def test_an_unknown_run_is_404_and_a_malformed_run_id_400(stack: Stack) -> None:
    assert invoke(run_event("run_" + "0" * 32))[0] == 404
    status, body = invoke(run_event("not-a-run"))
    assert status == 400
    assert body["error"]["code"] == "INVALID_RUN_ID"


def list_event(**parameters: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("sync_api_list_runs.json"))
    event["rawQueryString"] = "&".join(f"{name}={value}" for name, value in parameters.items())
    event["queryStringParameters"] = parameters or None
    return event


def finish(stack: Stack, run_id: str) -> None:
    from airtable_mirror import runtime

    runtime.sync_run_repository().finish_run(stack.base.id, run_id, "succeeded", {"fetched": 7, "pages": 1})


def test_the_sample_listing_event_shows_the_aliased_tables_runs(stack: Stack) -> None:
    _, tasks_run = invoke(start_event("tasks"))
    invoke(start_event("people"))

    status, body = invoke(load_event("sync_api_list_runs.json"))

    assert status == 200
    assert [run["run_id"] for run in body["runs"]] == [tasks_run["run_id"]]
    assert body["runs"][0]["status"] == "queued"
    assert body["runs"][0]["counts"]["fetched"] == 0
    assert body["next_cursor"] is None


def test_runs_are_listed_newest_first_a_page_at_a_time(stack: Stack) -> None:
    started = []
    for table in ("people", "tasks", "people", "tasks", "people"):
        _, run = invoke(start_event(table))
        finish(stack, run["run_id"])
        started.append(run)
    newest_first = sorted(started, key=lambda run: (run["created_at"], run["run_id"]), reverse=True)

    _, first = invoke(list_event(limit="2"))
    _, second = invoke(list_event(limit="2", cursor=first["next_cursor"]))
    _, last = invoke(list_event(limit="2", cursor=second["next_cursor"]))
    _, people = invoke(list_event(table="People"))

    pages = [first, second, last]
    assert [run["run_id"] for page in pages for run in page["runs"]] == [
        run["run_id"] for run in newest_first
    ]
    assert last["next_cursor"] is None
    assert first["runs"][0]["status"] == "succeeded"
    assert first["runs"][0]["counts"]["fetched"] == 7
    assert "failures" not in first["runs"][0]
    assert {run["table_name"] for run in people["runs"]} == {"People"}
    assert len(people["runs"]) == 3


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not a cursor!"}, "cursor"),
        ({"cursor": "Z2FyYmFnZQ"}, "cursor"),
        ({"table": "x" * 300}, "table"),
        ({"table": "%20"}, "table"),
    ],
)
def test_a_bad_listing_parameter_is_400_naming_it(
    stack: Stack, parameters: dict[str, str], named: str
) -> None:
    event = list_event(**parameters)
    if parameters.get("table") == "%20":
        event["queryStringParameters"]["table"] = " "

    status, body = invoke(event)

    assert status == 400
    assert body["error"]["code"] == "INVALID_REQUEST"
    assert body["error"]["message"].startswith(f"{named}:")


def test_listing_the_runs_of_a_table_never_synced_is_404(stack: Stack) -> None:
    status, body = invoke(list_event(table="Nope"))
    assert status == 404
    assert body["error"]["code"] == "TABLE_NOT_FOUND"
    assert "Nope" in body["error"]["message"]
