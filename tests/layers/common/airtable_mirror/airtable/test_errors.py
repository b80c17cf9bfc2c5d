import json

import pytest

from airtable_mirror.airtable.errors import (
    NO_RESPONSE_STATUS,
    AirtableAuthError,
    AirtableError,
    AirtableNotFound,
    AirtableRequestError,
    AirtableUnavailable,
    BillingLimitExceeded,
    IteratorExpired,
    RateLimitedTooOften,
    TableNotFound,
    error_from_response,
    parse_error_body,
)
from tests.layers.common.airtable_mirror.airtable import airtable_responses as bodies


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (json.dumps(bodies.NOT_FOUND_STRING), ("NOT_FOUND", None)),
        (json.dumps(bodies.NOT_FOUND_OBJECT), ("NOT_FOUND", None)),
        (json.dumps(bodies.ITERATOR_EXPIRED), ("LIST_RECORDS_ITERATOR_NOT_AVAILABLE", None)),
        (
            json.dumps(bodies.RATE_LIMITED),
            ("RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later"),
        ),
        (json.dumps({"error": {"message": "only a message"}}), (None, "only a message")),
        (json.dumps({"error": {"type": 7, "message": ["not", "text"]}}), (None, None)),
        (json.dumps({"error": None}), (None, None)),
        (json.dumps({"error": ""}), (None, None)),
        (json.dumps(["error"]), (None, None)),
        ("<html>Bad Gateway</html>", (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_error_body_accepts_both_envelopes_and_anything_else(
    body: str, expected: tuple[str | None, str | None]
) -> None:
    assert parse_error_body(body) == expected


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (401, bodies.AUTHENTICATION_REQUIRED, AirtableAuthError),
        (403, bodies.NOT_PERMITTED, AirtableAuthError),
        (403, {}, AirtableAuthError),
        (403, bodies.MODEL_NOT_FOUND, AirtableNotFound),
        (404, bodies.NOT_FOUND_STRING, AirtableNotFound),
        (400, {}, AirtableRequestError),
        (413, {}, AirtableRequestError),
        (422, bodies.INVALID_REQUEST, AirtableRequestError),
        (422, bodies.ITERATOR_EXPIRED, IteratorExpired),
        (429, bodies.BILLING_LIMIT, BillingLimitExceeded),
        (429, bodies.RATE_LIMITED, RateLimitedTooOften),
        (500, {}, AirtableUnavailable),
        (503, bodies.RETRIABLE_ERROR, AirtableUnavailable),
        (302, {}, AirtableError),
    ],
)
def test_error_from_response_picks_the_error_class(
    status: int, body: object, error_class: type[AirtableError]
) -> None:
    error = error_from_response(status, json.dumps(body))

    assert type(error) is error_class
    assert error.status == status


def test_iterator_expiry_is_not_a_request_error() -> None:
    error = error_from_response(422, json.dumps(bodies.ITERATOR_EXPIRED))

    assert not isinstance(error, AirtableRequestError)
    assert "first page" in error.message


def test_errors_without_a_message_get_a_description() -> None:
    assert (
        error_from_response(404, json.dumps(bodies.NOT_FOUND_STRING)).message
        == "the route or resource does not exist"
    )
    assert (
        "quota"
        in error_from_response(429, '{"error": {"type": "PUBLIC_API_BILLING_LIMIT_EXCEEDED"}}').message
    )
    assert error_from_response(418, "{}").message == "unexpected status"


def test_a_long_non_json_body_is_shortened() -> None:
    error = error_from_response(502, "<html>\n" + "x" * 5000 + "\n</html>")

    assert error.message.startswith("Airtable is restarting or unavailable (body: <html> xxx")
    assert len(error.message) < 300


def test_str_and_repr() -> None:
    error = AirtableNotFound(404, "NOT_FOUND", "gone", method="GET", path="/v0/appX/tblY")

    assert str(error) == "GET /v0/appX/tblY: HTTP 404 NOT_FOUND: gone"
    assert repr(error) == (
        "AirtableNotFound(status=404, error_type='NOT_FOUND', message='gone', "
        "method='GET', path='/v0/appX/tblY')"
    )
    assert error.args == (404, "NOT_FOUND", "gone")
    assert (
        str(AirtableUnavailable(NO_RESPONSE_STATUS, "READ_TIMEOUT", "slow"))
        == "no response READ_TIMEOUT: slow"
    )
    assert str(AirtableRequestError(400, None, "bad")) == "HTTP 400: bad"


def test_table_not_found_lists_the_tables_and_is_a_not_found() -> None:
    many = [f"Table {number}" for number in range(30)]

    error = TableNotFound("appAbCdEf01234567", "People", "no table named or with id", many)

    assert isinstance(error, AirtableNotFound)
    assert (error.status, error.error_type) == (404, "TABLE_NOT_FOUND")
    assert "'People'" in error.message
    assert "Table 19, …" in error.message
    assert "Table 20" not in error.message
    assert error.available == many
