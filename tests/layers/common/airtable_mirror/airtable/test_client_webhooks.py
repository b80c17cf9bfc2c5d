"""AirtableClient's webhook endpoints against a scripted transport."""

from datetime import UTC, datetime

import pytest
import requests

from airtable_mirror.airtable import AirtableClient, AirtableNotFound, AirtableUnavailable, UnexpectedResponse
from tests.layers.common.airtable_mirror.airtable import airtable_responses as bodies
from tests.layers.common.airtable_mirror.airtable.conftest import API_URL, BASE_ID
from tests.layers.common.airtable_mirror.airtable.fake_transport import ScriptedTransport

WEBHOOK_ID = "achW8ZqV1ePLfZ4g8"
WEBHOOKS_URL = f"{API_URL}/v0/bases/{BASE_ID}/webhooks"
MAC_SECRET = "c2VjcmV0LW1hYy1rZXktZm9yLXRlc3Rz"
SPECIFICATION = {
    "options": {
        "filters": {"dataTypes": ["tableData"], "recordChangeScope": bodies.TABLE_ID},
        "includes": {"includeCellValuesInFieldIds": "all"},
    }
}
CREATED = {"id": WEBHOOK_ID, "macSecretBase64": MAC_SECRET, "expirationTime": "2023-01-30T00:00:00.000Z"}
LISTED = {
    "webhooks": [
        {
            "id": WEBHOOK_ID,
            "areNotificationsEnabled": True,
            "cursorForNextPayload": 12,
            "isHookEnabled": True,
            "lastSuccessfulNotificationTime": "2023-01-22T00:00:00.000Z",
            "notificationUrl": "https://example.com/airtable",
            "expirationTime": "2023-01-30T00:00:00.000Z",
            "lastNotificationResult": {
                "success": False,
                "error": {"message": "The HTTP request returned a 503 status code instead of 200 or 204."},
                "completionTimestamp": "2023-01-23T00:00:00.000Z",
                "durationMs": 2.6,
                "retryNumber": 1,
                "willBeRetried": True,
            },
            "specification": SPECIFICATION,
        },
        {
            "id": "achOtHeRwEbHoOk01",
            "areNotificationsEnabled": False,
            "cursorForNextPayload": 1,
            "isHookEnabled": False,
            "lastSuccessfulNotificationTime": None,
            "notificationUrl": None,
            "expirationTime": None,
            "lastNotificationResult": None,
            "specification": {"options": {"filters": {"dataTypes": ["tableFields"]}}},
        },
    ]
}
PAYLOAD = {
    "timestamp": "2022-02-01T21:25:05.663Z",
    "baseTransactionNumber": 4,
    "payloadFormat": "v0",
    "actionMetadata": {"source": "client", "sourceMetadata": {"user": {"id": "usr00000000000001"}}},
    "changedTablesById": {bodies.TABLE_ID: {"destroyedRecordIds": [bodies.record_id(1)]}},
}


def test_create_webhook_posts_the_specification_and_returns_the_secret(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, CREATED)

    created = client.create_webhook("https://example.com/airtable", SPECIFICATION)

    [sent] = transport.sent
    assert (sent.method, sent.url) == ("POST", WEBHOOKS_URL)
    assert sent.json() == {"notificationUrl": "https://example.com/airtable", "specification": SPECIFICATION}
    assert created.id == WEBHOOK_ID
    assert created.mac_secret_base64 == MAC_SECRET
    assert created.expiration_time == datetime(2023, 1, 30, tzinfo=UTC)
    assert MAC_SECRET not in repr(created)
    assert MAC_SECRET not in str(created)


def test_create_webhook_without_a_notification_url(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, {**CREATED, "expirationTime": None})

    created = client.create_webhook(None, SPECIFICATION)

    assert transport.sent[0].json() == {"specification": SPECIFICATION}
    assert created.expiration_time is None


