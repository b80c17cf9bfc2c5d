"""DynamoPacer: request slots shared through DynamoDB by every function of a base."""

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from airtable_mirror.airtable.pacing import Pacer
from airtable_mirror.repository import DynamoPacer
from airtable_mirror.repository.keys import RATE_SK, rate_pk
from airtable_mirror.repository.rate_slots import NEXT_SLOT, slot_interval_ms
from airtable_mirror.repository.rate_slots import logger as rate_slots_logger
from tests.support.clock import FakeClock, VirtualClock
from tests.support.dynamodb import CallCountingClient, DynamoTable
from tests.support.pacing import acquire_concurrently, gaps, most_in_any_second
from tests.support.records import BASE_ID

INTERVAL = 0.206  # (1 + 0.03) / 5 requests per second
# Virtual times are floats of epoch seconds: allow float noise, far below a millisecond.
FLOAT_NOISE = 1e-6


def _pacer(table: DynamoTable, clock: FakeClock, client: Any = None, **options: Any) -> DynamoPacer:
    return DynamoPacer(client or table.client, table.name, BASE_ID, clock=clock, sleep=clock.sleep, **options)


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
    assert all(gap == pytest.approx(INTERVAL) for gap in gaps(moments))
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
    assert min(gaps(moments)) >= INTERVAL - FLOAT_NOISE


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

    # When they all acquire as fast as they can (a thread's error is raised here)
    moments = acquire_concurrently(
        pacers * workers_per_pacer, clock, rounds=12, pauses=[0.0, 0.01, 0.1, 0.3, 1.1]
    )

    # Then every request got a slot and no two are closer than the interval
    assert len(moments) == 48
    assert min(gaps(moments)) >= INTERVAL - FLOAT_NOISE


# Late wake-ups: a slot the caller comes back to too late is void, in every window.

# 5 slots of 206 ms span 1.03 s; 10 ms are kept for the way from acquire() to the wire.
LATE_TOLERANCE = 0.020


