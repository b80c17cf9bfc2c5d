"""Typed errors of the Airtable client, and the mapping from Airtable's error responses to them.

Airtable wraps errors in a JSON envelope of one of two shapes, ``{"error": "NOT_FOUND"}`` or
``{"error": {"type": "...", "message": "..."}}`` (``message`` optional), and proxies in front of it may
answer with a body that is not JSON at all; :func:`parse_error_body` accepts all three.

No error carries the HTTP request or response objects: the request holds the bearer token.
"""

import json
from collections.abc import Sequence

NO_RESPONSE_STATUS = 0
"""``AirtableError.status`` when no HTTP response was received (timeout, dropped connection, bad token)."""

RATE_LIMIT_REACHED = "RATE_LIMIT_REACHED"
BILLING_LIMIT_EXCEEDED = "PUBLIC_API_BILLING_LIMIT_EXCEEDED"
ITERATOR_NOT_AVAILABLE = "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"
INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND = "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"

_MAX_BODY_EXCERPT = 200

# Airtable often answers without a message (e.g. {"error": "NOT_FOUND"}); these keep errors readable.
_DEFAULT_MESSAGES: dict[str, str] = {
    ITERATOR_NOT_AVAILABLE: "the list-records offset expired; the listing must restart from the first page",
    BILLING_LIMIT_EXCEEDED: "the workspace's monthly API call quota is used up; waiting will not help",
    RATE_LIMIT_REACHED: "more than 5 requests per second were sent to this base",
}
_DEFAULT_STATUS_MESSAGES: dict[int, str] = {
    400: "the request was malformed",
    401: "the token is missing or invalid",
    403: "the token lacks access to this base, table or operation",
    404: "the route or resource does not exist",
    413: "the request body is too large",
    422: "Airtable rejected the request",
    429: "rate limited",
    500: "Airtable failed unexpectedly",
    502: "Airtable is restarting or unavailable",
    503: "Airtable could not process the request in time",
    504: "the gateway in front of Airtable timed out",
}


class AirtableError(Exception):
    """An Airtable request failed.

    ``status`` is the HTTP status (``NO_RESPONSE_STATUS`` when no response arrived), ``error_type`` the
    ``error.type`` string of Airtable's envelope (``None`` when there was none) and ``message`` Airtable's
    message, or a description when Airtable gave none. ``method`` and ``path`` name the request (the path
    has no query string).
    """

    def __init__(
        self,
        status: int,
        error_type: str | None,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(status, error_type, message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.method = method
        self.path = path

    def __str__(self) -> str:
        request = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f"HTTP {self.status}" if self.status != NO_RESPONSE_STATUS else "no response"
        error_type = f" {self.error_type}" if self.error_type else ""
        return f"{request}{status}{error_type}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, error_type={self.error_type!r}, "
            f"message={self.message!r}, method={self.method!r}, path={self.path!r})"
        )


class AirtableAuthError(AirtableError):
    """401, or 403 other than "not found": the token is invalid, expired or lacks a scope or role."""


class AirtableNotFound(AirtableError):
    """404, or 403 ``INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND`` (how Airtable answers an unknown base or
    table for a token that could otherwise see it)."""


class AirtableRequestError(AirtableError):
    """400, 413, 422 (except an expired iterator) and other 4xx: the request itself is wrong."""


class IteratorExpired(AirtableError):
    """422 ``LIST_RECORDS_ITERATOR_NOT_AVAILABLE``: the listing offset expired; restart from page one."""


class BillingLimitExceeded(AirtableError):
    """429 ``PUBLIC_API_BILLING_LIMIT_EXCEEDED``: the monthly quota is spent; never retried."""


class RateLimitedTooOften(AirtableError):
    """Airtable kept answering 429 ``RATE_LIMIT_REACHED`` after the client waited out each penalty."""


class AirtableUnavailable(AirtableError):
    """5xx, timeouts or dropped connections that persisted through every allowed attempt."""


class UnexpectedResponse(AirtableError):
    """A successful response whose body is not what Airtable documents (not JSON, or the wrong shape)."""


class TableNotFound(AirtableNotFound):
    """No table of the base matches the given name or id (or several match it case-insensitively)."""

    def __init__(self, base_id: str, name_or_id: str, reason: str, available: Sequence[str]) -> None:
        listed = ", ".join(available[:20]) + (", …" if len(available) > 20 else "")
        super().__init__(
            404,
            "TABLE_NOT_FOUND",
            f"{reason} {name_or_id!r} in base {base_id}; its tables are: {listed or '(none)'}",
        )
        self.base_id = base_id
        self.name_or_id = name_or_id
        self.available = list(available)


def parse_error_body(body: str) -> tuple[str | None, str | None]:
    """Return ``(error_type, message)`` from any of Airtable's error envelopes; ``(None, None)`` when
    the body is not such an envelope."""
    try:
        document = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    error = document.get("error")
    if isinstance(error, str):
        return error or None, None
    if isinstance(error, dict):
        error_type = error.get("type")
        message = error.get("message")
        return (
            error_type if isinstance(error_type, str) and error_type else None,
            message if isinstance(message, str) and message else None,
        )
    return None, None


def error_from_response(
    status: int,
    body: str,
    *,
    method: str | None = None,
    path: str | None = None,
) -> AirtableError:
    """Build the typed error for a non-2xx Airtable response."""
    error_type, message = parse_error_body(body)
    if message is None:
        message = _describe_without_message(status, error_type, body)
    error_class = _error_class(status, error_type)
    return error_class(status, error_type, message, method=method, path=path)


def _error_class(status: int, error_type: str | None) -> type[AirtableError]:
    if status == 401:
        return AirtableAuthError
    if status == 403:
        if error_type == INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND:
            return AirtableNotFound
        return AirtableAuthError
    if status == 404:
        return AirtableNotFound
    if status == 422 and error_type == ITERATOR_NOT_AVAILABLE:
        return IteratorExpired
    if status == 429:
        return BillingLimitExceeded if error_type == BILLING_LIMIT_EXCEEDED else RateLimitedTooOften
    if 400 <= status < 500:
        return AirtableRequestError
    if 500 <= status < 600:
        return AirtableUnavailable
    return AirtableError


def _describe_without_message(status: int, error_type: str | None, body: str) -> str:
    if error_type is not None:
        return _DEFAULT_MESSAGES.get(error_type) or _DEFAULT_STATUS_MESSAGES.get(status, "no message")
    excerpt = " ".join(body.split())
    default = _DEFAULT_STATUS_MESSAGES.get(status, "unexpected status")
    if not excerpt or _is_json(excerpt):
        return default
    if len(excerpt) > _MAX_BODY_EXCERPT:
        excerpt = excerpt[:_MAX_BODY_EXCERPT] + "…"
    return f"{default} (body: {excerpt})"


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