@pytest.mark.parametrize(
    ("url", "specification"),
    [("", SPECIFICATION), ("https://example.com", {}), ("https://example.com", {"options": "all"})],
)
def test_create_webhook_checks_its_arguments(
    client: AirtableClient, transport: ScriptedTransport, url: str, specification: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        client.create_webhook(url, specification)
    assert transport.sent == []


@pytest.mark.parametrize("status", [500, 504])
def test_create_webhook_is_not_resent_when_it_may_have_succeeded(
    client: AirtableClient, transport: ScriptedTransport, sleeps: list[float], status: int
) -> None:
    transport.reply_json(status, {"error": {"type": "SERVER_ERROR"}})

    with pytest.raises(AirtableUnavailable, match="may have been carried out"):
        client.create_webhook(None, SPECIFICATION)

    assert len(transport.sent) == 1
    assert sleeps == []


def test_create_webhook_is_not_resent_after_a_read_timeout(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.raise_error(requests.ReadTimeout)

    with pytest.raises(AirtableUnavailable, match="may have been carried out") as raised:
        client.create_webhook(None, SPECIFICATION)

    assert raised.value.error_type == "READ_TIMEOUT"
    assert len(transport.sent) == 1


def test_create_webhook_is_resent_when_airtable_did_not_carry_it_out(
    client: AirtableClient, transport: ScriptedTransport, sleeps: list[float]
) -> None:
    transport.reply_json(429, bodies.RATE_LIMITED)
    transport.reply_json(503, bodies.RETRIABLE_ERROR)
    transport.reply_json(502, {"error": "BAD_GATEWAY"})
    transport.raise_error(requests.ConnectTimeout)
    transport.reply_json(200, CREATED)

    assert client.create_webhook(None, SPECIFICATION).id == WEBHOOK_ID
    assert len(transport.sent) == 5
    assert sleeps[0] == 30.0


def test_list_webhooks(client: AirtableClient, transport: ScriptedTransport) -> None:
    transport.reply_json(200, LISTED)

    active, disabled = client.list_webhooks()

    assert (transport.sent[0].method, transport.sent[0].url) == ("GET", WEBHOOKS_URL)
    assert active.id == WEBHOOK_ID
    assert active.cursor_for_next_payload == 12
    assert active.are_notifications_enabled and active.is_hook_enabled
    assert active.notification_url == "https://example.com/airtable"
    assert active.last_notification_result is not None
    assert active.last_notification_result.will_be_retried is True
    assert active.last_notification_result.retry_number == 1
    assert active.specification == SPECIFICATION
    assert (disabled.is_hook_enabled, disabled.expiration_time, disabled.last_notification_result) == (
        False,
        None,
        None,
    )


def test_list_webhooks_rejects_an_unexpected_body(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, {"hooks": []})

    with pytest.raises(UnexpectedResponse, match="webhooks"):
        client.list_webhooks()


def test_refresh_webhook_returns_the_new_expiration(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, {"expirationTime": "2023-02-06T00:00:00.000Z"})
    transport.reply_json(200, {"expirationTime": None})

    assert client.refresh_webhook(WEBHOOK_ID) == datetime(2023, 2, 6, tzinfo=UTC)
    assert client.refresh_webhook(WEBHOOK_ID) is None
    assert [(sent.method, sent.url) for sent in transport.sent] == [
        ("POST", f"{WEBHOOKS_URL}/{WEBHOOK_ID}/refresh")
    ] * 2


@pytest.mark.parametrize("enable", [True, False])
def test_enable_webhook_notifications(
    client: AirtableClient, transport: ScriptedTransport, enable: bool
) -> None:
    transport.reply_text(200, "")

    client.enable_webhook_notifications(WEBHOOK_ID, enable)

    [sent] = transport.sent
    assert (sent.method, sent.url) == ("POST", f"{WEBHOOKS_URL}/{WEBHOOK_ID}/enableNotifications")
    assert sent.json() == {"enable": enable}


def test_enable_webhook_notifications_wants_a_boolean(client: AirtableClient) -> None:
    with pytest.raises(TypeError):
        client.enable_webhook_notifications(WEBHOOK_ID, "yes")  # type: ignore[arg-type]


def test_delete_webhook(client: AirtableClient, transport: ScriptedTransport) -> None:
    transport.reply_json(200, {})

    client.delete_webhook(WEBHOOK_ID)

    assert (transport.sent[0].method, transport.sent[0].url) == ("DELETE", f"{WEBHOOKS_URL}/{WEBHOOK_ID}")


def test_delete_unknown_webhook_raises_not_found(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(404, bodies.NOT_FOUND_STRING)

    with pytest.raises(AirtableNotFound):
        client.delete_webhook(WEBHOOK_ID)


def test_list_webhook_payloads(client: AirtableClient, transport: ScriptedTransport) -> None:
    transport.reply_json(200, {"cursor": 13, "mightHaveMore": True, "payloads": [PAYLOAD]})

    result = client.list_webhook_payloads(WEBHOOK_ID, cursor=12, limit=1)

    [sent] = transport.sent
    assert (sent.method, sent.path) == ("GET", f"/v0/bases/{BASE_ID}/webhooks/{WEBHOOK_ID}/payloads")
    assert sent.query == [("cursor", "12"), ("limit", "1")]
    assert (result.cursor, result.might_have_more) == (13, True)
    assert result.payloads == [PAYLOAD]


def test_list_webhook_payloads_asks_for_50_by_default(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_json(200, {"cursor": 1, "mightHaveMore": False, "payloads": []})

    result = client.list_webhook_payloads(WEBHOOK_ID, cursor=1)

    assert dict(transport.sent[0].query)["limit"] == "50"
    assert result.payloads == []


@pytest.mark.parametrize(("cursor", "limit"), [(0, 50), (1, 0), (1, 51), (True, 50), (1, 2.5), ("1", 50)])
def test_list_webhook_payloads_checks_cursor_and_limit(
    client: AirtableClient, transport: ScriptedTransport, cursor: object, limit: object
) -> None:
    with pytest.raises(ValueError):
        client.list_webhook_payloads(WEBHOOK_ID, cursor=cursor, limit=limit)  # type: ignore[arg-type]
    assert transport.sent == []


@pytest.mark.parametrize("webhook_id", ["", "ach123", "../../../meta", "recW8ZqV1ePLfZ4g8"])
def test_webhook_ids_are_checked(
    client: AirtableClient, transport: ScriptedTransport, webhook_id: str
) -> None:
    with pytest.raises(ValueError, match="webhook id"):
        client.delete_webhook(webhook_id)
    with pytest.raises(ValueError, match="webhook id"):
        client.refresh_webhook(webhook_id)
    assert transport.sent == []
