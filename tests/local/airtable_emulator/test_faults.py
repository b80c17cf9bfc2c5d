"""Injected faults: 5xx answers, delays past the client's timeout, dropped connections."""

import threading
import time

import pytest
import requests

from airtable_emulator.emulator import Emulator
from airtable_emulator.faults import FaultInjector
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import Client, MakeEmulator, error_type


def _items(base: Base) -> str:
    return f"/v0/{base.id}/Items"


@pytest.mark.parametrize(
    ("kind", "status", "type_"),
    [("500", 500, "SERVER_ERROR"), ("502", 502, "BAD_GATEWAY"), (503, 503, "RETRIABLE_ERROR")],
)
def test_error_faults_answer_then_stop(
    emulator: Emulator, items_base: Base, http: Client, kind: str, status: int, type_: str
) -> None:
    emulator.faults.fail_next(2, kind)
    first, second, third = (http.get(_items(items_base)) for _ in range(3))
    assert first.status_code == second.status_code == status
    assert error_type(first) == type_
    assert third.status_code == 200


def test_503_body_and_optional_retry_after(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.faults.fail_next(1, "503")
    plain = http.get(_items(items_base))
    assert plain.json() == {
        "error": {
            "type": "RETRIABLE_ERROR",
            "message": (
                "Server encountered an error while processing your request, "
                "and it is safe to retry the request"
            ),
        }
    }
    assert "Retry-After" not in plain.headers
    emulator.faults.fail_next(1, "503", retry_after=7)
    assert http.get(_items(items_base)).headers["Retry-After"] == "7"


def test_faulted_writes_change_nothing(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.faults.fail_next(1, "500")
    assert http.post(_items(items_base), json={"fields": {"Name": "x"}}).status_code == 500
    assert http.get(_items(items_base)).json() == {"records": []}


def test_drop_closes_the_connection_without_an_answer(
    emulator: Emulator, items_base: Base, http: Client
) -> None:
    emulator.faults.fail_next(1, "drop")
    with pytest.raises(requests.ConnectionError):
        http.get(_items(items_base))
    assert http.get(_items(items_base)).status_code == 200


def test_delay_outlasts_the_client_timeout_then_applies_the_write(
    emulator: Emulator, items_base: Base, http: Client
) -> None:
    emulator.faults.fail_next(1, "delay", delay_seconds=0.4)
    with pytest.raises(requests.Timeout):
        http.post(_items(items_base), json={"fields": {"Name": "late"}}, timeout=0.05)
    deadline = time.monotonic() + 10
    while not emulator.state.table(items_base.id, "Items").records and time.monotonic() < deadline:
        time.sleep(0.05)
    records = emulator.state.table(items_base.id, "Items").records.values()
    assert [record.cells for record in records] == [{items_base.table("Items").primary_field_id: "late"}]


def test_delay_then_answer_reaches_a_patient_client(
    emulator: Emulator, items_base: Base, http: Client
) -> None:
    emulator.faults.fail_next(1, "delay", delay_seconds=0.1)
    assert http.get(_items(items_base), timeout=10).status_code == 200


def test_delay_then_drop(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.faults.fail_next(1, "delay", delay_seconds=0.1, after_delay="drop")
    with pytest.raises(requests.ConnectionError):
        http.post(_items(items_base), json={"fields": {"Name": "never"}}, timeout=10)
    assert http.get(_items(items_base)).json() == {"records": []}


def test_faults_can_be_scoped_to_a_path_prefix(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.faults.fail_next(1, "500", path_prefix=f"/v0/{items_base.id}/Owners")
    assert http.get(_items(items_base)).status_code == 200
    assert http.get("/v0/meta/bases").status_code == 200
    assert http.get(f"/v0/{items_base.id}/Owners").status_code == 500
    assert http.get(f"/v0/{items_base.id}/Owners").status_code == 200


def test_rates_are_reproducible_with_a_seed(emulator: Emulator, items_base: Base, http: Client) -> None:
    def run() -> list[int]:
        emulator.faults.set_rate("502", 0.5, seed=42)
        statuses = [http.get(_items(items_base)).status_code for _ in range(30)]
        emulator.faults.set_rate("502", 0)
        return statuses

    first = run()
    assert set(first) == {200, 502}
    assert run() == first
    assert http.get(_items(items_base)).status_code == 200
    assert emulator.faults.injected["502"] == 2 * first.count(502)


def test_faults_apply_after_auth() -> None:
    with Emulator() as emulator:
        emulator.faults.fail_next(1, "500")
        assert Client(emulator, token="wrong").get("/v0/meta/bases").status_code == 401
        assert Client(emulator).get("/v0/meta/bases").status_code == 500


def test_faulted_requests_count_for_rate_limits(make_emulator: MakeEmulator) -> None:
    emulator = make_emulator()
    emulator.settings.rate_limit_enabled = True
    emulator.settings.requests_per_second_per_base = 3
    emulator.settings.rate_limit_penalty_seconds = 60
    base = emulator.state.create_base(
        "b", [{"name": "T", "fields": [{"name": "N", "type": "singleLineText"}]}]
    )
    client = Client(emulator)
    emulator.faults.fail_next(3, "503")
    assert [client.get(f"/v0/{base.id}/T").status_code for _ in range(4)] == [503, 503, 503, 429]


def test_stop_does_not_wait_for_a_delayed_request(make_emulator: MakeEmulator) -> None:
    emulator = make_emulator()
    emulator.faults.fail_next(1, "delay", delay_seconds=600)
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(Client(emulator).get("/v0/meta/bases", timeout=600).status_code)
        except requests.RequestException as error:
            outcome.append(error)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    while emulator.faults.injected["delay"] == 0:
        time.sleep(0.01)
    stopper = threading.Thread(target=emulator.stop, daemon=True)
    stopper.start()
    stopper.join(timeout=30)
    caller.join(timeout=30)
    assert not stopper.is_alive() and not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], requests.ConnectionError)


def test_injector_validates_its_arguments() -> None:
    faults = FaultInjector()
    with pytest.raises(ValueError, match="unknown fault kind"):
        faults.fail_next(1, "418")
    with pytest.raises(ValueError, match="at least 1"):
        faults.fail_next(0, "500")
    with pytest.raises(ValueError, match="probability"):
        faults.set_rate("500", 1.5)
    with pytest.raises(ValueError, match="after_delay"):
        faults.fail_next(1, "delay", after_delay="explode")  # type: ignore[arg-type]
    faults.fail_next(1, "500")
    faults.set_rate("drop", 1.0)
    faults.clear()
    assert faults.choose("/v0/x") is None
