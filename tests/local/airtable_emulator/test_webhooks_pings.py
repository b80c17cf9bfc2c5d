"""Notification pings (reference §6 "Notification ping", §11.17-19) to a loopback receiver."""

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from pyairtable.models.webhook import Webhook, WebhookNotification

from airtable_emulator.webhooks import MAC_HEADER
from tests.local.airtable_emulator.webhook_support import BASE_ID, Demo, Receiver, make_demo

SPEC = {"options": {"filters": {"dataTypes": ["tableData"]}}}
FAST = {"ping_coalesce_seconds": 0.0, "ping_first_retry_delay_seconds": 0.01}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    endpoint.serve()
    yield endpoint
    endpoint.close()


@dataclass
class Hooked:
    demo: Demo
    id: str
    secret: str


def hooked(receiver: Receiver, **settings: Any) -> Hooked:
    demo = make_demo(**settings)
    created = demo.service.create_webhook(BASE_ID, SPEC, receiver.url)
    return Hooked(demo, created["id"], created["macSecretBase64"])


def change(demo: Demo, name: str = "Ada") -> None:
    demo.state.create_records(BASE_ID, "People", [{"Name": name}])


@pytest.fixture
def setup(receiver: Receiver) -> Iterator[Hooked]:
    hook = hooked(receiver)
    yield hook
    hook.demo.service.stop()


def test_ping_body_and_mac_are_exact_and_pyairtable_accepts_them(receiver: Receiver, setup: Hooked) -> None:
    change(setup.demo)
    assert setup.demo.service.pending_pings() == [setup.id]
    assert setup.demo.service.deliver_pending() == 1
    [request] = receiver.received
    notification = json.loads(request.body)
    # Compact JSON, in this key order, and no change data.
    assert (
        request.body
        == json.dumps(
            {"base": {"id": BASE_ID}, "webhook": {"id": setup.id}, "timestamp": notification["timestamp"]},
            separators=(",", ":"),
        ).encode()
    )
    key = base64.b64decode(setup.secret)
    expected = "hmac-sha256=" + hmac.new(key, request.body, hashlib.sha256).hexdigest()
    assert request.headers[MAC_HEADER] == expected
    assert request.headers["Content-Type"] == "application/json"
    parsed = WebhookNotification.from_request(
        request.body.decode("ascii"), request.headers[MAC_HEADER], setup.secret
    )
    assert (parsed.base.id, parsed.webhook.id) == (BASE_ID, setup.id)
    with pytest.raises(ValueError, match="failed validation"):
        WebhookNotification.from_request(
            request.body.decode("ascii") + " ", request.headers[MAC_HEADER], setup.secret
        )
    listed = setup.demo.listed(setup.id)
    result = listed["lastNotificationResult"]
    assert result["success"] is True
    assert result["retryNumber"] == 0
    assert "error" not in result
    assert listed["lastSuccessfulNotificationTime"] == result["completionTimestamp"]
    Webhook.model_validate(listed)
    [attempt] = setup.demo.service.delivery_attempts(setup.id)
    assert (attempt.success, attempt.status, attempt.body) == (True, 204, request.body)
    assert setup.demo.service.pending_pings() == []


def test_changes_before_delivery_coalesce_into_one_ping(receiver: Receiver, setup: Hooked) -> None:
    for name in ("A", "B", "C"):
        change(setup.demo, name)
    assert setup.demo.service.deliver_pending() == 1
    assert setup.demo.service.deliver_pending() == 0
    assert len(receiver.received) == 1
    assert len(setup.demo.payloads(setup.id)) == 3


def test_the_ping_thread_coalesces_within_the_window(receiver: Receiver) -> None:
    hook = hooked(receiver, ping_coalesce_seconds=3600)
    hook.demo.service.start()
    try:
        for name in ("A", "B", "C"):
            change(hook.demo, name)
        hook.demo.clock.advance(3601)  # the window ends on the injectable clock
        hook.demo.service.wait_for_attempts(1)
        assert hook.demo.service.wait_until_idle()
    finally:
        hook.demo.service.stop()
    assert len(receiver.received) == 1


