import itertools
import logging
import random
import threading
from collections.abc import Callable

import pytest

from airtable_mirror.airtable.pacing import LocalPacer, Pacer
from airtable_mirror.airtable.pacing import logger as pacing_logger
from tests.layers.common.airtable_mirror.airtable.fake_transport import RecordingPacer
from tests.support.clock import VirtualClock
from tests.support.pacing import acquire_concurrently, gaps, most_in_any_second


class FakeClock:
    """Time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_requests_are_spaced_by_the_interval_with_its_safety_margin() -> None:
    clock = FakeClock()
    pacer = LocalPacer(requests_per_second=5.0, safety_margin=0.03, clock=clock, sleep=clock.sleep)
    sent_at = []

    for _ in range(11):
        pacer.acquire()
        sent_at.append(clock.now)

    assert pacer.interval == pytest.approx(0.206)
    assert sent_at[0] == 1000.0
    sent_gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
    assert sent_gaps == pytest.approx([0.206] * 10)
    # No sliding second ever holds six requests.
    assert all(sent_at[index + 5] - sent_at[index] > 1.0 for index in range(len(sent_at) - 5))


def test_idle_time_is_not_banked_as_a_burst() -> None:
    clock = FakeClock()
    pacer = LocalPacer(clock=clock, sleep=clock.sleep)
    pacer.acquire()
    clock.now += 60

    pacer.acquire()
    pacer.acquire()

    assert clock.sleeps == [pytest.approx(0.206)]


def test_hold_off_delays_the_next_request() -> None:
    clock = FakeClock()
    pacer = LocalPacer(clock=clock, sleep=clock.sleep)
    pacer.acquire()

    pacer.hold_off(30)
    pacer.acquire()

    assert clock.now == pytest.approx(1030.0)


def test_a_shorter_hold_off_does_not_shorten_a_longer_one() -> None:
    clock = FakeClock()
    pacer = LocalPacer(clock=clock, sleep=clock.sleep)

    pacer.hold_off(30)
    pacer.hold_off(5)
    pacer.acquire()

    assert clock.now == pytest.approx(1030.0)


def test_a_hold_off_during_a_wait_voids_the_reserved_slot() -> None:
    clock = FakeClock()
    holds: list[float] = []

    def sleep_while_another_thread_sees_a_429(seconds: float) -> None:
        if not holds:
            holds.append(seconds)
            pacer.hold_off(30)
        clock.sleep(seconds)

    pacer = LocalPacer(clock=clock, sleep=sleep_while_another_thread_sees_a_429)
    pacer.acquire()
    pacer.acquire()

    assert clock.now >= 1030.0


def test_concurrent_callers_each_get_their_own_slot() -> None:
    waits: list[float] = []
    waits_lock = threading.Lock()

    def record_wait(seconds: float) -> None:
        with waits_lock:
            waits.append(seconds)

    pacer = LocalPacer(requests_per_second=10.0, safety_margin=0.0, clock=lambda: 0.0, sleep=record_wait)
    start = threading.Barrier(8)

    def caller() -> None:
        start.wait()
        pacer.acquire()

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(waits) == pytest.approx([0.1 * slot for slot in range(1, 8)])


@pytest.mark.parametrize(
    ("rate", "margin"),
    [(0, 0.03), (-1, 0.03), (float("nan"), 0.03), (5, -0.1)],
)
def test_bad_settings_are_refused(rate: float, margin: float) -> None:
    with pytest.raises(ValueError):
        LocalPacer(requests_per_second=rate, safety_margin=margin)


def test_negative_hold_off_is_refused() -> None:
    with pytest.raises(ValueError):
        LocalPacer().hold_off(-1)


def test_pacers_satisfy_the_protocol_structurally() -> None:
    assert isinstance(LocalPacer(), Pacer)
    assert isinstance(RecordingPacer(), Pacer)
    assert not isinstance(object(), Pacer)


# Late wake-ups: a slot the caller comes back to too late is void.

# 5 slots of 206 ms span 1.03 s; 10 ms are kept for the way from acquire() to the wire.
LATE_TOLERANCE = 0.020


class OversleepingSleep:
    """A loaded host: every sleep lasts what was asked plus a random 0-300 ms."""

    def __init__(self, sleep: Callable[[float], None], seed: int) -> None:
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.oversleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        with self._lock:
            extra = self._rng.uniform(0.0, 0.3)
            self.oversleeps.append(extra)
        self._sleep(seconds + extra)

    def later_than(self, tolerance: float) -> int:
        with self._lock:
            return sum(1 for extra in self.oversleeps if extra > tolerance)


def test_the_late_tolerance_is_the_slack_the_margin_buys_less_the_send_allowance() -> None:
    # 5 intervals of 206 ms = 1030 ms: 30 ms over one second, of which 10 ms are for sending.
    assert LocalPacer().late_tolerance == pytest.approx(LATE_TOLERANCE)
    assert LocalPacer(requests_per_second=10.0).late_tolerance == pytest.approx(LATE_TOLERANCE)
    assert LocalPacer(send_allowance=0.0).late_tolerance == pytest.approx(0.030)
    # Below one request per second the window is one interval: 2.06 s - 2 s - 10 ms.
    assert LocalPacer(requests_per_second=0.5).late_tolerance == pytest.approx(0.050)
    # Never negative: with no margin, only a caller that is exactly on time may send.
    assert LocalPacer(safety_margin=0.0).late_tolerance == 0.0
    assert LocalPacer(safety_margin=0.001).late_tolerance == 0.0
    with pytest.raises(ValueError, match="send_allowance"):
        LocalPacer(send_allowance=-0.001)


def test_a_caller_back_within_the_tolerance_keeps_its_slot() -> None:
    clock = FakeClock()

    def sleep_a_little_long(seconds: float) -> None:
        clock.sleep(seconds + 0.015)

    pacer = LocalPacer(clock=clock, sleep=sleep_a_little_long)
    pacer.acquire()
    pacer.acquire()

    assert clock.now == pytest.approx(1000.0 + 0.206 + 0.015)
    assert pacer.late_slots == 0


def test_a_caller_back_too_late_gives_its_slot_up_and_takes_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a pacer whose second wait overruns by 100 ms (a busy host)
    clock = FakeClock()
    overruns = iter([0.1])

    def sleep_late_once(seconds: float) -> None:
        clock.sleep(seconds + next(overruns, 0.0))

    pacer = LocalPacer(clock=clock, sleep=sleep_late_once)
    returned = []

    # When it hands out three slots
    with caplog.at_level(logging.DEBUG, logger=pacing_logger.name):
        for _ in range(3):
            pacer.acquire()
            returned.append(clock.now)

    # Then the late slot (1000.206, woken at 1000.306) was not used: the caller waited for the next
    assert returned == pytest.approx([1000.0, 1000.412, 1000.618])
    assert pacer.late_slots == 1
    assert [record.levelno for record in caplog.records] == [logging.DEBUG]
    assert "too late" in caplog.text


def test_threads_on_a_busy_host_never_put_six_requests_in_one_second() -> None:
    # Given four threads sharing a pacer, on simulated time, whose every sleep overruns by 0-300 ms
    threads_count = 4
    clock = VirtualClock(participants=threads_count, start=1000.0)
    sleep = OversleepingSleep(clock.sleep, seed=11)
    pacer = LocalPacer(clock=clock.time, sleep=sleep)

    # When they all acquire as fast as they can (a thread's error is raised here)
    returned = acquire_concurrently(
        [pacer] * threads_count, clock, rounds=15, pauses=[0.0, 0.0, 0.01, 0.05, 0.3]
    )

    # Then no sliding second holds six returns, and every wake-up past the tolerance was voided
    assert len(returned) == 60
    assert most_in_any_second(returned) <= 5
    assert min(gaps(returned)) >= 0.206 - LATE_TOLERANCE - 1e-9
    assert pacer.late_slots == sleep.later_than(LATE_TOLERANCE) > 0
