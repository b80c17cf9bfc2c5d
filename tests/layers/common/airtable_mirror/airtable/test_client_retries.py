"""AirtableClient failure handling: 429 penalties, retries with backoff, typed errors, no token leaks."""

import logging
from collections.abc import Iterator

import pytest
import requests

from airtable_mirror.airtable import (
    AirtableAuthError,
    AirtableClient,
    AirtableError,
    AirtableNotFound,
    AirtableRequestError,
    AirtableUnavailable,
    BillingLimitExceeded,
    RateLimitedTooOften,
)
from airtable_mirror.airtable.client import MAX_RETRY_AFTER_SECONDS, RETRY_MAX_BACKOFF_SECONDS
from airtable_mirror.airtable.errors import NO_RESPONSE_STATUS
from tests.layers.common.airtable_mirror.airtable import airtable_responses as bodies
from tests.layers.common.airtable_mirror.airtable.conftest import BASE_ID, TOKEN, ClientFactory
from tests.layers.common.airtable_mirror.airtable.fake_transport import RecordingPacer, ScriptedTransport

TABLE = bodies.TABLE_ID
RECORDS_PATH = f"/v0/{BASE_ID}/{TABLE}"

# 429 rate limit


def test_rate_limit_holds_everyone_off_and_waits_the_full_penalty(
    client: AirtableClient, transport: ScriptedTransport, pacer: RecordingPacer, sleeps: list[float]
) -> None:
    transport.reply_json(429, bodies.RATE_LIMITED)
    transport.reply_json(200, bodies.page([1]))

    page = client.list_records_page(TABLE)

    assert [record.id for record in page.records] == [bodies.record_id(1)]
    assert pacer.hold_offs == [30.0]
    assert sleeps == [30.0]
    assert pacer.events == ["acquire", "send", "hold_off", "acquire", "send"]
    assert (client.stats.requests, client.stats.retries, client.stats.rate_limited) == (2, 1, 1)


def test_rate_limit_penalty_is_configurable(
    make_client: ClientFactory, transport: ScriptedTransport, pacer: RecordingPacer, sleeps: list[float]
) -> None:
    client = make_client(rate_limit_penalty_seconds=12.5)
    transport.reply_json(429, bodies.RATE_LIMITED)
    transport.reply_json(429, {"error": "RATE_LIMIT_REACHED"})
    transport.reply_json(200, bodies.page([]))

    client.list_records_page(TABLE)

    assert pacer.hold_offs == [12.5, 12.5]
    assert sleeps == [12.5, 12.5]


def test_rate_limit_without_an_error_body_is_still_a_rate_limit(
    client: AirtableClient, transport: ScriptedTransport, sleeps: list[float]
) -> None:
    transport.reply_text(429, "Too Many Requests")
    transport.reply_json(200, bodies.page([]))

    client.list_records_page(TABLE)

    assert sleeps == [30.0]


def test_too_many_rate_limits_in_a_row_stop_with_a_clear_error(
    client: AirtableClient, transport: ScriptedTransport, pacer: RecordingPacer, sleeps: list[float]
) -> None:
    for _ in range(10):
        transport.reply_json(429, bodies.RATE_LIMITED)

    with pytest.raises(RateLimitedTooOften) as raised:
        client.list_records_page(TABLE)

    error = raised.value
    assert (error.status, error.error_type) == (429, "RATE_LIMIT_REACHED")
    assert "Rate limit exceeded. Please try again later" in error.message
    assert "10 rate-limited responses in a row" in error.message
    assert (error.method, error.path) == ("GET", RECORDS_PATH)
    assert len(transport.sent) == 10
    assert sleeps == [30.0] * 9
    assert pacer.hold_offs == [30.0] * 10
    assert client.stats.rate_limited == 10


def test_rate_limit_cap_is_configurable(
    make_client: ClientFactory, transport: ScriptedTransport, sleeps: list[float]
) -> None:
    client = make_client(max_rate_limited_responses=2)
    transport.reply_json(429, bodies.RATE_LIMITED)
    transport.reply_json(429, bodies.RATE_LIMITED)

    with pytest.raises(RateLimitedTooOften):
        client.list_records_page(TABLE)

    assert sleeps == [30.0]


