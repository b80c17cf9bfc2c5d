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
