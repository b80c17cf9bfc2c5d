"""Pacers under load: threads that acquire slots on simulated time, and measures of the moments."""

import itertools
import random
import threading
from collections.abc import Sequence

from airtable_mirror.airtable.pacing import Pacer
from tests.support.clock import VirtualClock


def acquire_concurrently(
    pacers_per_thread: Sequence[Pacer],
    clock: VirtualClock,
    *,
    rounds: int,
    pauses: Sequence[float],
    seed_base: int = 0,
) -> list[float]:
    """Run one thread per entry of `pacers_per_thread`; return the moments every acquire returned.

    Thread `index` calls its pacer's `acquire()` `rounds` times, notes `clock.time()` after each,
    then sleeps on `clock` for a choice of `pauses` drawn from `random.Random(seed_base + index)`.
    Each thread leaves the clock when done. The first error a thread hit is raised here.
    """
    moments: list[float] = []
    moments_lock = threading.Lock()
    errors: list[BaseException] = []

    def work(pacer: Pacer, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(rounds):
                pacer.acquire()
                with moments_lock:
                    moments.append(clock.time())
                clock.sleep(rng.choice(pauses))
        except BaseException as error:  # raised below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            clock.leave()

    threads = [
        threading.Thread(target=work, args=(pacer, seed_base + index))
        for index, pacer in enumerate(pacers_per_thread)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return moments


def gaps(moments: Sequence[float]) -> list[float]:
    """The differences between consecutive moments, once sorted."""
    ordered = sorted(moments)
    return [later - earlier for earlier, later in itertools.pairwise(ordered)]


def most_in_any_second(moments: Sequence[float], window: float = 1.0) -> int:
    """The largest number of moments in any sliding `window` seconds, counted as the emulator does:
    a request is refused when five others came less than a second before it."""
    ordered = sorted(moments)
    most = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most
