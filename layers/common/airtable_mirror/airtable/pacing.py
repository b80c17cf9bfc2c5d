"""Request pacing: keeping every sender of one base under Airtable's 5 requests per second.

The client calls :meth:`Pacer.acquire` before every HTTP request it sends (retries included) and
:meth:`Pacer.hold_off` when Airtable answers 429, because Airtable then refuses every request to the base
for 30 seconds, whoever sends it. Any object with these two methods is a pacer; the DynamoDB-backed one
that Lambda functions share lives in ``airtable_mirror.repository`` and does not import this module.
"""

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class Pacer(Protocol):
    """Decides when the next request to one Airtable base may be sent.

    Implementations must be safe to call from several threads (or processes, for shared pacers).
    """

    def acquire(self) -> None:
        """Block until the caller may send one request, and use up that request's slot."""

    def hold_off(self, seconds: float) -> None:
        """Make everyone sharing this pacer wait: no slot is granted before now + ``seconds``.

        Never shortens a hold-off already in force. ``seconds`` is ≥ 0.
        """


class LocalPacer:
    """In-process pacer: slots spaced ``(1 + safety_margin) / requests_per_second`` seconds apart.

    The margin keeps network jitter from ever putting six requests into one sliding second. Threads
    reserve slots under a lock and sleep outside it, so waiting threads do not block each other.
    """

    def __init__(
        self,
        requests_per_second: float = 5.0,
        safety_margin: float = 0.03,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not requests_per_second > 0:
            raise ValueError(f"requests_per_second must be positive, got {requests_per_second!r}")
        if not safety_margin >= 0:
            raise ValueError(f"safety_margin must be zero or positive, got {safety_margin!r}")
        self.interval = (1.0 + safety_margin) / requests_per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = float("-inf")
        self._blocked_until = float("-inf")

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                slot = max(now, self._next_slot, self._blocked_until)
                self._next_slot = slot + self.interval
            if slot > now:
                self._sleep(slot - now)
            with self._lock:
                # A 429 seen by another thread while this one slept voids the slot it reserved.
                if self._blocked_until <= slot:
                    return

    def hold_off(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"hold-off seconds must be zero or positive, got {seconds!r}")
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def __repr__(self) -> str:
        return f"LocalPacer(interval={self.interval:.3f}s)"
