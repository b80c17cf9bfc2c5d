"""The webhook service without HTTP: create/list/refresh/delete, cursors, expiry, retention, handle()."""

import base64
from datetime import datetime, timedelta
from typing import Any

import pytest
from pyairtable.models.webhook import CreateWebhookResponse, Webhook, WebhookPayloads

from airtable_emulator.clock import iso_millis
from airtable_emulator.errors import AirtableApiError
from airtable_emulator.settings import DAY
from tests.local.airtable_emulator.webhook_support import BASE_ID, Demo, make_demo

DATA = {"options": {"filters": {"dataTypes": ["tableData"]}}}


@pytest.fixture
def demo() -> Demo:
    return make_demo()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def add_people(demo: Demo, count: int) -> None:
    for n in range(count):
        demo.state.create_records(BASE_ID, "People", [{"Name": f"P{n}"}])


def call(demo: Demo, method: str, rest: list[str], body: Any = None, **query: str) -> tuple[int, Any]:
    return demo.service.handle(method, BASE_ID, rest, {k: [v] for k, v in query.items()}, body)


def error_of(excinfo: pytest.ExceptionInfo[AirtableApiError]) -> tuple[int, dict[str, Any]]:
    return excinfo.value.status, excinfo.value.body()


# --- create and list ------------------------------------------------------------------------


def test_create_returns_id_secret_and_expiry_once(demo: Demo) -> None:
    created = demo.service.create_webhook(BASE_ID, DATA, "https://example.test/ping")
    assert set(created) == {"id", "macSecretBase64", "expirationTime"}
    response = CreateWebhookResponse.model_validate(created)
    assert response.id.startswith("ach")
    assert len(response.id) == 17
    assert len(base64.b64decode(created["macSecretBase64"])) >= 32
    lifetime = parse_time(created["expirationTime"]) - demo.clock.now()
    assert timedelta(days=7) - timedelta(minutes=1) < lifetime <= timedelta(days=7)
    listed = demo.service.list_webhooks(BASE_ID)
    assert created["macSecretBase64"] not in repr(listed)
    other = demo.service.create_webhook(BASE_ID, DATA)
    assert other["macSecretBase64"] != created["macSecretBase64"]


def test_list_shows_every_documented_key(demo: Demo) -> None:
    hook = demo.hook(
        {"dataTypes": ["tableData"], "recordChangeScope": demo.table_id("People")}, url="https://x.test/p"
    )
    listed = demo.listed(hook)
    assert listed == {
        "id": hook,
        "areNotificationsEnabled": True,
        "cursorForNextPayload": 1,
        "isHookEnabled": True,
        "lastSuccessfulNotificationTime": None,
        "notificationUrl": "https://x.test/p",
        "expirationTime": listed["expirationTime"],
        "lastNotificationResult": None,
        "specification": {
            "options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": demo.table_id("People")}}
        },
    }
    model = Webhook.model_validate(listed)
    assert model.specification.options.filters.record_change_scope == demo.table_id("People")


def test_at_most_ten_webhooks_per_base(demo: Demo) -> None:
    hooks = [demo.service.create_webhook(BASE_ID, DATA)["id"] for _ in range(10)]
    with pytest.raises(AirtableApiError) as excinfo:
        demo.service.create_webhook(BASE_ID, DATA)
    assert excinfo.value.status == 422
    demo.service.delete(hooks[0])
    demo.service.create_webhook(BASE_ID, DATA)
    assert len(demo.service.list_webhooks(BASE_ID)) == 10


def test_bad_notification_url_and_unknown_base(demo: Demo) -> None:
    with pytest.raises(AirtableApiError) as excinfo:
        demo.service.create_webhook(BASE_ID, DATA, "ftp://example.test/")
    assert excinfo.value.status == 422
    with pytest.raises(AirtableApiError) as excinfo:
        demo.service.create_webhook("appNoSuchBase0000", DATA)
    assert excinfo.value.status == 403


# --- cursors -----------------------------------------------------------------------------------


