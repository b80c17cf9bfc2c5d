"""Request pacing: keeping every sender of one base under Airtable's 5 requests per second.

The client calls :meth:`Pacer.acquire` before every HTTP request it sends (retries included) and
:meth:`Pacer.hold_off` when Airtable answers 429, because Airtable then refuses every request to the base
for 30 seconds, whoever sends it. Any object with these two methods is a pacer; the DynamoDB-backed one
that Lambda functions share lives in ``airtable_mirror.repository`` and does not import this module.

Slots and late callers
----------------------
A pacer hands out *slots*, moments at least ``interval = (1 + safety_margin) / requests_per_second``
apart (206 ms at 5 requests/s and 3 %). A slot says when a request may leave; on a loaded host the
caller's thread can wake well after it (up to 187 ms has been seen), and a request sent that late
crowds the ones after it, which leave on time. So a slot is good only until ``late_tolerance`` after
it: a caller that would return from ``acquire`` later gives its slot up (counted in ``late_slots``,
logged at debug) and takes a new one. Voided slots cost throughput only when the host is overloaded.

The tolerance is the slack the margin buys, less an allowance. With ``n = max(1, floor(rps))``
(the requests Airtable allows in one window, 5 in 1 s), ``n`` intervals span
``n * interval = n / rps + n * margin / rps`` (1.03 s), so::

    late_tolerance = max(0, n * interval - n / rps - send_allowance)   # 1030 - 1000 - 10 = 20 ms

``send_allowance`` (10 ms) is kept for what happens after ``acquire`` returns: handing the request,
built beforehand, to the socket, and the spread of network delay. The limit Airtable states, and the
emulator enforces, is a count per sliding second, so the tolerance spends the slack of ``n`` intervals;
keeping every *pair* of requests ``1 / rps`` apart would leave only ``interval - 1 / rps - allowance``
(a few ms), less than ordinary scheduling jitter, and void slots on a host that is not overloaded.

Invariant (per pacer here; across processes for the shared DynamoDB pacer): slots are at least
``interval`` apart and ``acquire`` returns within ``late_tolerance`` of its slot. If each request leaves
within ``send_allowance`` of ``acquire`` returning, any ``n + 1`` requests span at least
``n * interval - late_tolerance - send_allowance = n / rps`` seconds: **no more than 5 requests in any
1 s window**, and two consecutive requests leave at least ``interval - late_tolerance - send_allowance``
(176 ms) apart. With no margin the tolerance is 0 and only the allowance protects the window.
"""

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from aws_lambda_powertools import Logger

from airtable_mirror.slot_tolerance import DEFAULT_SEND_ALLOWANCE, late_tolerance

logger = Logger(child=True)


@runtime_checkable
class Pacer(Protocol):
    """Decides when the next request to one Airtable base may be sent.

    Implementations must be safe to call from several threads (or processes, for shared pacers).
    """

    def acquire(self) -> None:
        """Block until the caller may send one request, and use up that request's slot.

        Returns no later than the pacer's tolerance after the slot (a later wake-up takes a new slot),
        so the caller should have its request ready and send it at once.
        """

    def hold_off(self, seconds: float) -> None:
        """Make everyone sharing this pacer wait: no slot is granted before now + ``seconds``.

        Never shortens a hold-off already in force. ``seconds`` is ≥ 0.
        """


class LocalPacer:
    """In-process pacer: slots spaced ``(1 + safety_margin) / requests_per_second`` seconds apart.

    The margin keeps network jitter and late wake-ups from ever putting six requests into one sliding
    second (see the module docstring). Threads reserve slots under a lock and sleep outside it, so
    waiting threads do not block each other.
    """

    def __init__(
        self,
        requests_per_second: float = 5.0,
        safety_margin: float = 0.03,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        *,
        send_allowance: float = DEFAULT_SEND_ALLOWANCE,
    ) -> None:
        if not requests_per_second > 0:
            raise ValueError(f"requests_per_second must be positive, got {requests_per_second!r}")
        if not safety_margin >= 0:
            raise ValueError(f"safety_margin must be zero or positive, got {safety_margin!r}")
        self.interval = (1.0 + safety_margin) / requests_per_second
        self.late_tolerance = late_tolerance(self.interval, requests_per_second, send_allowance)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = float("-inf")
        self._blocked_until = float("-inf")
        self._late_slots = 0

    @property
    def late_slots(self) -> int:
        """Slots given up because their caller woke more than ``late_tolerance`` after them."""
        return self._late_slots

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
                if self._blocked_until > slot:
                    continue
                late = self._clock() - slot
                if late <= self.late_tolerance:
                    return
                # Sending now would crowd the slots after this one: give it up, take the next free one.
                self._late_slots += 1
                late_slots = self._late_slots
            logger.debug(
                "request slot voided: the caller came back too late",
                late_ms=round(late * 1000, 1),
                tolerance_ms=round(self.late_tolerance * 1000, 1),
                late_slots=late_slots,
            )

    def hold_off(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"hold-off seconds must be zero or positive, got {seconds!r}")
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def __repr__(self) -> str:
        return f"LocalPacer(interval={self.interval:.3f}s, late_tolerance={self.late_tolerance:.3f}s)"
