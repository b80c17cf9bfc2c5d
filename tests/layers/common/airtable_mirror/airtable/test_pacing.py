import itertools
import threading

import pytest

from airtable_mirror.airtable.pacing import LocalPacer, Pacer
from tests.layers.common.airtable_mirror.airtable.fake_transport import RecordingPacer


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
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
    assert gaps == pytest.approx([0.206] * 10)
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
