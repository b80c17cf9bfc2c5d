"""DynamoPacer: request slots shared through DynamoDB by every function of a base."""

import itertools
import random
import threading
from typing import Any

import pytest

from airtable_mirror.airtable.pacing import Pacer
from airtable_mirror.repository import DynamoPacer
from airtable_mirror.repository.keys import RATE_SK, rate_pk
from airtable_mirror.repository.rate_slots import NEXT_SLOT, slot_interval_ms
from tests.support.clock import FakeClock, VirtualClock
from tests.support.dynamodb import CallCountingClient, DynamoTable
from tests.support.records import BASE_ID

INTERVAL = 0.206  # (1 + 0.03) / 5 requests per second
# Virtual times are floats of epoch seconds: allow float noise, far below a millisecond.
FLOAT_NOISE = 1e-6


def _pacer(table: DynamoTable, clock: FakeClock, client: Any = None, **options: Any) -> DynamoPacer:
    return DynamoPacer(client or table.client, table.name, BASE_ID, clock=clock, sleep=clock.sleep, **options)


def _gaps(moments: list[float]) -> list[float]:
    ordered = sorted(moments)
    return [later - earlier for earlier, later in itertools.pairwise(ordered)]


def test_interval_is_the_rate_plus_the_safety_margin_in_whole_milliseconds() -> None:
    assert slot_interval_ms(5, 0.03) == 206
    assert slot_interval_ms(5, 0) == 200
    assert slot_interval_ms(3, 0.03) == 344
    with pytest.raises(ValueError, match="requests_per_second"):
        slot_interval_ms(0, 0.03)
    with pytest.raises(ValueError, match="safety_margin"):
        slot_interval_ms(5, -0.1)


def test_dynamo_pacer_is_a_pacer_for_the_airtable_client(dynamodb_table: DynamoTable) -> None:
    pacer = _pacer(dynamodb_table, FakeClock())
    assert isinstance(pacer, Pacer)
    assert pacer.interval_seconds == pytest.approx(INTERVAL)


def test_one_pacer_spaces_requests_and_reserves_a_window_per_five(dynamodb_table: DynamoTable) -> None:
    # Given a pacer on a base nobody has used yet
    clock = FakeClock()
    client = CallCountingClient(dynamodb_table.client)
    pacer = _pacer(dynamodb_table, clock, client=client)

    # When it hands out ten slots back to back
    moments = []
    for _ in range(10):
        pacer.acquire()
        moments.append(clock())

    # Then they are one interval apart, starting now, for one read and two conditional updates
    assert moments[0] == pytest.approx(1_714_564_800.0)
    assert all(gap == pytest.approx(INTERVAL) for gap in _gaps(moments))
    assert client.calls == {"get_item": 1, "update_item": 2}


def test_two_pacers_taking_turns_never_hand_out_slots_closer_than_the_interval(
    dynamodb_table: DynamoTable,
) -> None:
    # Given two pacers ("two functions") on one clock, working at irregular speeds
    clock = FakeClock()
    pacers = [_pacer(dynamodb_table, clock), _pacer(dynamodb_table, clock)]
    rng = random.Random(3)

    # When they acquire in a random interleaving, sometimes pausing
    moments = []
    for _ in range(60):
        rng.choice(pacers).acquire()
        moments.append(clock())
        clock.advance(rng.choice([0.0, 0.0, 0.05, 0.2, 0.9, 1.7]))

    # Then no two slots are closer than the interval
    assert min(_gaps(moments)) >= INTERVAL - FLOAT_NOISE


def test_a_late_request_inside_its_window_is_served_without_a_new_reservation(
    dynamodb_table: DynamoTable,
) -> None:
    # Given a pacer that reserved a window of five slots (0 .. 0.824 s)
    clock = FakeClock()
    client = CallCountingClient(dynamodb_table.client)
    pacer = _pacer(dynamodb_table, clock, client=client)
    pacer.acquire()
    client.reset()

    # When the next request comes 0.5 s later, and another 1 s after that
    clock.advance(0.5)
    pacer.acquire()
    inside = clock()
    calls_inside = dict(client.calls)
    clock.advance(1.0)
    pacer.acquire()

    # Then the first goes out at once from the window, the second needs a new window
    assert inside == pytest.approx(1_714_564_800.5)
    assert calls_inside == {}
    assert client.calls == {"update_item": 1}


