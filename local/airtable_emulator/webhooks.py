"""Airtable's webhooks API (reference §6, §11.15-25): hooks, payloads, cursors and notification pings.

:class:`WebhookService` listens to the state's transactions (called under the state lock) and turns
each into payloads for every live hook of the base. It serves every path under
``/v0/bases/{baseId}/webhooks`` through :meth:`WebhookService.handle`, and pings notification URLs
from a background thread. Lock order: state lock, then the service's lock; HTTP never runs under
either, and the presenter of attachment URLs is only called with no lock held.
"""

import base64
import copy
import hashlib
import hmac
import itertools
import json
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from .cells_v2 import V2Converter, destroyed_record_names, present
from .clock import iso_millis
from .errors import AirtableApiError, invalid_request, route_not_found
from .model import AirtableState, Base, Transaction
from .webhook_payloads import PayloadBuilder, broken_filters, error_payload
from .webhook_spec import WebhookSpec, parse_specification

PresentAttachments = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
MAC_HEADER = "X-Airtable-Content-MAC"
# The worker re-reads the injectable clock at least this often while pings wait, so a test that
# moves the clock forward releases a waiting retry promptly.
_CLOCK_POLL_SECONDS = 0.05
_STOP_JOIN_SECONDS = 2.0


def _identity(attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return attachments


def webhook_not_found(webhook_id: str) -> AirtableApiError:
    return AirtableApiError(404, "NOT_FOUND", f"Could not find webhook {webhook_id}")


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST to a notification URL, as sent, and how it ended."""

    webhook_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    retry_number: int
    duplicate: bool
    success: bool
    status: int | None
    error: str | None
    completed_at: datetime
    duration_ms: float


@dataclass
class _StoredPayload:
    cursor: int
    created_at: datetime
    body: dict[str, Any]  # never mutated once stored; attachments still pending


@dataclass
class _Hook:
    id: str
    base_id: str
    notification_url: str | None
    secret: bytes
    spec: WebhookSpec
    expiration_time: datetime
    is_hook_enabled: bool = True
    notifications_enabled: bool = True
    next_cursor: int = 1
    payloads: deque[_StoredPayload] = field(default_factory=deque)
    last_success: datetime | None = None
    last_result: dict[str, Any] | None = None


@dataclass
class _PingJob:
    """The one pending notification of a hook; later payloads coalesce into it."""

    webhook_id: str
    due: datetime
    retry_number: int = 0
    body: bytes | None = None  # fixed at the first attempt, so retries resend the same bytes
    in_flight: bool = False
    announce_again: bool = False  # a payload arrived while this ping was being sent


@dataclass(frozen=True)
class _Outcome:
    success: bool
    status: int | None
    error: str | None
    duration_ms: float


def _query_int(query: Mapping[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    text = values[-1].strip()
    if not text.isdigit():
        raise invalid_request()
    return int(text)


def _check_notification_url(url: Any) -> str | None:
    if url is None:
        return None
    if not isinstance(url, str):
        raise invalid_request("notificationUrl must be a string")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise invalid_request(f"notificationUrl {url!r} is not an http(s) URL")
    return url


class WebhookService:
    """Every webhook of every base of ``state``, with the HTTP handler and a Python API for tests."""

    def __init__(self, state: AirtableState, *, present_attachments: PresentAttachments = _identity) -> None:
        self.state = state
        self.settings = state.settings
        self._present_attachments = present_attachments
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._hooks: dict[str, _Hook] = {}
        self._jobs: dict[str, _PingJob] = {}
        self._attempts: list[DeliveryAttempt] = []
        self._rng = random.Random(self.settings.ping_duplicate_seed)
        self._thread: threading.Thread | None = None
        self._stopping = False
        # Who made "client" and "publicApi" changes, for actionMetadata.sourceMetadata.user.
        self.acting_user: dict[str, Any] = {
            "id": state.ids.new("user"),
            "email": "emulator@example.com",
            "name": "Airtable Emulator",
        }
        state.subscribe(self._on_transaction)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread that sends pings (idempotent)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="airtable-webhook-pings", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the ping thread; a ping in flight is abandoned after a short wait, never awaited in full."""
        with self._changed:
            self._stopping = True
            thread, self._thread = self._thread, None
            self._changed.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=_STOP_JOIN_SECONDS)

    # --- HTTP -------------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        base_id: str,
        rest: list[str],
        query: dict[str, list[str]],
        body: Any | None,
    ) -> tuple[int, Any]:
        """Serve ``{method} /v0/bases/{base_id}/webhooks/{rest...}``; raises :class:`AirtableApiError`."""
        method = method.upper()
        with self.state.lock:
            self.state.base(base_id)
        if not rest:
            if method == "GET":
                return 200, {"webhooks": self.list_webhooks(base_id)}
            if method == "POST":
                return 200, self._create_from_body(base_id, body)
        elif len(rest) == 1 and method == "DELETE":
            self._delete(base_id, rest[0])
            return 200, None
        elif len(rest) == 2 and method == "POST" and rest[1] == "refresh":
            return 200, self._refresh(base_id, rest[0])
        elif len(rest) == 2 and method == "POST" and rest[1] == "enableNotifications":
            if (
                not isinstance(body, Mapping)
                or set(body) != {"enable"}
                or not isinstance(body["enable"], bool)
            ):
                raise invalid_request('The body must be {"enable": true} or {"enable": false}')
            self._enable_notifications(base_id, rest[0], body["enable"])
            return 200, None
        elif len(rest) == 2 and method == "GET" and rest[1] == "payloads":
            cursor = _query_int(query, "cursor", 1)
            limit = _query_int(query, "limit", self.settings.max_payloads_per_request)
            return 200, self._payloads(base_id, rest[0], cursor, limit)
        raise route_not_found()

    def _create_from_body(self, base_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise invalid_request("The body must be a JSON object")
        unknown = sorted(set(body) - {"notificationUrl", "specification"})
        if unknown:
            raise invalid_request(f"Unknown key {unknown[0]!r} in the request body")
        if body.get("specification") is None:
            raise invalid_request("specification is required")
        return self.create_webhook(base_id, body["specification"], body.get("notificationUrl"))

    # --- Python API: the endpoints ----------------------------------------------------------

    def create_webhook(
        self, base_id: str, specification: Any, notification_url: str | None = None
    ) -> dict[str, Any]:
        """Create a hook; returns ``{"id", "macSecretBase64", "expirationTime"}``.

        This is the only time the secret is shown, as in Airtable.
        """
        url = _check_notification_url(notification_url)
        with self.state.lock:
            base = self.state.base(base_id)
            spec = parse_specification(base, specification)
            with self._lock:
                now = self.state.clock.now()
                self._purge_gone(now)
                live = [h for h in self._hooks.values() if h.base_id == base_id and not self._expired(h, now)]
                if len(live) >= self.settings.max_webhooks_per_base:
                    raise invalid_request(
                        f"A base can have at most {self.settings.max_webhooks_per_base} webhooks"
                    )
                hook = _Hook(
                    id=self.state.ids.new("webhook"),
                    base_id=base_id,
                    notification_url=url,
                    secret=secrets.token_bytes(32),
                    spec=spec,
                    expiration_time=now + timedelta(seconds=self.settings.webhook_lifetime_seconds),
                )
                self._hooks[hook.id] = hook
                return {
                    "id": hook.id,
                    "macSecretBase64": base64.b64encode(hook.secret).decode("ascii"),
                    "expirationTime": iso_millis(hook.expiration_time),
                }

    def list_webhooks(self, base_id: str) -> list[dict[str, Any]]:
        """The base's hooks as list webhooks shows them (expired ones while still readable)."""
        with self._lock:
            now = self.state.clock.now()
            self._purge_gone(now)
            return [self._describe(hook, now) for hook in self._hooks.values() if hook.base_id == base_id]

    def payloads(self, webhook_id: str, cursor: int = 1, limit: int | None = None) -> dict[str, Any]:
        """List payloads as the HTTP endpoint does (and, like it, extend the hook's life)."""
        return self._payloads(
            None, webhook_id, cursor, self.settings.max_payloads_per_request if limit is None else limit
        )

    def refresh(self, webhook_id: str) -> dict[str, Any]:
        return self._refresh(None, webhook_id)

    def enable_notifications(self, webhook_id: str, enable: bool = True) -> None:
        self._enable_notifications(None, webhook_id, enable)

    def delete(self, webhook_id: str) -> None:
        self._delete(None, webhook_id)

    # --- Python API: test controls ----------------------------------------------------------

    def send_ping(self, webhook_id: str) -> None:
        """Queue a spurious ping (no new payload), due now; coalesces with one already pending."""
        with self._changed:
            hook = self._find(None, webhook_id, self.state.clock.now())
            if hook.notification_url is None:
                raise ValueError(f"webhook {webhook_id} has no notificationUrl to ping")
            self._queue_ping(hook, delay_seconds=0.0)

    def deliver_pending(self) -> int:
        """Attempt every queued ping now, in this thread, ignoring coalescing and retry delays.

        Each ping is attempted once; a failure queues its retry (run it with another call). Returns
        the number of pings sent (duplicates not counted; pings of hooks that can no longer be
        notified are dropped unsent).
        """
        with self._lock:
            claimed = [job for job in self._jobs.values() if not job.in_flight]
            for job in claimed:
                job.in_flight = True
        return sum(self._attempt(job) for job in claimed)

    def pending_pings(self) -> list[str]:
        """Ids of hooks with a ping queued or in flight."""
        with self._lock:
            return list(self._jobs)

    def next_ping_due(self, webhook_id: str) -> datetime | None:
        """When the hook's queued ping (first try or retry) becomes due, on the injectable clock."""
        with self._lock:
            job = self._jobs.get(webhook_id)
            return job.due if job is not None and not job.in_flight else None

    def delivery_attempts(self, webhook_id: str | None = None) -> list[DeliveryAttempt]:
        with self._lock:
            return [a for a in self._attempts if webhook_id is None or a.webhook_id == webhook_id]

    def wait_for_attempts(
        self, count: int, *, webhook_id: str | None = None, timeout: float = 10.0
    ) -> list[DeliveryAttempt]:
        """Block until at least ``count`` attempts were recorded (or ``timeout``); returns them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [a for a in self._attempts if webhook_id is None or a.webhook_id == webhook_id]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._changed.wait(remaining)

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Block until no ping is queued or in flight; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._jobs:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, _CLOCK_POLL_SECONDS))
            return True

    def inject_error_payload(
        self, webhook_id: str, code: str = "INTERNAL_ERROR", *, disable: bool = True
    ) -> int:
        """Append an error payload (and, by default, disable the hook); returns its cursor."""
        with self.state.lock, self._changed:
            now = self.state.clock.now()
            hook = self._find(None, webhook_id, now)
            number = self.state.base(hook.base_id).transaction_number
            transaction = Transaction(hook.base_id, number, now, "system", ())
            cursor = hook.next_cursor
            self._store(hook, [error_payload(transaction, code)], now)
            if disable:
                hook.is_hook_enabled = False
            self._announce(hook)
            return cursor

    # --- endpoints --------------------------------------------------------------------------

    def _payloads(self, base_id: str | None, webhook_id: str, cursor: int, limit: int) -> dict[str, Any]:
        if cursor < 1 or limit < 1 or limit > self.settings.max_payloads_per_request:
            raise invalid_request()
        with self._lock:
            now = self.state.clock.now()
            hook = self._find(base_id, webhook_id, now)
            self._prune(hook, now)
            if not self._expired(hook, now):
                hook.expiration_time = now + timedelta(seconds=self.settings.webhook_lifetime_seconds)
            first_retained = hook.payloads[0].cursor if hook.payloads else hook.next_cursor
            # A cursor whose payload was already deleted starts at the oldest one kept (unconfirmed).
            offset = max(cursor, first_retained) - first_retained
            selected = list(itertools.islice(hook.payloads, offset, offset + limit))
            next_cursor = selected[-1].cursor + 1 if selected else cursor
            might_have_more = bool(selected) and next_cursor < hook.next_cursor
        # Attachment URLs are issued outside the lock: the presenter may take the state lock.
        bodies = [present(payload.body, self._present_attachments) for payload in selected]
        return {"cursor": next_cursor, "mightHaveMore": might_have_more, "payloads": bodies}

    def _refresh(self, base_id: str | None, webhook_id: str) -> dict[str, Any]:
        with self._lock:
            now = self.state.clock.now()
            hook = self._find(base_id, webhook_id, now)
            if self._expired(hook, now):
                raise invalid_request("An expired webhook cannot be refreshed")
            hook.expiration_time = now + timedelta(seconds=self.settings.webhook_lifetime_seconds)
            return {"expirationTime": iso_millis(hook.expiration_time)}

    def _enable_notifications(self, base_id: str | None, webhook_id: str, enable: bool) -> None:
        with self._changed:
            hook = self._find(base_id, webhook_id, self.state.clock.now())
            hook.notifications_enabled = enable
            if not enable:
                self._drop_queued_ping(hook.id)

    def _delete(self, base_id: str | None, webhook_id: str) -> None:
        with self._changed:
            hook = self._find(base_id, webhook_id, self.state.clock.now())
            del self._hooks[hook.id]
            self._jobs.pop(hook.id, None)
            self._changed.notify_all()

    # --- hooks ------------------------------------------------------------------------------

    def _expired(self, hook: _Hook, now: datetime) -> bool:
        return now >= hook.expiration_time

    def _purge_gone(self, now: datetime) -> None:
        readable = timedelta(seconds=self.settings.webhook_expired_readable_seconds)
        for hook in [h for h in self._hooks.values() if now >= h.expiration_time + readable]:
            del self._hooks[hook.id]
            self._jobs.pop(hook.id, None)

    def _find(self, base_id: str | None, webhook_id: str, now: datetime) -> _Hook:
        self._purge_gone(now)
        hook = self._hooks.get(webhook_id)
        if hook is None or (base_id is not None and hook.base_id != base_id):
            raise webhook_not_found(webhook_id)
        return hook

    def _prune(self, hook: _Hook, now: datetime) -> None:
        cutoff = now - timedelta(seconds=self.settings.webhook_payload_retention_seconds)
        while hook.payloads and hook.payloads[0].created_at <= cutoff:
            hook.payloads.popleft()

    def _describe(self, hook: _Hook, now: datetime) -> dict[str, Any]:
        return {
            "id": hook.id,
            "areNotificationsEnabled": hook.notifications_enabled,
            "cursorForNextPayload": hook.next_cursor,
            # Airtable: hooks "expire and are disabled after 7 days".
            "isHookEnabled": hook.is_hook_enabled and not self._expired(hook, now),
            "lastSuccessfulNotificationTime": iso_millis(hook.last_success) if hook.last_success else None,
            "notificationUrl": hook.notification_url,
            "expirationTime": iso_millis(hook.expiration_time),
            "lastNotificationResult": copy.deepcopy(hook.last_result),
            "specification": copy.deepcopy(hook.spec.raw),
        }

    def _store(self, hook: _Hook, bodies: list[dict[str, Any]], now: datetime) -> None:
        self._prune(hook, now)
        for body in bodies:
            hook.payloads.append(_StoredPayload(hook.next_cursor, now, body))
            hook.next_cursor += 1

    # --- payload generation (called under the state lock) -----------------------------------

    def _on_transaction(self, transaction: Transaction) -> None:
        base = self.state.bases.get(transaction.base_id)
        if base is None:
            return
        with self._changed:
            now = self.state.clock.now()
            hooks = [
                hook
                for hook in self._hooks.values()
                if hook.base_id == base.id and hook.is_hook_enabled and not self._expired(hook, now)
            ]
            if hooks:
                destroyed = destroyed_record_names(base, transaction.changes)
                converter = V2Converter(
                    base, lambda table_id, record_id: destroyed.get((table_id, record_id))
                )
                builder = PayloadBuilder(base, converter, self.settings.max_records_per_payload)
                user = self._user(base)
                for hook in hooks:
                    bodies = builder.build(hook.spec, transaction, user)
                    if broken_filters(hook.spec, transaction):
                        bodies.append(error_payload(transaction, "INVALID_FILTERS"))
                        hook.is_hook_enabled = False
                    if bodies:
                        self._store(hook, bodies, now)
                        self._announce(hook)

    def _user(self, base: Base) -> dict[str, Any]:
        user = {
            "id": self.acting_user.get("id"),
            "email": self.acting_user.get("email"),
            "permissionLevel": self.acting_user.get("permissionLevel", base.permission_level),
        }
        if self.acting_user.get("name") is not None:
            user["name"] = self.acting_user["name"]
        return user

    # --- pings ------------------------------------------------------------------------------

    def _announce(self, hook: _Hook) -> None:
        """A payload was stored: make sure a ping will tell the client."""
        if hook.notification_url is not None and hook.notifications_enabled:
            self._queue_ping(hook, delay_seconds=self.settings.ping_coalesce_seconds)

    def _queue_ping(self, hook: _Hook, *, delay_seconds: float) -> None:
        due = self.state.clock.now() + timedelta(seconds=delay_seconds)
        job = self._jobs.get(hook.id)
        if job is None:
            self._jobs[hook.id] = _PingJob(hook.id, due)
        elif job.in_flight:
            job.announce_again = True
        elif delay_seconds == 0 and job.retry_number == 0:
            job.due = min(job.due, due)
        self._changed.notify_all()

    def _drop_queued_ping(self, webhook_id: str) -> None:
        job = self._jobs.get(webhook_id)
        if job is not None and not job.in_flight:
            del self._jobs[webhook_id]
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                job: _PingJob | None = None
                while not self._stopping:
                    now = self.state.clock.now()
                    waiting = [j for j in self._jobs.values() if not j.in_flight]
                    ready = [j for j in waiting if j.due <= now]
                    if ready:
                        job = min(ready, key=lambda j: j.due)
                        job.in_flight = True
                        break
                    timeout = None
                    if waiting:
                        until_due = (min(j.due for j in waiting) - now).total_seconds()
                        timeout = max(0.0, min(until_due, _CLOCK_POLL_SECONDS))
                    self._changed.wait(timeout)
                if job is None:
                    return
            self._attempt(job)

    def _attempt(self, job: _PingJob) -> bool:
        """Send the job's ping once; False when it was dropped instead (hook gone or silenced)."""
        with self._changed:
            now = self.state.clock.now()
            hook = self._hooks.get(job.webhook_id)
            if (
                self._jobs.get(job.webhook_id) is not job
                or hook is None
                or hook.notification_url is None
                or not hook.notifications_enabled
                or self._expired(hook, now)
            ):
                if self._jobs.get(job.webhook_id) is job:
                    del self._jobs[job.webhook_id]
                self._changed.notify_all()
                return False
            if job.body is None:
                job.body = json.dumps(
                    {"base": {"id": hook.base_id}, "webhook": {"id": hook.id}, "timestamp": iso_millis(now)},
                    separators=(",", ":"),
                ).encode("ascii")
            url, body = hook.notification_url, job.body
            headers = {
                "Content-Type": "application/json",
                MAC_HEADER: "hmac-sha256=" + hmac.new(hook.secret, body, hashlib.sha256).hexdigest(),
            }
            retry_number = job.retry_number
            duplicate = self._rng.random() < self.settings.ping_duplicate_rate
        outcome = self._post(url, body, headers)
        with self._changed:
            self._settle(job, outcome, url, body, headers, retry_number)
        if duplicate and outcome.success:
            # At-least-once delivery: the same ping, byte for byte, a second time.
            repeat = self._post(url, body, headers)
            with self._changed:
                self._record(job.webhook_id, url, body, headers, retry_number, repeat, duplicate=True)
        return True

    def _settle(
        self,
        job: _PingJob,
        outcome: _Outcome,
        url: str,
        body: bytes,
        headers: dict[str, str],
        retry_number: int,
    ) -> None:
        now = self._record(job.webhook_id, url, body, headers, retry_number, outcome, duplicate=False)
        hook = self._hooks.get(job.webhook_id)
        current = self._jobs.get(job.webhook_id) is job
        result: dict[str, Any] = {"success": outcome.success}
        if outcome.error is not None:
            result["error"] = {"message": outcome.error}
        result.update(
            {
                "completionTimestamp": iso_millis(now),
                "durationMs": outcome.duration_ms,
                "retryNumber": retry_number,
            }
        )
        if outcome.success:
            if hook is not None:
                hook.last_success = now
            if current and job.announce_again:
                self._jobs[job.webhook_id] = _PingJob(
                    job.webhook_id, now + timedelta(seconds=self.settings.ping_coalesce_seconds)
                )
            elif current:
                del self._jobs[job.webhook_id]
        else:
            will_retry = current and retry_number < self.settings.ping_max_retries
            result["willBeRetried"] = will_retry
            if will_retry:
                delay = self.settings.ping_first_retry_delay_seconds * 2**retry_number
                job.retry_number += 1
                job.due = now + timedelta(seconds=delay)
                job.in_flight = False
                job.announce_again = False  # the retry announces everything stored so far
            else:
                if current:
                    del self._jobs[job.webhook_id]
                if hook is not None and retry_number >= self.settings.ping_max_retries:
                    # Out of retries: Airtable stops notifying but keeps generating payloads.
                    hook.notifications_enabled = False
        if hook is not None:
            hook.last_result = result
        self._changed.notify_all()

    def _record(
        self,
        webhook_id: str,
        url: str,
        body: bytes,
        headers: dict[str, str],
        retry_number: int,
        outcome: _Outcome,
        *,
        duplicate: bool,
    ) -> datetime:
        now = self.state.clock.now()
        self._attempts.append(
            DeliveryAttempt(
                webhook_id=webhook_id,
                url=url,
                body=body,
                headers=dict(headers),
                retry_number=retry_number,
                duplicate=duplicate,
                success=outcome.success,
                status=outcome.status,
                error=outcome.error,
                completed_at=now,
                duration_ms=outcome.duration_ms,
            )
        )
        self._changed.notify_all()
        return now

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> _Outcome:
        timeout = self.settings.ping_timeout_seconds
        status: int | None = None
        error: str | None = None
        started = time.monotonic()
        try:
            with requests.Session() as session:
                session.trust_env = False  # a proxy from the environment must not carry loopback pings
                response = session.post(
                    url, data=body, headers=headers, timeout=timeout, allow_redirects=False
                )
                status = response.status_code
                response.close()
        except requests.Timeout:
            error = f"The HTTP request timed out after {timeout:g} seconds"
        except requests.RequestException as exc:
            error = f"The HTTP request failed: {type(exc).__name__}"
        except Exception as exc:  # e.g. an odd URL urllib3 rejects: a failed ping, never a dead thread
            error = f"The HTTP request failed: {type(exc).__name__}"
        duration_ms = round((time.monotonic() - started) * 1000, 3)
        if status is not None:
            if status not in {200, 204}:
                error = f"The HTTP request returned a {status} status code instead of 200 or 204"
            elif duration_ms > timeout * 1000:
                error = f"The HTTP request timed out after {timeout:g} seconds"
        return _Outcome(error is None, status, error, duration_ms)
