"""The webhook function's logic: check a request, authenticate it, queue the drain, answer at once.

Airtable wants 200 or 204 with an empty body within 25 s, retries anything else for about a day and
then turns notifications off, so the receiver does the least it can: no Airtable request, no payload,
one DynamoDB read, one (cached) secret, one SQS message and one DynamoDB write.

| request | answer |
|---|---|
| not POST | 405 |
| body over 1 MB | 413 |
| content type not ``application/json`` | 415 |
| body not JSON (or not UTF-8, or not an object) | 400 ``INVALID_JSON`` |
| neither a ping nor a push | 400 ``UNRECOGNIZED_BODY`` |
| a ping of the wrong shape | 400 ``INVALID_PING`` |
| a ping for a webhook the mirror does not know (or another base, or a replaced webhook) | 401 |
| a missing or wrong ``X-Airtable-Content-MAC`` | 401 |
| a replayed or duplicate ping (timestamp not newer than the last accepted one) | 204, nothing queued |
| a valid ping | 200, empty body, drain queued |
| the queue refuses the message | 503 (Airtable sends the ping again) |

An unknown webhook gets 401, not 404: without its secret the request cannot be authenticated, and an
unauthenticated caller should not learn which webhook ids exist. A replay gets a 2xx because the same
bytes are exactly what Airtable resends when our earlier 200 was lost: a 4xx would make it retry for
a day and then turn notifications off. Dropping a ping that is not newer than the last accepted one
loses nothing: the drain queued for that newer ping started after it arrived, so it fetches every
payload the older ping announced. Pushes in the seed format: :mod:`airtable_mirror.webhooks.push`.
"""

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from airtable_mirror.repository.timestamps import micros_from_seconds
from airtable_mirror.repository.webhooks import WebhookRepository
from airtable_mirror.webhooks.drain_queue import DrainMessage, DrainQueue
from airtable_mirror.webhooks.push import PushApplier, PushRejectedError, looks_like_push
from airtable_mirror.webhooks.secrets import MacSecretStore
from airtable_mirror.webhooks.signature import MAC_HEADER, decode_mac_secret, mac_matches

logger = Logger(child=True)

MAX_BODY_BYTES = 1024 * 1024
_JSON_CONTENT_TYPE = re.compile(r"^\s*application/json\s*(;.*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True)
class ReceiverResponse:
    status: int
    outcome: str  # for logs and metrics: queued, duplicate, pushed, or the error code
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def error_response(status: int, code: str, message: str) -> ReceiverResponse:
    return ReceiverResponse(
        status=status,
        outcome=code,
        body=json.dumps({"error": {"code": code, "message": message}}),
        headers={"Content-Type": "application/json"},
    )


class _Reference(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str


class AirtablePing(BaseModel):
    """A notification ping: ``{"base": {"id"}, "webhook": {"id"}, "timestamp"}``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    base: _Reference
    webhook: _Reference
    timestamp: datetime

    @field_validator("timestamp")
    @classmethod
    def _with_zone(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("the timestamp needs a time zone")
        return value


class PingReceiver:
    def __init__(
        self,
        *,
        base_id: str,
        repository: WebhookRepository,
        secrets: MacSecretStore,
        queue: DrainQueue,
        push: PushApplier | None = None,
        push_key: Callable[[], bytes | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._base_id = base_id
        self._repository = repository
        self._secrets = secrets
        self._queue = queue
        self._push = push
        self._push_key = push_key
        self._clock = clock

    def receive(self, request: IncomingRequest) -> ReceiverResponse:
        if request.method.upper() != "POST":
            return error_response(HTTPStatus.METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "use POST")
        if len(request.body) > MAX_BODY_BYTES:
            return error_response(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                "BODY_TOO_LARGE",
                f"the body exceeds {MAX_BODY_BYTES} bytes",
            )
        content_type = request.header("Content-Type") or ""
        if not _JSON_CONTENT_TYPE.match(content_type):
            return error_response(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "the body must be application/json",
            )
        try:
            document: Any = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return error_response(HTTPStatus.BAD_REQUEST, "INVALID_JSON", "the body is not JSON")
        if not isinstance(document, dict):
            return error_response(HTTPStatus.BAD_REQUEST, "INVALID_JSON", "the body must be a JSON object")
        if "webhook" in document:
            return self._ping(request, document)
        if looks_like_push(document):
            return self._pushed(request, document)
        return error_response(
            HTTPStatus.BAD_REQUEST,
            "UNRECOGNIZED_BODY",
            "expected an Airtable webhook ping or a push ({event, timestamp, payload})",
        )

    # --- Airtable pings ---------------------------------------------------------------------

    def _ping(self, request: IncomingRequest, document: dict[str, Any]) -> ReceiverResponse:
        try:
            ping = AirtablePing.model_validate(document)
        except ValidationError:
            return error_response(
                HTTPStatus.BAD_REQUEST, "INVALID_PING", "expected {base: {id}, webhook: {id}, timestamp}"
            )
        unauthorized = error_response(
            HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "the ping is not signed by a webhook this mirror knows"
        )
        webhook_id = ping.webhook.id
        if ping.base.id != self._base_id or not re.fullmatch(r"ach[A-Za-z0-9]{14}", webhook_id):
            return unauthorized
        state = self._repository.get(self._base_id, webhook_id)
        if state is None or state.health == "replaced":
            logger.warning("ping for a webhook the mirror does not know", webhook_id=webhook_id)
            return unauthorized
        secret = self._secrets.get(self._base_id, webhook_id)
        try:
            key = decode_mac_secret(secret) if secret else b""
        except ValueError:
            logger.error("the stored MAC secret is not base64", webhook_id=webhook_id)
            key = b""
        if not mac_matches(request.header(MAC_HEADER), key, request.body):
            logger.warning("ping with a missing or wrong MAC", webhook_id=webhook_id)
            return unauthorized
        ping_version = micros_from_seconds(ping.timestamp.timestamp())
        if state.last_ping_version is not None and ping_version <= state.last_ping_version:
            logger.info("duplicate or replayed ping ignored", webhook_id=webhook_id)
            return ReceiverResponse(HTTPStatus.NO_CONTENT, "duplicate")
        timestamp = str(document.get("timestamp"))
        try:
            self._queue.send(
                DrainMessage(
                    base_id=self._base_id,
                    webhook_id=webhook_id,
                    reason="ping",
                    deduplication_id=f"ping-{webhook_id}-{ping_version}",
                    ping_timestamp=timestamp,
                )
            )
        except Exception:
            logger.exception("could not queue the drain", webhook_id=webhook_id)
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "QUEUE_UNAVAILABLE", "try again later")
        self._repository.record_ping(
            self._base_id, webhook_id, ping_timestamp=timestamp, ping_version=ping_version
        )
        return ReceiverResponse(HTTPStatus.OK, "queued")

    # --- seed-format pushes -----------------------------------------------------------------

    def _pushed(self, request: IncomingRequest, document: dict[str, Any]) -> ReceiverResponse:
        key = self._push_key()
        if self._push is None or not key or not mac_matches(request.header(MAC_HEADER), key, request.body):
            return error_response(
                HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "the push is not signed with WEBHOOK_SECRET"
            )
        try:
            result = self._push.apply(document)
        except PushRejectedError as error:
            return error_response(error.status, error.code, error.message)
        return ReceiverResponse(
            HTTPStatus.OK,
            "pushed",
            body=json.dumps({"applied": result.as_dict()}),
            headers={"Content-Type": "application/json"},
        )