def test_billing_limit_is_never_retried(
    client: AirtableClient, transport: ScriptedTransport, pacer: RecordingPacer, sleeps: list[float]
) -> None:
    transport.reply_json(429, bodies.BILLING_LIMIT)

    with pytest.raises(BillingLimitExceeded) as raised:
        client.list_records_page(TABLE)

    assert raised.value.message.startswith("API billing plan limit exceeded")
    assert raised.value.error_type == "PUBLIC_API_BILLING_LIMIT_EXCEEDED"
    assert len(transport.sent) == 1
    assert sleeps == []
    assert pacer.hold_offs == []
    assert client.stats.rate_limited == 0


# 5xx, timeouts, dropped connections


def test_server_error_is_retried_after_a_jittered_backoff(
    client: AirtableClient, transport: ScriptedTransport, sleeps: list[float]
) -> None:
    transport.reply_json(503, bodies.RETRIABLE_ERROR)
    transport.reply_json(200, bodies.page([1]))

    client.list_records_page(TABLE)

    [wait] = sleeps
    assert 0 <= wait <= 0.5
    assert (client.stats.requests, client.stats.retries, client.stats.rate_limited) == (2, 1, 0)


def test_persistent_server_errors_give_up_after_max_attempts_with_growing_backoff(
    client: AirtableClient, transport: ScriptedTransport, sleeps: list[float]
) -> None:
    for _ in range(6):
        transport.reply_json(500, {"error": {"type": "SERVER_ERROR"}})

    with pytest.raises(AirtableUnavailable) as raised:
        client.list_records_page(TABLE)

    assert raised.value.status == 500
    assert "gave up after 6 attempts" in raised.value.message
    assert len(transport.sent) == 6
    windows = [0.5, 1.0, 2.0, 4.0, 8.0]
    assert len(sleeps) == len(windows)
    assert all(0 <= wait <= window for wait, window in zip(sleeps, windows, strict=True))


def test_backoff_never_exceeds_its_cap(
    make_client: ClientFactory, transport: ScriptedTransport, sleeps: list[float]
) -> None:
    client = make_client(max_attempts=12)
    for _ in range(12):
        transport.reply_json(502, {"error": "BAD_GATEWAY"})

    with pytest.raises(AirtableUnavailable):
        client.list_records_page(TABLE)

    assert len(sleeps) == 11
    assert all(0 <= wait <= RETRY_MAX_BACKOFF_SECONDS for wait in sleeps)


@pytest.mark.parametrize(
    ("header", "expected_wait"), [("7", 7.0), ("0.25", 0.25), ("86400", MAX_RETRY_AFTER_SECONDS)]
)
def test_retry_after_on_503_is_honoured_up_to_a_cap(
    client: AirtableClient,
    transport: ScriptedTransport,
    sleeps: list[float],
    header: str,
    expected_wait: float,
) -> None:
    transport.reply_json(503, bodies.RETRIABLE_ERROR, headers={"Retry-After": header})
    transport.reply_json(200, bodies.page([]))

    client.list_records_page(TABLE)

    assert sleeps == [expected_wait]


