"""The webhook receiver handler, fed function URL events shaped like events/webhook_ping*.json."""

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from airtable_emulator.clock import iso_millis
from airtable_mirror import runtime
from functions.webhook import app
from tests.functions.conftest import FakeLambdaContext, load_event
from tests.functions.webhook_stack import PUSH_SECRET, SAMPLE_WEBHOOK_ID, WebhookStack, use_sample_base


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = app.lambda_handler(event, FakeLambdaContext())
    return response


def event_with(body: bytes, mac: str | None, *, base64_body: bool = False) -> dict[str, Any]:
    event = copy.deepcopy(load_event("webhook_ping.json"))
    event["isBase64Encoded"] = base64_body
    event["body"] = base64.b64encode(body).decode() if base64_body else body.decode()
    if mac is None:
        del event["headers"]["x-airtable-content-mac"]
    else:
        event["headers"]["x-airtable-content-mac"] = mac
    return event


def test_the_sample_ping_is_authenticated_and_queued(
    webhook_stack: WebhookStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_sample_base(monkeypatch)

    response = invoke(load_event("webhook_ping.json"))

    assert (response["statusCode"], response["body"]) == (200, "")
    [message] = webhook_stack.drain_messages()
    assert message["body"]["webhook_id"] == SAMPLE_WEBHOOK_ID
    assert message["attributes"]["MessageGroupId"] == SAMPLE_WEBHOOK_ID
    state = runtime.webhook_repository().get("appDEMO0000000001", SAMPLE_WEBHOOK_ID)
    assert state is not None and state.last_ping_at == "2026-11-26T07:00:00.000Z"


def test_the_base64_body_variant_is_decoded_before_the_mac_check(
    webhook_stack: WebhookStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_sample_base(monkeypatch)

    first = invoke(load_event("webhook_ping_base64.json"))
    # The same ping again, as text this time: a duplicate
    again = invoke(load_event("webhook_ping.json"))

    assert first["statusCode"] == 200
    assert (again["statusCode"], again["body"]) == (204, "")
    assert len(webhook_stack.drain_messages()) == 1


@pytest.mark.parametrize(
    ("variant", "status"),
    [("missing MAC", 401), ("wrong MAC", 401), ("invalid base64", 400), ("tampered base64 body", 401)],
)
def test_bad_signatures_and_encodings_are_refused(
    webhook_stack: WebhookStack, monkeypatch: pytest.MonkeyPatch, variant: str, status: int
) -> None:
    use_sample_base(monkeypatch)
    sample = load_event("webhook_ping.json")
    body, mac = sample["body"].encode(), sample["headers"]["x-airtable-content-mac"]
    if variant == "missing MAC":
        event = event_with(body, None)
    elif variant == "wrong MAC":
        event = event_with(body, mac[:-4] + "0000")
    elif variant == "invalid base64":
        event = event_with(body, mac, base64_body=True)
        event["body"] = "%%% not base64 %%%"
    else:
        event = event_with(body.replace(b"07:00:00", b"07:00:01"), mac, base64_body=True)

    response = invoke(event)

    assert response["statusCode"] == status
    assert json.loads(response["body"])["error"]["code"]
    assert webhook_stack.drain_messages() == []


def test_a_ping_for_a_webhook_nobody_registered_is_unauthorized(webhook_stack: WebhookStack) -> None:
    # The stack's base is not the sample's, and no webhook is stored
    response = invoke(load_event("webhook_ping.json"))
    assert response["statusCode"] == 401
    assert webhook_stack.drain_messages() == []


def test_the_sample_push_is_applied_with_the_secret_from_secrets_manager(
    webhook_stack: WebhookStack,
) -> None:
    stack = webhook_stack.stack
    runtime.sync_service().start_run("People")  # stores the People schema
    table = stack.base.table("People")
    primary = table.fields[table.primary_field_id]
    push = json.loads(load_event("webhook_push.json")["body"])
    section = push["payload"]["changedTablesById"].pop("tblDEMO0000000001")
    section["addedRecords"][0]["current"] = {primary.name: "John"}
    section["updatedRecords"] = []
    push["payload"]["changedTablesById"][table.id] = section
    push["timestamp"] = iso_millis(datetime.now(UTC))
    body = json.dumps(push).encode()
    mac = "hmac-sha256=" + hmac.new(PUSH_SECRET.encode(), body, hashlib.sha256).hexdigest()

    response = invoke(event_with(body, mac))

    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["applied"]["written"] == 1
    stored = runtime.record_repository().get(stack.base.id, "recDEMO0000000001")
    assert stored is not None and stored.cells == {primary.id: "John"}


def test_a_webhook_whose_secret_is_missing_is_unauthorized(
    webhook_stack: WebhookStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_sample_base(monkeypatch)
    runtime.mac_secret_store().delete("appDEMO0000000001", SAMPLE_WEBHOOK_ID)
    runtime.reset()  # a cold container: nothing cached

    assert invoke(load_event("webhook_ping.json"))["statusCode"] == 401


def test_secrets_manager_failing_is_a_503_so_airtable_retries(
    webhook_stack: WebhookStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    use_sample_base(monkeypatch)
    runtime.reset()

    def throttled(**kwargs: object) -> object:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetSecretValue"
        )

    monkeypatch.setattr(runtime.secretsmanager_client(), "get_secret_value", throttled)

    response = invoke(load_event("webhook_ping.json"))

    assert response["statusCode"] == 503
    assert webhook_stack.drain_messages() == []