def test_cursor_pages_with_limit_and_might_have_more(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    add_people(demo, 5)
    first = demo.service.payloads(hook, cursor=1, limit=2)
    assert [p["baseTransactionNumber"] for p in first["payloads"]] == [1, 2]
    assert (first["cursor"], first["mightHaveMore"]) == (3, True)
    second = demo.service.payloads(hook, cursor=3, limit=2)
    assert [p["baseTransactionNumber"] for p in second["payloads"]] == [3, 4]
    assert (second["cursor"], second["mightHaveMore"]) == (5, True)
    last = demo.service.payloads(hook, cursor=5, limit=2)
    assert [p["baseTransactionNumber"] for p in last["payloads"]] == [5]
    assert (last["cursor"], last["mightHaveMore"]) == (6, False)
    empty = demo.service.payloads(hook, cursor=6)
    assert empty == {"cursor": 6, "mightHaveMore": False, "payloads": []}
    assert demo.service.payloads(hook, cursor=40) == {"cursor": 40, "mightHaveMore": False, "payloads": []}
    assert demo.listed(hook)["cursorForNextPayload"] == 6
    WebhookPayloads.model_validate(first)


def test_default_and_maximum_limit_is_fifty(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    add_people(demo, 53)
    page = demo.service.payloads(hook)
    assert len(page["payloads"]) == 50
    assert (page["cursor"], page["mightHaveMore"]) == (51, True)
    with pytest.raises(AirtableApiError) as excinfo:
        demo.service.payloads(hook, limit=51)
    assert error_of(excinfo) == (
        422,
        {
            "error": {
                "type": "INVALID_REQUEST_UNKNOWN",
                "message": "Invalid request: parameter validation failed. Check your request data.",
            }
        },
    )


def test_cursors_are_per_webhook(demo: Demo) -> None:
    early = demo.hook({"dataTypes": ["tableData"]})
    add_people(demo, 2)
    late = demo.hook({"dataTypes": ["tableData"]})
    add_people(demo, 1)
    assert demo.listed(early)["cursorForNextPayload"] == 4
    assert demo.listed(late)["cursorForNextPayload"] == 2
    assert [p["baseTransactionNumber"] for p in demo.payloads(late)] == [3]


def test_retention_deletes_old_payloads_but_numbering_continues() -> None:
    demo = make_demo(webhook_payload_retention_seconds=3600, webhook_lifetime_seconds=30 * DAY)
    hook = demo.hook({"dataTypes": ["tableData"]})
    add_people(demo, 3)
    demo.clock.advance(1800)
    add_people(demo, 1)
    demo.clock.advance(1801)  # the first three are now older than the retention
    add_people(demo, 1)
    page = demo.service.payloads(hook, cursor=1)
    # A deleted cursor starts at the oldest payload still kept (Airtable's behaviour is unconfirmed).
    assert [p["baseTransactionNumber"] for p in page["payloads"]] == [4, 5]
    assert (page["cursor"], page["mightHaveMore"]) == (6, False)
    assert demo.service.payloads(hook, cursor=5)["payloads"][0]["baseTransactionNumber"] == 5
    assert demo.listed(hook)["cursorForNextPayload"] == 6


# --- expiry ------------------------------------------------------------------------------------


def test_refresh_and_listing_payloads_extend_life(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    created = parse_time(demo.listed(hook)["expirationTime"])
    demo.clock.advance(3 * DAY)
    refreshed = demo.service.refresh(hook)
    assert parse_time(refreshed["expirationTime"]) == parse_time(demo.listed(hook)["expirationTime"])
    assert parse_time(refreshed["expirationTime"]) - created >= timedelta(days=3)
    demo.clock.advance(6 * DAY)  # past the original expiry, within the refreshed one
    demo.service.payloads(hook)
    after_listing = parse_time(demo.listed(hook)["expirationTime"])
    assert after_listing - demo.clock.now() > timedelta(days=6)
    add_people(demo, 1)
    assert len(demo.payloads(hook)) == 1


def test_expired_hooks_stop_then_stay_readable_then_vanish(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    demo.clock.advance(6 * DAY)
    add_people(demo, 1)
    demo.clock.advance(DAY + 1)
    add_people(demo, 1)  # no payload: the hook has expired
    listed = demo.listed(hook)
    assert listed["isHookEnabled"] is False
    assert listed["cursorForNextPayload"] == 2
    expiry = listed["expirationTime"]
    assert [p["baseTransactionNumber"] for p in demo.payloads(hook)] == [1]
    assert demo.listed(hook)["expirationTime"] == expiry  # reading an expired hook does not revive it
    with pytest.raises(AirtableApiError) as excinfo:
        demo.service.refresh(hook)
    assert excinfo.value.status == 422
    demo.clock.advance(7 * DAY)  # a week after the expiry
    assert demo.service.list_webhooks(BASE_ID) == []
    with pytest.raises(AirtableApiError) as excinfo:
        demo.service.payloads(hook)
    assert excinfo.value.status == 404


def test_expired_hooks_do_not_count_against_the_limit(demo: Demo) -> None:
    for _ in range(10):
        demo.service.create_webhook(BASE_ID, DATA)
    demo.clock.advance(7 * DAY + 1)
    demo.service.create_webhook(BASE_ID, DATA)
    assert len(demo.service.list_webhooks(BASE_ID)) == 11


# --- the HTTP handler ------------------------------------------------------------------------


def test_handle_serves_every_route(demo: Demo) -> None:
    status, created = call(demo, "POST", [], {"notificationUrl": None, "specification": DATA})
    assert status == 200
    hook = created["id"]
    assert call(demo, "GET", [])[1]["webhooks"][0]["id"] == hook
    add_people(demo, 3)
    status, page = call(demo, "GET", [hook, "payloads"], cursor="2", limit="1")
    assert (status, page["cursor"], page["mightHaveMore"]) == (200, 3, True)
    status, refreshed = call(demo, "POST", [hook, "refresh"])
    assert status == 200
    assert set(refreshed) == {"expirationTime"}
    assert call(demo, "POST", [hook, "enableNotifications"], {"enable": False}) == (200, None)
    assert demo.listed(hook)["areNotificationsEnabled"] is False
    assert call(demo, "POST", [hook, "enableNotifications"], {"enable": True}) == (200, None)
    assert demo.listed(hook)["areNotificationsEnabled"] is True
    assert call(demo, "DELETE", [hook]) == (200, None)
    assert call(demo, "GET", []) == (200, {"webhooks": []})
    with pytest.raises(AirtableApiError) as excinfo:
        call(demo, "DELETE", [hook])
    assert excinfo.value.status == 404
    assert excinfo.value.body()["error"]["type"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "query",
    [{"cursor": "0"}, {"cursor": "-1"}, {"cursor": "abc"}, {"limit": "0"}, {"limit": "51"}, {"limit": "1.5"}],
)
def test_handle_rejects_bad_cursor_and_limit(demo: Demo, query: dict[str, str]) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    with pytest.raises(AirtableApiError) as excinfo:
        call(demo, "GET", [hook, "payloads"], **query)
    assert excinfo.value.status == 422
    assert excinfo.value.type == "INVALID_REQUEST_UNKNOWN"


@pytest.mark.parametrize(
    "body", [None, [], {"specification": None}, {"specification": DATA, "url": "https://x.test"}]
)
def test_handle_rejects_bad_create_bodies(demo: Demo, body: Any) -> None:
    with pytest.raises(AirtableApiError) as excinfo:
        call(demo, "POST", [], body)
    assert excinfo.value.status == 422


@pytest.mark.parametrize("body", [None, {}, {"enable": "yes"}, {"enable": True, "more": 1}])
def test_handle_rejects_bad_enable_bodies(demo: Demo, body: Any) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    with pytest.raises(AirtableApiError) as excinfo:
        call(demo, "POST", [hook, "enableNotifications"], body)
    assert excinfo.value.status == 422


@pytest.mark.parametrize(
    ("method", "rest"),
    [
        ("PUT", []),
        ("GET", ["ach00000000000000"]),
        ("POST", ["ach00000000000000", "ping"]),
        ("GET", ["a", "b", "c"]),
    ],
)
def test_handle_unknown_routes_are_404(demo: Demo, method: str, rest: list[str]) -> None:
    with pytest.raises(AirtableApiError) as excinfo:
        call(demo, method, rest)
    assert error_of(excinfo) == (404, {"error": "NOT_FOUND"})


def test_handle_scopes_webhooks_to_their_base(demo: Demo) -> None:
    hook = demo.hook({"dataTypes": ["tableData"]})
    other = demo.state.create_base(
        "Other", [{"name": "T", "fields": [{"name": "N", "type": "singleLineText"}]}]
    )
    with pytest.raises(AirtableApiError) as excinfo:
        demo.service.handle("GET", other.id, [hook, "payloads"], {}, None)
    assert excinfo.value.status == 404
    assert demo.service.handle("GET", other.id, [], {}, None) == (200, {"webhooks": []})
    with pytest.raises(AirtableApiError) as excinfo:
        demo.service.handle("GET", "appNoSuchBase0000", [], {}, None)
    assert excinfo.value.status == 403


def test_timestamps_use_the_injectable_clock(demo: Demo) -> None:
    demo.clock.advance(400 * DAY)
    created = demo.service.create_webhook(BASE_ID, DATA)
    assert parse_time(created["expirationTime"]) > parse_time(iso_millis(demo.clock.now())) + timedelta(
        days=6
    )
    add_people(demo, 1)
    [payload] = demo.payloads(created["id"])
    assert abs(parse_time(payload["timestamp"]) - demo.clock.now()) < timedelta(days=1)