def test_a_pacer_that_loses_a_race_rereads_and_still_keeps_its_distance(dynamodb_table: DynamoTable) -> None:
    # Given a pacer whose first reservation is beaten by another function's write
    clock = FakeClock()
    competitor = _pacer(dynamodb_table, clock)

    class RacingClient(CallCountingClient):
        moments: list[float]

        def update_item(self, **kwargs: Any) -> Any:
            if not self.calls["update_item"]:
                competitor.acquire()
                self.moments.append(clock())
            self.calls["update_item"] += 1
            return dynamodb_table.client.update_item(**kwargs)

    racing = RacingClient(dynamodb_table.client)
    racing.moments = []
    pacer = _pacer(dynamodb_table, clock, client=racing)

    # When it acquires
    pacer.acquire()
    racing.moments.append(clock())

    # Then it retried after the conflict and its slot comes after the competitor's whole window
    assert racing.calls["update_item"] == 2
    assert racing.moments[1] - racing.moments[0] >= 5 * INTERVAL - FLOAT_NOISE


def test_hold_off_pushes_every_pacer_back_and_is_never_shortened(dynamodb_table: DynamoTable) -> None:
    # Given two pacers, one of which got a 429 and holds off for 30 s
    clock = FakeClock()
    first, second = _pacer(dynamodb_table, clock), _pacer(dynamodb_table, clock)
    first.acquire()
    start = clock()
    first.hold_off(30)

    # When the other asks for a shorter hold-off, then both acquire
    second.hold_off(5)
    second.acquire()
    second_slot = clock()
    first.acquire()
    first_slot = clock()

    # Then nobody goes before the 30 s are over, and they stay an interval apart
    assert second_slot >= start + 30 - FLOAT_NOISE
    assert first_slot - second_slot >= INTERVAL - FLOAT_NOISE
    item = dynamodb_table.client.get_item(
        TableName=dynamodb_table.name, Key={"pk": {"S": rate_pk(BASE_ID)}, "sk": {"S": RATE_SK}}
    )["Item"]
    assert int(item[NEXT_SLOT]["N"]) >= round((start + 30) * 1000)


def test_hold_off_refuses_negative_or_infinite_seconds(dynamodb_table: DynamoTable) -> None:
    pacer = _pacer(dynamodb_table, FakeClock())
    for seconds in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="seconds"):
            pacer.hold_off(seconds)
    with pytest.raises(ValueError, match="batch_size"):
        _pacer(dynamodb_table, FakeClock(), batch_size=0)


def test_concurrent_pacers_and_threads_never_hand_out_slots_closer_than_the_interval(
    dynalite_only_table: DynamoTable,
) -> None:
    # Given two pacers ("functions") with two threads each, on simulated time, against dynalite
    # (whose conditional writes are atomic, as DynamoDB's are: moto's are not under threads)
    workers_per_pacer = 2
    clock = VirtualClock(participants=2 * workers_per_pacer)
    pacers = [
        DynamoPacer(
            dynalite_only_table.client, dynalite_only_table.name, BASE_ID, clock=clock.time, sleep=clock.sleep
        )
        for _ in range(2)
    ]
    moments: list[float] = []
    moments_lock = threading.Lock()
    errors: list[BaseException] = []

    def work(pacer: DynamoPacer, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(12):
                pacer.acquire()
                with moments_lock:
                    moments.append(clock.time())
                clock.sleep(rng.choice([0.0, 0.01, 0.1, 0.3, 1.1]))
        except BaseException as error:  # surfaced below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            clock.leave()

    # When they all acquire as fast as they can
    threads = [
        threading.Thread(target=work, args=(pacer, seed))
        for seed, pacer in enumerate(pacers * workers_per_pacer)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Then every request got a slot and no two are closer than the interval
    assert errors == []
    assert len(moments) == 48
    assert min(_gaps(moments)) >= INTERVAL - FLOAT_NOISE
