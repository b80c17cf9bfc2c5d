"""The daily maintenance handler, fed events/webhook_maintenance.json."""

from airtable_mirror import runtime
from functions.webhook_maintenance import app
from tests.functions.conftest import FakeLambdaContext, load_event
from tests.functions.webhook_stack import WebhookStack


def test_maintenance_refreshes_reenables_and_queues_a_catch_up_drain(webhook_stack: WebhookStack) -> None:
    stack = webhook_stack.stack
    webhook_id = runtime.webhook_lifecycle().register(None, start_full_syncs=False).webhook_id
    stack.emulator.webhooks.enable_notifications(webhook_id, False)
    stack.emulator.clock.advance(2 * 24 * 3600)

    result = app.lambda_handler(load_event("webhook_maintenance.json"), FakeLambdaContext())

    actions = {action["action"] for action in result["actions"] if action["webhook_id"] == webhook_id}
    assert actions == {"refreshed", "notifications_enabled", "drain_queued"}
    [message] = webhook_stack.drain_messages()
    assert message["body"]["webhook_id"] == webhook_id
    assert message["attributes"]["MessageGroupId"] == webhook_id
    [listed] = stack.emulator.webhooks.list_webhooks(stack.base.id)
    assert listed["areNotificationsEnabled"] is True
    state = runtime.webhook_repository().get(stack.base.id, webhook_id)
    assert state is not None and state.expiration_time == listed["expirationTime"]


def test_maintenance_with_no_webhook_does_nothing(webhook_stack: WebhookStack) -> None:
    result = app.lambda_handler(load_event("webhook_maintenance.json"), FakeLambdaContext())
    assert result == {"actions": [], "full_syncs": []}
