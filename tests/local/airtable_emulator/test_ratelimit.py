"""Rate limits: the limiter on a fake monotonic clock, then over HTTP with scaled-down figures."""

import time

import pyairtable
import pytest
import requests

from airtable_emulator.errors import AirtableApiError
from airtable_emulator.model import Base
from airtable_emulator.ratelimit import RateLimiter
from airtable_emulator.settings import EmulatorSettings
from tests.local.airtable_emulator.http_support import Client, MakeEmulator

RATE_LIMITED = {
    "error": {"type": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}
}


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _limiter(**settings: float | bool) -> tuple[RateLimiter, FakeMonotonic]:
    monotonic = FakeMonotonic()
    values: dict[str, float | bool] = {"requests_per_second_per_base": 5, "rate_limit_penalty_seconds": 30.0}
    values.update(settings)
    return RateLimiter(EmulatorSettings(**values), monotonic=monotonic), monotonic  # type: ignore[arg-type]


def _allowed(limiter: RateLimiter, base_id: str | None = "appA", token: str = "t") -> bool:  # noqa: S107
    try:
        limiter.check(token=token, base_id=base_id)
    except AirtableApiError as error:
        assert error.status == 429
        return False
    return True


def test_sixth_request_in_a_second_is_refused_and_the_penalty_holds() -> None:
    limiter, clock = _limiter()
    assert all(_allowed(limiter) for _ in range(5))
    assert not _allowed(limiter)
    clock.now += 29.9
    assert not _allowed(limiter)
    assert _allowed(limiter, base_id="appB")
    clock.now += 0.2
    assert _allowed(limiter)
    assert limiter.count_429 == 2


def test_the_window_slides() -> None:
    limiter, clock = _limiter()
    for _ in range(5):
        assert _allowed(limiter)
        clock.now += 0.15
    clock.now += 0.3  # only the first request is now more than a second old
    assert _allowed(limiter)
    assert not _allowed(limiter)


def test_refused_requests_do_not_extend_the_penalty() -> None:
    limiter, clock = _limiter(rate_limit_penalty_seconds=10.0)
    for _ in range(6):
        _allowed(limiter)
    for _ in range(50):
        clock.now += 0.19
        assert not _allowed(limiter)
    clock.now += 0.6
    assert _allowed(limiter)


def test_the_token_limit_spans_bases() -> None:
    limiter, _clock = _limiter(requests_per_second_per_base=100, requests_per_second_per_token=3)
    assert [_allowed(limiter, base_id=f"app{index}") for index in range(4)] == [True, True, True, False]
    assert not _allowed(limiter, base_id=None)
    assert _allowed(limiter, token="other")


def test_retry_after_is_a_toggle() -> None:
    limiter, _clock = _limiter(retry_after_on_429=True, rate_limit_penalty_seconds=2.5)
    for _ in range(5):
        limiter.check(token="t", base_id="appA")
    with pytest.raises(AirtableApiError) as caught:
        limiter.check(token="t", base_id="appA")
    assert caught.value.headers == {"Retry-After": "3"}
    quiet, _ = _limiter()
    for _ in range(5):
        quiet.check(token="t", base_id="appA")
    with pytest.raises(AirtableApiError) as without:
        quiet.check(token="t", base_id="appA")
    assert without.value.headers == {}


def test_billing_limit_never_clears_and_reset_forgets_everything() -> None:
    limiter, clock = _limiter(billing_limit_exceeded=True)
    for _ in range(3):
        with pytest.raises(AirtableApiError) as caught:
            limiter.check(token="t", base_id="appA")
        assert caught.value.type == "PUBLIC_API_BILLING_LIMIT_EXCEEDED"
        assert caught.value.message is not None and caught.value.message.startswith(
            "API billing plan limit exceeded"
        )
        clock.now += 3600
    assert limiter.count_429 == 3
    limiter.settings.billing_limit_exceeded = False
    limiter.reset()
    assert limiter.count_429 == 0
    assert _allowed(limiter)


# --- over HTTP ------------------------------------------------------------------------------------