def test_failed_pings_retry_with_backoff_then_disable_notifications(receiver: Receiver) -> None:
    receiver.default_status = 503
    hook = hooked(receiver, ping_max_retries=3, **FAST)
    service = hook.demo.service
    service.start()
    try:
        change(hook.demo)
        service.wait_for_attempts(4)
        assert service.wait_until_idle()
    finally:
        service.stop()
    attempts = service.delivery_attempts(hook.id)
    assert [a.retry_number for a in attempts] == [0, 1, 2, 3]
    assert len({a.body for a in attempts}) == 1  # a retry resends the same bytes
    listed = hook.demo.listed(hook.id)
    assert listed["areNotificationsEnabled"] is False
    assert listed["isHookEnabled"] is True
    assert listed["lastSuccessfulNotificationTime"] is None
    result = listed["lastNotificationResult"]
    assert result == {
        "success": False,
        "error": {"message": "The HTTP request returned a 503 status code instead of 200 or 204"},
        "completionTimestamp": result["completionTimestamp"],
        "durationMs": result["durationMs"],
        "retryNumber": 3,
        "willBeRetried": False,
    }
    Webhook.model_validate(listed)
    # Payloads keep coming; pings do not, until notifications are enabled again.
    change(hook.demo, "after")
    assert service.pending_pings() == []
    assert listed["cursorForNextPayload"] + 1 == hook.demo.listed(hook.id)["cursorForNextPayload"]
    receiver.default_status = 200
    service.enable_notifications(hook.id)
    change(hook.demo, "again")
    assert service.deliver_pending() == 1
    assert hook.demo.listed(hook.id)["lastNotificationResult"]["success"] is True
    assert len(hook.demo.payloads(hook.id)) == 3


def test_last_notification_result_tracks_each_attempt(receiver: Receiver, setup: Hooked) -> None:
    receiver.statuses = [500]
    service = setup.demo.service
    change(setup.demo)
    service.deliver_pending()
    result = setup.demo.listed(setup.id)["lastNotificationResult"]
    assert (result["success"], result["retryNumber"], result["willBeRetried"]) == (False, 0, True)
    assert result["error"]["message"] == "The HTTP request returned a 500 status code instead of 200 or 204"
    assert service.pending_pings() == [setup.id]
    change(setup.demo, "during the backoff")  # joins the pending retry
    service.deliver_pending()
    listed = setup.demo.listed(setup.id)
    assert (listed["lastNotificationResult"]["success"], listed["lastNotificationResult"]["retryNumber"]) == (
        True,
        1,
    )
    assert listed["areNotificationsEnabled"] is True
    assert service.pending_pings() == []
    assert len(receiver.received) == 2


def test_retry_delays_double_from_the_first_delay(receiver: Receiver) -> None:
    receiver.default_status = 500
    hook = hooked(receiver, ping_first_retry_delay_seconds=10.0, ping_max_retries=4)
    service = hook.demo.service
    change(hook.demo)
    delays = []
    for _ in range(4):
        service.deliver_pending()
        due = service.next_ping_due(hook.id)
        assert due is not None
        delays.append((due - service.delivery_attempts()[-1].completed_at).total_seconds())
    assert delays == [10.0, 20.0, 40.0, 80.0]
    service.deliver_pending()  # the fourth retry fails too: no fifth
    assert service.next_ping_due(hook.id) is None
    assert hook.demo.listed(hook.id)["areNotificationsEnabled"] is False


def test_a_slow_answer_is_a_failure(receiver: Receiver) -> None:
    receiver.delay_seconds = 0.5
    hook = hooked(receiver, ping_timeout_seconds=0.1)
    change(hook.demo)
    hook.demo.service.deliver_pending()
    [attempt] = hook.demo.service.delivery_attempts()
    assert attempt.success is False
    assert attempt.error == "The HTTP request timed out after 0.1 seconds"


