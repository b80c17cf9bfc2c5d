"""Clocks for tests: time that moves only when the test (or a simulated sleep) moves it."""

import heapq
import itertools
import threading


class FakeClock:
    """Epoch seconds that only move on `advance` or `sleep`; pass `clock` and `sleep` to the code."""

    def __init__(self, start: float = 1_714_564_800.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class VirtualClock:
    """Simulated time shared by several threads.

    Time stands still while any participant runs; when every participant is asleep it jumps to the
    earliest wake-up. Threads that wake at the same moment really do run at the same time, so races
    between them (on DynamoDB, say) are real, but no test waits for wall-clock time.
    """

    def __init__(self, participants: int, start: float = 1_714_564_800.0) -> None:
        self._now = start
        self._active = participants
        self._asleep = 0
        self._wake_ups: list[tuple[float, int]] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()

    def time(self) -> float:
        with self._condition:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._condition:
            wake_at = self._now + seconds
            heapq.heappush(self._wake_ups, (wake_at, next(self._sequence)))
            self._asleep += 1
            self._advance_if_all_asleep()
            while self._now < wake_at:
                if not self._condition.wait(timeout=60):
                    raise TimeoutError("virtual clock stalled: a participant never slept or left")

    def leave(self) -> None:
        """A participant is done; time no longer waits for it."""
        with self._condition:
            self._active -= 1
            self._advance_if_all_asleep()

    def _advance_if_all_asleep(self) -> None:
        if self._wake_ups and self._asleep >= self._active:
            self._now = max(self._now, self._wake_ups[0][0])
            while self._wake_ups and self._wake_ups[0][0] <= self._now:
                heapq.heappop(self._wake_ups)
                self._asleep -= 1
            self._condition.notify_all()