def _scaled(**overrides: float | bool) -> EmulatorSettings:
    values: dict[str, float | bool] = {
        "requests_per_second_per_base": 20,
        "requests_per_second_per_token": 1000,
        "rate_limit_window_seconds": 1.0,
        "rate_limit_penalty_seconds": 0.5,
    }
    values.update(overrides)
    return EmulatorSettings(**values)  # type: ignore[arg-type]


def _two_bases(make_emulator: MakeEmulator, settings: EmulatorSettings) -> tuple[Client, Base, Base]:
    emulator = make_emulator(settings=settings)
    spec = {"name": "T", "fields": [{"name": "N", "type": "singleLineText"}]}
    first = emulator.state.create_base("one", [spec])
    second = emulator.state.create_base("two", [spec])
    return Client(emulator), first, second


def test_a_burst_gets_429_for_the_whole_base_for_the_penalty(make_emulator: MakeEmulator) -> None:
    client, base, other = _two_bases(make_emulator, _scaled(rate_limit_penalty_seconds=60.0))
    statuses = [client.get(f"/v0/{base.id}/T").status_code for _ in range(25)]
    assert statuses[:20] == [200] * 20
    assert statuses[20:] == [429] * 5
    refused = client.get(f"/v0/meta/bases/{base.id}/tables")
    assert refused.status_code == 429
    assert refused.json() == RATE_LIMITED
    assert "Retry-After" not in refused.headers
    assert client.post(f"/v0/{base.id}/T", json={"fields": {}}).status_code == 429
    assert client.get(f"/v0/bases/{base.id}/webhooks").status_code == 429
    assert client.get(f"/v0/{other.id}/T").status_code == 200
    assert client.emulator.rate_limiter.count_429 == 8
    client.emulator.rate_limiter.reset()
    assert client.get(f"/v0/{base.id}/T").status_code == 200
    assert client.emulator.rate_limiter.count_429 == 0


def test_the_penalty_ends(make_emulator: MakeEmulator) -> None:
    client, base, _ = _two_bases(make_emulator, _scaled(rate_limit_penalty_seconds=0.5))
    while client.get(f"/v0/{base.id}/T").status_code == 200:
        pass
    time.sleep(0.6)
    assert client.get(f"/v0/{base.id}/T").status_code == 200


def test_retry_after_header_over_http(make_emulator: MakeEmulator) -> None:
    client, base, _ = _two_bases(make_emulator, _scaled(retry_after_on_429=True))
    responses = [client.get(f"/v0/{base.id}/T") for _ in range(21)]
    assert responses[-1].status_code == 429
    assert responses[-1].headers["Retry-After"] == "1"


def test_billing_limit_over_http(make_emulator: MakeEmulator) -> None:
    client, base, _ = _two_bases(make_emulator, _scaled(billing_limit_exceeded=True))
    response = client.get(f"/v0/{base.id}/T")
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "PUBLIC_API_BILLING_LIMIT_EXCEEDED"
    assert client.get("/v0/meta/bases").status_code == 429


def test_unauthenticated_requests_do_not_count(make_emulator: MakeEmulator) -> None:
    client, base, _ = _two_bases(make_emulator, _scaled(requests_per_second_per_base=2))
    anonymous = Client(client.emulator, token="wrong")
    assert all(anonymous.get(f"/v0/{base.id}/T").status_code == 401 for _ in range(5))
    assert client.get(f"/v0/{base.id}/T").status_code == 200


def test_pyairtable_gives_up_on_a_30_second_style_penalty(make_emulator: MakeEmulator) -> None:
    client, base, _ = _two_bases(
        make_emulator, _scaled(requests_per_second_per_base=2, rate_limit_penalty_seconds=60)
    )
    api = pyairtable.Api(client.emulator.token, endpoint_url=client.emulator.url)
    api.session.adapters["http://"].max_retries.backoff_factor = 0  # type: ignore[attr-defined]
    table = api.table(base.id, "T")
    table.all()
    table.all()
    with pytest.raises(requests.exceptions.RetryError):
        table.all()
    assert client.emulator.rate_limiter.count_429 == 6
