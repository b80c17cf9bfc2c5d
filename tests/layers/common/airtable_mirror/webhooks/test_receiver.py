"""The receiver: every bad input gets its status and changes nothing; valid pings are queued once."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airtable_mirror.webhooks.drain_queue import DrainMessage
from airtable_mirror.webhooks.receiver import MAX_BODY_BYTES, IncomingRequest
from airtable_mirror.webhooks.signature import MAC_HEADER, content_mac, decode_mac_secret, mac_matches
from tests.layers.common.airtable_mirror.webhooks.harness import WebhookHarness, request, webhook_harness
from tests.support.dynamodb import DynamoTable


@pytest.fixture
def hooks(moto_dynamo: DynamoTable) -> Iterator[WebhookHarness]:
    with webhook_harness(moto_dynamo) as ready:
        ready.register()
        yield ready


def ping_body(hooks: WebhookHarness, **overrides: Any) -> bytes:
    document: dict[str, Any] = {
        "base": {"id": hooks.base_id},
        "webhook": {"id": hooks.webhook_id},
        "timestamp": "2026-03-01T12:00:00.000Z",
    }
    document.update(overrides)
    return json.dumps(document, separators=(",", ":")).encode()


def sign(hooks: WebhookHarness, body: bytes) -> str:
    secret = hooks.secrets.get(hooks.base_id, hooks.webhook_id)
    assert secret is not None
    return content_mac(decode_mac_secret(secret), body)


def assert_nothing_happened(hooks: WebhookHarness) -> None:
    assert hooks.drain_queue.sent == []
    assert hooks.state().pings_accepted == 0


def test_a_valid_ping_is_queued_and_answered_with_an_empty_200(hooks: WebhookHarness) -> None:
    response = hooks.receive(hooks.signed_ping())

    assert (response.status, response.body) == (200, "")
    assert hooks.drain_queue.sent == [
        DrainMessage(
            hooks.base_id,
            hooks.webhook_id,
            "ping",
            f"ping-{hooks.webhook_id}-1772366400000000",
            "2026-03-01T12:00:00.000Z",
        )
    ]
    state = hooks.state()
    assert (state.pings_accepted, state.last_ping_at) == (1, "2026-03-01T12:00:00.000Z")


def test_a_duplicate_or_replayed_ping_is_acknowledged_and_not_queued(hooks: WebhookHarness) -> None:
    hooks.receive(hooks.signed_ping(timestamp="2026-03-01T12:00:05.000Z"))

    duplicate = hooks.receive(hooks.signed_ping(timestamp="2026-03-01T12:00:05.000Z"))
    replayed_older = hooks.receive(hooks.signed_ping(timestamp="2026-03-01T12:00:01.000Z"))
    newer = hooks.receive(hooks.signed_ping(timestamp="2026-03-01T12:00:06.000Z"))

    assert (duplicate.status, duplicate.body) == (204, "")
    assert replayed_older.status == 204
    assert newer.status == 200
    assert len(hooks.drain_queue.sent) == 2
    assert hooks.state().pings_accepted == 2


def test_a_ping_the_queue_refuses_is_not_remembered_so_its_retry_gets_through(
    hooks: WebhookHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(message: DrainMessage) -> None:
        raise ConnectionError("SQS is unreachable")

    monkeypatch.setattr(hooks.drain_queue, "send", refuse)
    assert hooks.receive(hooks.signed_ping()).status == 503
    monkeypatch.undo()

    assert hooks.receive(hooks.signed_ping()).status == 200
    assert len(hooks.drain_queue.sent) == 1


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("GET instead of POST", 405, "METHOD_NOT_ALLOWED"),
        ("body over 1 MB", 413, "BODY_TOO_LARGE"),
        ("text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("no content type", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("invalid JSON", 400, "INVALID_JSON"),
        ("not UTF-8", 400, "INVALID_JSON"),
        ("a JSON array", 400, "INVALID_JSON"),
        ("neither ping nor push", 400, "UNRECOGNIZED_BODY"),
        ("ping without timestamp", 400, "INVALID_PING"),
        ("ping with a naive timestamp", 400, "INVALID_PING"),
        ("unknown webhook id", 401, "UNAUTHORIZED"),
        ("another base", 401, "UNAUTHORIZED"),
        ("missing MAC", 401, "UNAUTHORIZED"),
        ("wrong MAC", 401, "UNAUTHORIZED"),
        ("MAC of another body", 401, "UNAUTHORIZED"),
        ("MAC in base64, not hex", 401, "UNAUTHORIZED"),
        ("MAC with a non-ASCII character", 401, "UNAUTHORIZED"),
        ("push without its secret", 401, "UNAUTHORIZED"),
    ],
)
def test_bad_input_gets_a_clear_status_and_changes_nothing(
    hooks: WebhookHarness, case: str, status: int, code: str
) -> None:
    good = ping_body(hooks)
    incoming: IncomingRequest
    if case == "GET instead of POST":
        incoming = request(good, sign(hooks, good), method="GET")
    elif case == "body over 1 MB":
        big = ping_body(hooks, padding="x" * MAX_BODY_BYTES)
        incoming = request(big, sign(hooks, big))
    elif case == "text/plain":
        incoming = request(good, sign(hooks, good), content_type="text/plain")
    elif case == "no content type":
        incoming = IncomingRequest("POST", {MAC_HEADER: sign(hooks, good)}, good)
    elif case == "invalid JSON":
        incoming = request(b'{"base": ', sign(hooks, b'{"base": '))
    elif case == "not UTF-8":
        incoming = request(b'{"a": "\xff"}', sign(hooks, b'{"a": "\xff"}'))
    elif case == "a JSON array":
        incoming = request(b"[]", sign(hooks, b"[]"))
    elif case == "neither ping nor push":
        incoming = request(b'{"hello": 1}', sign(hooks, b'{"hello": 1}'))
    elif case == "ping without timestamp":
        body = json.dumps({"base": {"id": hooks.base_id}, "webhook": {"id": hooks.webhook_id}}).encode()
        incoming = request(body, sign(hooks, body))
    elif case == "ping with a naive timestamp":
        body = ping_body(hooks, timestamp="2026-03-01T12:00:00")
        incoming = request(body, sign(hooks, body))
    elif case == "unknown webhook id":
        body = ping_body(hooks, webhook={"id": "achUnknownHook123"})
        incoming = request(body, sign(hooks, body))
    elif case == "another base":
        body = ping_body(hooks, base={"id": "appSomeoneElse123"})
        incoming = request(body, sign(hooks, body))
    elif case == "missing MAC":
        incoming = request(good, None)
    elif case == "wrong MAC":
        incoming = request(good, "hmac-sha256=" + "0" * 64)
    elif case == "MAC of another body":
        incoming = request(good, sign(hooks, ping_body(hooks, timestamp="2026-03-01T12:00:01.000Z")))
    elif case == "MAC in base64, not hex":
        incoming = request(good, "hmac-sha256=" + "A" * 43 + "=")
    elif case == "MAC with a non-ASCII character":
        incoming = request(good, sign(hooks, good)[:-1] + "\u00e9")
    else:
        body = json.dumps(
            {"event": "update", "timestamp": "2026-03-01T12:00:00.000Z", "payload": {}}
        ).encode()
        incoming = request(body, sign(hooks, body))

    response = hooks.receive(incoming)

    assert response.status == status, case
    assert json.loads(response.body)["error"]["code"] == code
    assert_nothing_happened(hooks)


def test_the_mac_check_is_over_the_exact_bytes() -> None:
    key = b"k" * 32
    body = b'{"a":1}'
    assert mac_matches(content_mac(key, body), key, body)
    assert mac_matches(content_mac(key, body).upper().replace("HMAC-SHA256=", "hmac-sha256="), key, body)
    assert not mac_matches(content_mac(key, body), key, b'{"a": 1}')
    assert not mac_matches(None, key, body)
    assert not mac_matches(content_mac(key, body), b"", body)


def test_a_replaced_webhook_is_no_longer_accepted(hooks: WebhookHarness) -> None:
    incoming = hooks.signed_ping()
    hooks.repository.mark_replaced(hooks.base_id, hooks.webhook_id, "achNewHook0000001", "test")
    assert hooks.receive(incoming).status == 401
