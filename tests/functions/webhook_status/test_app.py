"""GET /webhooks, fed events/webhook_status_get.json."""

import json

from airtable_mirror import runtime
from airtable_mirror.repository.timestamps import micros_from_seconds
from functions.webhook_status import app
from tests.functions.conftest import FakeLambdaContext, load_event
from tests.functions.webhook_stack import WebhookStack


def test_the_webhooks_are_shown_with_expiry_cursor_last_ping_and_health(webhook_stack: WebhookStack) -> None:
    stack = webhook_stack.stack
    state = runtime.webhook_lifecycle().register("https://example.test/hook", start_full_syncs=False)
    repository = runtime.webhook_repository()
    repository.record_ping(
        stack.base.id,
        state.webhook_id,
        ping_timestamp="2026-11-26T07:00:00.000Z",
        ping_version=micros_from_seconds(1795676400),
    )
    repository.request_full_sync(
        stack.base.id, stack.base.table("Tasks").id, micros_from_seconds(1795676400), "a field was deleted"
    )

    response = app.lambda_handler(load_event("webhook_status_get.json"), FakeLambdaContext())

    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    [webhook] = body["webhooks"]
    assert webhook["webhook_id"] == state.webhook_id
    assert webhook["health"] == "healthy" and webhook["cursor"] == 1
    assert webhook["expiration_time"] == state.expiration_time
    assert webhook["last_ping_at"] == "2026-11-26T07:00:00.000Z" and webhook["pings_accepted"] == 1
    assert webhook["draining"] is False
    [pending] = body["pending_full_syncs"]
    assert pending["table_id"] == stack.base.table("Tasks").id
    assert pending["reason"] == "a field was deleted"
    assert "mac" not in response["body"].lower()
