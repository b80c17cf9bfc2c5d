"""Lambda function URL events in and out of the receiver (payload format 2.0).

The URL passes the body as text, or base64-encoded (``isBase64Encoded``) when it does not take it for
text; either way the MAC is computed over the decoded bytes. Header names arrive in lower case.
"""

import base64
import binascii
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from airtable_mirror.webhooks.receiver import IncomingRequest, ReceiverResponse, error_response


class MalformedEventError(ValueError):
    def __init__(self, response: ReceiverResponse) -> None:
        super().__init__(response.outcome)
        self.response = response


def request_from_event(event: Mapping[str, Any]) -> IncomingRequest:
    """The HTTP request a function URL event carries; MalformedEventError for an undecodable body."""
    http = event.get("requestContext", {}).get("http", {})
    method = str(http.get("method") or "")
    headers = {str(key): str(value) for key, value in (event.get("headers") or {}).items()}
    text = event.get("body") or ""
    if not isinstance(text, str):
        raise MalformedEventError(error_response(HTTPStatus.BAD_REQUEST, "INVALID_BODY", "no body text"))
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedEventError(
                error_response(HTTPStatus.BAD_REQUEST, "INVALID_ENCODING", "the body is not valid base64")
            ) from None
    else:
        body = text.encode("utf-8", errors="surrogateescape")
    return IncomingRequest(method=method, headers=headers, body=body)


def event_response(response: ReceiverResponse) -> dict[str, Any]:
    return {
        "statusCode": int(response.status),
        "headers": dict(response.headers),
        "body": response.body,
        "isBase64Encoded": False,
    }