class SerializedClient:
    """One call at a time: DynamoDB's conditional writes are atomic, moto's are not under threads."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def call(**kwargs: Any) -> Any:
            with self._lock:
                return method(**kwargs)

        return call


def _late_sleep(clock: FakeClock, overruns: list[float]) -> Callable[[float], None]:
    """A sleep that overruns by the next figure of `overruns` (then by nothing)."""
    pending = iter(overruns)

    def sleep(seconds: float) -> None:
        clock.sleep(seconds + next(pending, 0.0))

    return sleep


def test_the_late_tolerance_is_the_slack_the_margin_buys_less_the_send_allowance(
    dynamodb_table: DynamoTable,
) -> None:
    assert _pacer(dynamodb_table, FakeClock()).late_tolerance_seconds == pytest.approx(LATE_TOLERANCE)
    assert _pacer(dynamodb_table, FakeClock(), safety_margin=0.0).late_tolerance_seconds == 0.0
    assert _pacer(dynamodb_table, FakeClock(), send_allowance=0.0).late_tolerance_seconds == pytest.approx(
        0.030
    )
    with pytest.raises(ValueError, match="send_allowance"):
        _pacer(dynamodb_table, FakeClock(), send_allowance=float("nan"))


def test_a_late_wake_up_gives_the_slot_up_and_takes_the_next_of_the_window(
    dynamodb_table: DynamoTable, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a pacer whose second wait overruns by 100 ms, then one that overruns by 15 ms
    clock = FakeClock()
    client: Any = CallCountingClient(dynamodb_table.client)
    pacer = DynamoPacer(
        client, dynamodb_table.name, BASE_ID, clock=clock, sleep=_late_sleep(clock, [0.1, 0.015])
    )
    start = clock()

    # When it hands out three slots
    returned = []
    with caplog.at_level(logging.DEBUG, logger=rate_slots_logger.name):
        for _ in range(3):
            pacer.acquire()
            returned.append(clock() - start)

    # Then the slot at 206 ms (woken at 306 ms) was given up for the one at 412 ms, which came back
    # 15 ms late, within the tolerance; all from the first window
    assert returned == pytest.approx([0.0, 0.412 + 0.015, 0.618])
    assert pacer.late_slots == 1
    assert client.calls == {"get_item": 1, "update_item": 1}
    assert [record.levelno for record in caplog.records] == [logging.DEBUG]
    assert "too late" in caplog.text


def test_a_late_last_slot_does_not_crowd_the_window_after_it(dynamodb_table: DynamoTable) -> None:
    # Given two pacers on one base; the first has used four slots of its window (0 .. 824 ms)
    clock = FakeClock()
    start = clock()
    first = DynamoPacer(
        dynamodb_table.client,
        dynamodb_table.name,
        BASE_ID,
        clock=clock,
        sleep=_late_sleep(clock, [0.0, 0.0, 0.0, 0.15]),
    )
    second = _pacer(dynamodb_table, clock)
    for _ in range(4):
        first.acquire()

    # When its wait for the last slot (824 ms) overruns by 150 ms, and the second pacer then acquires
    first.acquire()
    first_returned = clock() - start
    second.acquire()
    second_returned = clock() - start

    # Then the first did not send at 974 ms, 56 ms before the next window's first slot (1030 ms):
    # it took that slot in a window of its own, and the second pacer the one after it
    assert first.late_slots == 1
    assert first_returned == pytest.approx(1.030)
    assert second_returned == pytest.approx(1.030 + 5 * INTERVAL)


def test_a_slow_reservation_starts_the_window_when_it_is_ours(dynamodb_table: DynamoTable) -> None:
    # Given a pacer whose conditional write takes 50 ms on an idle base
    clock = FakeClock()
    start = clock()

    class SlowClient(CallCountingClient):
        def update_item(self, **kwargs: Any) -> Any:
            clock.advance(0.05)
            return CallCountingClient.__getattr__(self, "update_item")(**kwargs)

    pacer = _pacer(dynamodb_table, clock, client=SlowClient(dynamodb_table.client))

    # When it hands out two slots
    pacer.acquire()
    first = clock() - start
    pacer.acquire()
    second = clock() - start

    # Then the first goes when the window is reserved (not voided as 50 ms late) and the next an
    # interval after it
    assert first == pytest.approx(0.05)
    assert second == pytest.approx(0.05 + INTERVAL)
    assert pacer.late_slots == 0


def test_pacers_and_threads_on_a_busy_host_never_put_six_requests_in_one_second(
    dynamodb_table: DynamoTable,
) -> None:
    # Given two pacers ("functions") with two threads each, sharing one table, on simulated time,
    # every sleep overrunning by 0-300 ms
    workers_per_pacer = 2
    clock = VirtualClock(participants=2 * workers_per_pacer)
    rng = random.Random(5)
    rng_lock = threading.Lock()
    oversleeps: list[list[float]] = [[], []]

    def oversleeping(index: int) -> Callable[[float], None]:
        def sleep(seconds: float) -> None:
            with rng_lock:
                extra = rng.uniform(0.0, 0.3)
                oversleeps[index].append(extra)
            clock.sleep(seconds + extra)

        return sleep

    client: Any = SerializedClient(dynamodb_table.client)
    pacers = [
        DynamoPacer(client, dynamodb_table.name, BASE_ID, clock=clock.time, sleep=oversleeping(index))
        for index in range(2)
    ]

    # When they all acquire as fast as they can (a thread's error is raised here)
    returned = acquire_concurrently(
        pacers * workers_per_pacer, clock, rounds=15, pauses=[0.0, 0.0, 0.01, 0.05, 0.3]
    )

    # Then no sliding second holds six returns, and each pacer voided (and counted) exactly the
    # wake-ups that came later than the tolerance
    assert len(returned) == 60
    assert most_in_any_second(returned) <= 5
    assert min(gaps(returned)) >= INTERVAL - LATE_TOLERANCE - FLOAT_NOISE
    for pacer, extras in zip(pacers, oversleeps, strict=True):
        assert pacer.late_slots == sum(1 for extra in extras if extra > LATE_TOLERANCE)
    assert sum(pacer.late_slots for pacer in pacers) > 0
