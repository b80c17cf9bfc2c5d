"""The sync worker handler, fed SQS events shaped like events/sync_worker_sqs.json."""

import copy
import json
import math
import time
from typing import Any

from airtable_mirror import runtime
from airtable_mirror.sync.engine import PAGES_FETCHED_AHEAD
from functions.sync_worker import app
from tests.functions.conftest import FakeLambdaContext, Stack, load_event


def sqs_event(*bodies: dict[str, Any]) -> dict[str, Any]:
    event = load_event("sync_worker_sqs.json")
    template = event["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"059f36b4-87a3-44ab-83d2-66197583{index:04d}"
        record["body"] = json.dumps(body)
        records.append(record)
    return {"Records": records}


def start(stack: Stack, table: str) -> str:
    return runtime.sync_service().start_run(table).run.run_id


def test_a_run_is_carried_to_the_end_through_handovers(stack: Stack) -> None:
    run_id = start(stack, "Tasks")
    message: dict[str, Any] | None = stack.queued_messages()[0]
    # Little time left in each invocation: every slice hands over once the pages it had asked for
    # (PAGES_FETCHED_AHEAD of them) are written
    context = FakeLambdaContext(remaining_millis=30_000)
    slices = 0
    while message is not None:
        response = app.lambda_handler(sqs_event(message), context)
        assert response == {"batchItemFailures": []}
        slices += 1
        queued = stack.queued_messages()
        message = queued[0] if queued else None
        if message is not None:
            assert message["slice_number"] == slices

    run = runtime.sync_run_repository().get_run(stack.base.id, run_id)
    assert run is not None and run.status == "succeeded"
    assert run.totals["fetched"] == len(stack.base.table("Tasks").records)
    assert slices == math.ceil(run.totals["pages"] / PAGES_FETCHED_AHEAD) > 1
    assert run.totals["requests"] == run.totals["pages"]  # no page fetched twice


def test_the_sample_event_is_harmless_for_an_unknown_run(stack: Stack) -> None:
    response = app.lambda_handler(load_event("sync_worker_sqs.json"), FakeLambdaContext())
    assert response == {"batchItemFailures": []}
    assert stack.queued_messages() == []


def test_a_malformed_message_is_reported_as_a_batch_item_failure(stack: Stack) -> None:
    run_id = start(stack, "People")
    stack.queued_messages()
    event = sqs_event({"base_id": stack.base.id, "run_id": run_id})
    event["Records"].insert(0, {**event["Records"][0], "messageId": "bad-1", "body": "not json"})

    response = app.lambda_handler(event, FakeLambdaContext())

    # The good message was processed; only the bad one will come back (and end in the DLQ)
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    run = runtime.sync_run_repository().get_run(stack.base.id, run_id)
    assert run is not None and run.status == "succeeded"


def test_a_run_waits_while_another_holds_the_base(stack: Stack) -> None:
    first = start(stack, "People")
    second = start(stack, "Tasks")
    stack.queued_messages()
    repository = runtime.sync_run_repository()
    assert repository.acquire_base_lock(stack.base.id, first, 900, time.time())

    response = app.lambda_handler(
        sqs_event({"base_id": stack.base.id, "run_id": second}), FakeLambdaContext()
    )

    # The message is acknowledged and queued again with a delay; the run has not started
    assert response == {"batchItemFailures": []}
    attributes = stack.sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    run = repository.get_run(stack.base.id, second)
    assert run is not None and run.status == "queued"