def test_an_unreachable_url_is_a_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo = make_demo()
    hook = demo.service.create_webhook(BASE_ID, SPEC, f"http://127.0.0.1:{port}/gone")["id"]
    change(demo)
    demo.service.deliver_pending()
    [attempt] = demo.service.delivery_attempts(hook)
    assert (attempt.success, attempt.status) == (False, None)
    assert attempt.error == "The HTTP request failed: ConnectionError"
    assert demo.listed(hook)["lastNotificationResult"]["willBeRetried"] is True


def test_duplicate_pings_repeat_the_same_bytes(receiver: Receiver) -> None:
    hook = hooked(receiver, ping_duplicate_rate=1.0, ping_duplicate_seed=3)
    change(hook.demo)
    hook.demo.service.deliver_pending()
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers[MAC_HEADER] == second.headers[MAC_HEADER]
    assert [a.duplicate for a in hook.demo.service.delivery_attempts()] == [False, True]


def test_duplicate_rate_is_reproducible_with_a_seed(receiver: Receiver) -> None:
    def pattern() -> list[bool]:
        hook = hooked(receiver, ping_duplicate_rate=0.5, ping_duplicate_seed=42)
        for n in range(8):
            change(hook.demo, str(n))
            hook.demo.service.deliver_pending()
        return [a.duplicate for a in hook.demo.service.delivery_attempts()]

    first = pattern()
    assert first == pattern()
    assert first.count(False) == 8
    assert 0 < first.count(True) < 8


def test_spurious_pings_on_demand(receiver: Receiver, setup: Hooked) -> None:
    setup.demo.service.send_ping(setup.id)
    assert setup.demo.service.deliver_pending() == 1
    assert len(receiver.received) == 1
    assert setup.demo.service.payloads(setup.id)["payloads"] == []
    silent = setup.demo.service.create_webhook(BASE_ID, SPEC)["id"]
    with pytest.raises(ValueError, match="no notificationUrl"):
        setup.demo.service.send_ping(silent)


def test_no_ping_without_url_or_with_notifications_disabled(receiver: Receiver, setup: Hooked) -> None:
    service = setup.demo.service
    service.create_webhook(BASE_ID, SPEC)
    service.enable_notifications(setup.id, False)
    change(setup.demo)
    assert service.pending_pings() == []
    assert service.deliver_pending() == 0
    assert receiver.received == []


def test_deleted_and_expired_hooks_drop_their_pings(receiver: Receiver, setup: Hooked) -> None:
    service = setup.demo.service
    change(setup.demo)
    service.delete(setup.id)
    assert service.pending_pings() == []
    other = service.create_webhook(BASE_ID, SPEC, receiver.url)["id"]
    change(setup.demo)
    assert service.pending_pings() == [other]
    setup.demo.clock.advance(8 * 24 * 3600)
    assert service.deliver_pending() == 0
    assert receiver.received == []
    assert service.pending_pings() == []


def test_a_change_during_a_ping_gets_its_own_ping(receiver: Receiver) -> None:
    receiver.hold = threading.Event()
    hook = hooked(receiver, **FAST)
    service = hook.demo.service
    service.start()
    try:
        change(hook.demo, "first")
        assert receiver.arrived.wait(10)
        change(hook.demo, "while the first ping is in flight")
        receiver.hold.set()
        service.wait_for_attempts(2)
        assert service.wait_until_idle()
    finally:
        service.stop()
    assert [a.success for a in service.delivery_attempts()] == [True, True]
    timestamps = [
        datetime.fromisoformat(json.loads(r.body)["timestamp"].replace("Z", "+00:00"))
        for r in receiver.received
    ]
    assert timestamps[0] <= timestamps[1]


def test_stop_is_idempotent_and_restartable(receiver: Receiver, setup: Hooked) -> None:
    service = setup.demo.service
    service.stop()
    service.start()
    service.start()
    service.stop()
    service.stop()
    service.start()
    change(setup.demo)
    service.wait_for_attempts(1)
    service.stop()
    assert len(receiver.received) >= 1
