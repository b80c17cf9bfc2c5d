"""The webhook worker handler, fed SQS FIFO events shaped like events/webhook_worker_sqs.json."""

import copy
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from airtable_mirror import runtime
from functions.webhook_worker import app
from tests.functions.conftest import FakeLambdaContext, load_event
from tests.functions.webhook_stack import WebhookStack


def sqs_event(*bodies: dict[str, Any]) -> dict[str, Any]:
    template = load_event("webhook_worker_sqs.json")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"2e1424d4-f796-459a-8184-9c92662b{index:04d}"
        record["body"] = json.dumps(body)
        record["attributes"]["MessageGroupId"] = body.get("webhook_id", "x")
        record["attributes"]["MessageDeduplicationId"] = body.get("deduplication_id", "x")
        records.append(record)
    return {"Records": records}


def drain_message(webhook_stack: WebhookStack, webhook_id: str, dedup: str = "ping-1") -> dict[str, Any]:
    return {
        "base_id": webhook_stack.stack.base.id,
        "webhook_id": webhook_id,
        "reason": "ping",
        "deduplication_id": dedup,
    }


def register() -> str:
    return runtime.webhook_lifecycle().register(None, start_full_syncs=False).webhook_id


def mirrored(stack: Any, table: str) -> dict[str, dict[str, Any]]:
    records = runtime.record_repository()
    table_id = stack.base.table(table).id
    found = {}
    for record_id, _ in records.iter_table_keys(stack.base.id, table_id):
        stored = records.get(stack.base.id, record_id)
        assert stored is not None
        found[record_id] = stored.cells
    return found


def test_the_sample_event_is_harmless_for_an_unknown_webhook(webhook_stack: WebhookStack) -> None:
    response = app.lambda_handler(load_event("webhook_worker_sqs.json"), FakeLambdaContext())
    assert response == {"batchItemFailures": []}


def test_a_drain_message_brings_the_changes_into_the_mirror(webhook_stack: WebhookStack) -> None:
    stack = webhook_stack.stack
    webhook_id = register()
    created = stack.emulator.state.create_records(
        stack.base.id, "People", [{"Name": "Grace"}, {"Name": "Alan"}]
    )

    # Coalesced and duplicated pings: three messages, one drain does the work
    event = sqs_event(*(drain_message(webhook_stack, webhook_id, f"ping-{n}") for n in range(3)))
    response = app.lambda_handler(event, FakeLambdaContext())

    assert response == {"batchItemFailures": []}
    people = mirrored(stack, "People")
    assert set(people) == {record.id for record in created}
    state = runtime.webhook_repository().get(stack.base.id, webhook_id)
    assert state is not None and state.cursor == 2 and state.payloads_applied == 1


def test_a_busy_webhook_fails_its_messages_for_a_later_retry(webhook_stack: WebhookStack) -> None:
    stack = webhook_stack.stack
    webhook_id = register()
    repository = runtime.webhook_repository()
    import time

    repository.claim(stack.base.id, webhook_id, "another-worker", now=time.time(), lease_seconds=60)
    event = sqs_event(
        drain_message(webhook_stack, webhook_id, "ping-1"), drain_message(webhook_stack, webhook_id, "ping-2")
    )

    # Every message failed (the second one because its group's first one did): the whole batch comes
    # back after the visibility timeout, in order
    with pytest.raises(BatchProcessingError):
        app.lambda_handler(event, FakeLambdaContext())
    state = repository.get(stack.base.id, webhook_id)
    assert state is not None and state.lease_owner == "another-worker" and state.cursor == 1


def test_an_error_payload_gets_the_webhook_recreated_and_full_syncs_started(
    webhook_stack: WebhookStack,
) -> None:
    stack = webhook_stack.stack
    webhook_id = register()
    stack.emulator.webhooks.inject_error_payload(webhook_id, "INVALID_HOOK")

    response = app.lambda_handler(sqs_event(drain_message(webhook_stack, webhook_id)), FakeLambdaContext())

    assert response == {"batchItemFailures": []}
    states = {state.webhook_id: state for state in runtime.webhook_repository().list_webhooks(stack.base.id)}
    assert states[webhook_id].health == "replaced"
    replacement = states[webhook_id].replaced_by
    assert replacement is not None and states[replacement].health == "healthy"
    # The new webhook's MAC secret is in Secrets Manager; the old one is gone
    assert runtime.mac_secret_store().get(stack.base.id, replacement) is not None
    with pytest.raises(webhook_stack.secretsmanager.exceptions.ResourceNotFoundException):
        webhook_stack.secretsmanager.get_secret_value(
            SecretId=f"airtable-mirror-test/webhooks/{stack.base.id}/{webhook_id}"
        )
    # A full sync of each table of the base was queued to cover the gap
    queued = {message["run_id"] for message in stack.queued_messages()}
    assert len(queued) == len(stack.base.tables)


def test_a_malformed_message_is_a_batch_item_failure_and_other_groups_go_on(
    webhook_stack: WebhookStack,
) -> None:
    webhook_id = register()
    event = sqs_event(
        {"webhook_id": "achSomeOtherGroup", "no": "fields"}, drain_message(webhook_stack, webhook_id)
    )

    response = app.lambda_handler(event, FakeLambdaContext())

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    state = runtime.webhook_repository().get(webhook_stack.stack.base.id, webhook_id)
    assert state is not None and state.last_drain_at is not None
