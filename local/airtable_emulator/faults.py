"""Injected failures: 5xx answers, slow answers and dropped connections.

Faults are decided after authentication and rate limiting, before the request is handled, so a faulted
request still counts toward the rate limits (as it would at Airtable, where it reached the API).
"""

import random
import threading
from dataclasses import dataclass
from typing import Literal

from .errors import AirtableApiError

FaultKind = Literal["500", "502", "503", "delay", "drop"]
FAULT_KINDS: tuple[FaultKind, ...] = ("500", "502", "503", "delay", "drop")
AfterDelay = Literal["answer", "drop"]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    # For "delay": how long to wait, and what to do then.
    delay_seconds: float = 0.0
    after_delay: AfterDelay = "answer"
    # For "503": an optional Retry-After header (seconds).
    retry_after: int | None = None

    def error(self) -> AirtableApiError:
        """The answer of a 5xx fault."""
        if self.kind == "500":
            return AirtableApiError(
                500, "SERVER_ERROR", "Server encountered an unexpected condition (injected fault)"
            )
        if self.kind == "502":
            return AirtableApiError(502, "BAD_GATEWAY", "Bad gateway (injected fault)")
        if self.kind == "503":
            headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
            return AirtableApiError(
                503,
                "RETRIABLE_ERROR",
                "Server encountered an error while processing your request, and it is safe to retry the "
                "request",
                headers=headers,
            )
        raise ValueError(f"a {self.kind!r} fault is not an error answer")


@dataclass
class _Planned:
    fault: Fault
    remaining: int
    path_prefix: str | None


@dataclass
class _Rate:
    fault: Fault
    probability: float
    rng: random.Random
    path_prefix: str | None


def _kind(kind: str | int) -> FaultKind:
    text = str(kind)
    if text not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
    return text


class FaultInjector:
    """``fail_next(n, kind)`` and ``set_rate(kind, p)``; ``choose(path)`` picks the fault of a request."""

    def __init__(self, *, default_delay_seconds: float = 5.0) -> None:
        self.default_delay_seconds = default_delay_seconds
        self._lock = threading.Lock()
        self._planned: list[_Planned] = []
        self._rates: dict[FaultKind, _Rate] = {}
        self.injected: dict[FaultKind, int] = dict.fromkeys(FAULT_KINDS, 0)

    def fail_next(
        self,
        n: int,
        kind: str | int,
        *,
        path_prefix: str | None = None,
        delay_seconds: float | None = None,
        after_delay: AfterDelay = "answer",
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``n`` requests (under ``path_prefix``, e.g. ``/v0/app…``) fail with ``kind``."""
        if n < 1:
            raise ValueError("n must be at least 1")
        fault = self._fault(kind, delay_seconds, after_delay, retry_after)
        with self._lock:
            self._planned.append(_Planned(fault, n, path_prefix))

    def set_rate(
        self,
        kind: str | int,
        probability: float,
        *,
        seed: int | None = None,
        path_prefix: str | None = None,
        delay_seconds: float | None = None,
        after_delay: AfterDelay = "answer",
        retry_after: int | None = None,
    ) -> None:
        """Fail each request with ``probability`` (0 removes the rate for ``kind``)."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        fault = self._fault(kind, delay_seconds, after_delay, retry_after)
        with self._lock:
            if probability == 0.0:
                self._rates.pop(fault.kind, None)
            else:
                self._rates[fault.kind] = _Rate(fault, probability, random.Random(seed), path_prefix)

    def clear(self) -> None:
        with self._lock:
            self._planned.clear()
            self._rates.clear()

    def choose(self, path: str) -> Fault | None:
        with self._lock:
            for planned in self._planned:
                if planned.path_prefix is None or path.startswith(planned.path_prefix):
                    planned.remaining -= 1
                    if planned.remaining == 0:
                        self._planned.remove(planned)
                    self.injected[planned.fault.kind] += 1
                    return planned.fault
            for rate in self._rates.values():
                if rate.path_prefix is not None and not path.startswith(rate.path_prefix):
                    continue
                if rate.rng.random() < rate.probability:
                    self.injected[rate.fault.kind] += 1
                    return rate.fault
            return None

    def _fault(
        self, kind: str | int, delay_seconds: float | None, after_delay: AfterDelay, retry_after: int | None
    ) -> Fault:
        fault_kind = _kind(kind)
        if after_delay not in ("answer", "drop"):
            raise ValueError("after_delay must be 'answer' or 'drop'")
        delay = self.default_delay_seconds if delay_seconds is None else delay_seconds
        if delay < 0:
            raise ValueError("delay_seconds must not be negative")
        return Fault(fault_kind, delay, after_delay, retry_after)