def test_retry_after_as_a_date_falls_back_to_backoff(
    client: AirtableClient, transport: ScriptedTransport, sleeps: list[float]
) -> None:
    transport.reply_json(
        503, bodies.RETRIABLE_ERROR, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    transport.reply_json(200, bodies.page([]))

    client.list_records_page(TABLE)

    [wait] = sleeps
    assert 0 <= wait <= 0.5


def test_timeouts_and_dropped_connections_are_retried(
    client: AirtableClient, transport: ScriptedTransport, sleeps: list[float]
) -> None:
    transport.raise_error(requests.ConnectTimeout)
    transport.raise_error(requests.ReadTimeout)
    transport.raise_error(requests.ConnectionError, "Connection aborted.")
    transport.raise_error(requests.exceptions.ChunkedEncodingError, "Connection broken")
    transport.reply_text(502, "<html><body>502 Bad Gateway</body></html>")
    transport.reply_json(200, bodies.page([1]))

    page = client.list_records_page(TABLE)

    assert len(page.records) == 1
    assert len(sleeps) == 5
    assert client.stats.retries == 5


def test_persistent_timeouts_give_up_with_no_status(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    for _ in range(6):
        transport.raise_error(requests.ConnectTimeout, "connect timed out")

    with pytest.raises(AirtableUnavailable) as raised:
        client.list_records_page(TABLE)

    error = raised.value
    assert (error.status, error.error_type) == (NO_RESPONSE_STATUS, "CONNECT_TIMEOUT")
    assert "connect timed out" in error.message
    assert str(error).startswith(f"GET {RECORDS_PATH}: no response CONNECT_TIMEOUT")


def test_max_attempts_is_configurable(make_client: ClientFactory, transport: ScriptedTransport) -> None:
    client = make_client(max_attempts=1)
    transport.reply_json(504, {"error": "GATEWAY_TIMEOUT"})

    with pytest.raises(AirtableUnavailable, match="gave up after 1 attempts"):
        client.list_records_page(TABLE)


def test_rate_limits_and_server_errors_have_separate_budgets(
    make_client: ClientFactory, transport: ScriptedTransport, sleeps: list[float]
) -> None:
    client = make_client(max_attempts=2, max_rate_limited_responses=2)
    transport.reply_json(503, bodies.RETRIABLE_ERROR)
    transport.reply_json(429, bodies.RATE_LIMITED)
    transport.reply_json(200, bodies.page([]))

    client.list_records_page(TABLE)

    assert len(transport.sent) == 3
    assert sleeps[1] == 30.0


# Errors that are not retried


@pytest.mark.parametrize(
    ("status", "body", "error_class", "error_type", "message"),
    [
        (
            401,
            bodies.AUTHENTICATION_REQUIRED,
            AirtableAuthError,
            "AUTHENTICATION_REQUIRED",
            "Authentication required",
        ),
        (
            403,
            bodies.MODEL_NOT_FOUND,
            AirtableNotFound,
            "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
            "Invalid permissions, or the requested model was not found.",
        ),
        (403, bodies.NOT_PERMITTED, AirtableAuthError, "INVALID_PERMISSIONS", "You are not permitted"),
        (404, bodies.NOT_FOUND_STRING, AirtableNotFound, "NOT_FOUND", "does not exist"),
        (404, bodies.NOT_FOUND_OBJECT, AirtableNotFound, "NOT_FOUND", "does not exist"),
        (404, bodies.RECORD_NOT_FOUND, AirtableNotFound, "MODEL_ID_NOT_FOUND", "Record not found"),
        (
            422,
            bodies.INVALID_REQUEST,
            AirtableRequestError,
            "INVALID_REQUEST_UNKNOWN",
            "parameter validation failed",
        ),
        (
            422,
            bodies.INVALID_FORMULA,
            AirtableRequestError,
            "INVALID_FILTER_BY_FORMULA",
            "Unknown field names: x",
        ),
        (400, {}, AirtableRequestError, None, "malformed"),
        (
            413,
            {"error": {"type": "REQUEST_TOO_LARGE"}},
            AirtableRequestError,
            "REQUEST_TOO_LARGE",
            "too large",
        ),
        (414, {}, AirtableRequestError, None, "unexpected status"),
    ],
)
def test_client_errors_raise_typed_errors_at_once(
    client: AirtableClient,
    transport: ScriptedTransport,
    sleeps: list[float],
    status: int,
    body: object,
    error_class: type[AirtableError],
    error_type: str | None,
    message: str,
) -> None:
    transport.reply_json(status, body)

    with pytest.raises(error_class) as raised:
        client.list_records_page(TABLE)

    error = raised.value
    assert (error.status, error.error_type) == (status, error_type)
    assert message in error.message
    assert (error.method, error.path) == ("GET", RECORDS_PATH)
    assert message in str(error)
    assert len(transport.sent) == 1
    assert sleeps == []


def test_a_non_json_error_body_is_quoted_in_the_message(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.reply_text(403, "<html><body>Forbidden by proxy</body></html>")

    with pytest.raises(AirtableAuthError, match="Forbidden by proxy") as raised:
        client.list_records_page(TABLE)
    assert raised.value.error_type is None


def test_other_request_exceptions_become_airtable_errors(
    client: AirtableClient, transport: ScriptedTransport
) -> None:
    transport.raise_error(requests.exceptions.InvalidURL, "bad URL")

    with pytest.raises(AirtableError, match="InvalidURL: bad URL") as raised:
        client.list_records_page(TABLE)
    assert (raised.value.status, raised.value.error_type) == (NO_RESPONSE_STATUS, "REQUEST_FAILED")
    assert len(transport.sent) == 1


# The token


def test_the_token_is_read_for_every_request_so_it_can_rotate(
    make_client: ClientFactory, transport: ScriptedTransport
) -> None:
    tokens = iter(["patOLDtoken", "patNEWtoken"])
    client = make_client(token_provider=lambda: next(tokens))
    transport.reply_json(503, bodies.RETRIABLE_ERROR)
    transport.reply_json(200, bodies.page([]))

    client.list_records_page(TABLE)

    assert [sent.headers["Authorization"] for sent in transport.sent] == [
        "Bearer patOLDtoken",
        "Bearer patNEWtoken",
    ]


@pytest.mark.parametrize("bad_token", ["", "pat with spaces", "patTOKEN\r\nX-Injected: 1", "patTOKENé", None])
def test_an_unusable_token_is_refused_without_being_shown(
    make_client: ClientFactory, transport: ScriptedTransport, bad_token: str | None
) -> None:
    client = make_client(token_provider=lambda: bad_token)

    with pytest.raises(AirtableAuthError, match="token provider") as raised:
        client.list_records_page(TABLE)

    assert transport.sent == []
    if bad_token:
        assert bad_token not in str(raised.value)
        assert bad_token not in repr(raised.value)


def _exception_chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend([current.__cause__, current.__context__])


def _script_failure(transport: ScriptedTransport, scenario: str) -> None:
    if scenario == "401":
        transport.reply_json(401, bodies.AUTHENTICATION_REQUIRED)
    elif scenario == "5xx":
        for _ in range(6):
            transport.reply_json(500, {"error": {"type": "SERVER_ERROR"}})
    elif scenario == "timeouts":
        for _ in range(3):
            transport.raise_error(requests.ConnectTimeout)
            transport.raise_error(requests.ReadTimeout)
    elif scenario == "dropped connections":
        for _ in range(6):
            transport.raise_error(requests.ConnectionError, f"connection reset while sending Bearer {TOKEN}")
    elif scenario == "429s":
        for _ in range(10):
            transport.reply_json(429, bodies.RATE_LIMITED)
    elif scenario == "echoed token":
        transport.reply_json(400, {"error": {"type": "BAD_HEADER", "message": f"Bad header: Bearer {TOKEN}"}})
    else:
        raise AssertionError(scenario)


@pytest.mark.parametrize(
    "scenario", ["401", "5xx", "timeouts", "dropped connections", "429s", "echoed token"]
)
def test_the_token_never_leaks_into_errors_or_logs(
    client: AirtableClient, transport: ScriptedTransport, caplog: pytest.LogCaptureFixture, scenario: str
) -> None:
    _script_failure(transport, scenario)

    with caplog.at_level(logging.DEBUG), pytest.raises(AirtableError) as raised:
        client.list_records_page(TABLE, filter_by_formula="{Name}='x'")

    assert all(sent.headers["Authorization"] == f"Bearer {TOKEN}" for sent in transport.sent)
    for error in _exception_chain(raised.value):
        assert not isinstance(error, requests.RequestException), "a requests exception carries the request"
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
        assert all(TOKEN not in repr(argument) for argument in error.args)
    assert TOKEN not in repr(client)
    assert caplog.records, "the failure was not logged"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert all(TOKEN not in repr(value) for value in vars(record).values())
    assert TOKEN not in caplog.text


def test_retries_and_rate_limits_are_logged_with_method_path_status_and_attempt(
    client: AirtableClient, transport: ScriptedTransport, caplog: pytest.LogCaptureFixture
) -> None:
    transport.reply_json(429, bodies.RATE_LIMITED)
    transport.reply_json(503, bodies.RETRIABLE_ERROR)
    transport.reply_json(200, bodies.page([]))

    with caplog.at_level(logging.INFO):
        client.list_records_page(TABLE, filter_by_formula="{Name}='x'")

    rate_limited = [record for record in caplog.records if "rate limit reached" in record.getMessage()]
    retried = [record for record in caplog.records if "retrying" in record.getMessage()]
    assert len(rate_limited) == 1
    assert len(retried) == 1
    for record, status, attempt in [(rate_limited[0], 429, 1), (retried[0], 503, 2)]:
        fields = vars(record)
        assert (fields["method"], fields["path"], fields["status"], fields["attempt"]) == (
            "GET",
            RECORDS_PATH,
            status,
            attempt,
        )
