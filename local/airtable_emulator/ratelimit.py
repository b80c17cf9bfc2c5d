"""Airtable's rate limits: a sliding window per base and per token, then a penalty.

Past ``requests_per_second_per_base`` requests in any ``rate_limit_window_seconds`` (or the per-token
figure), the request gets 429 and every later request to that base (or with that token) gets 429 until
``rate_limit_penalty_seconds`` have passed. Requests refused during a penalty neither extend it nor count
in the window (Airtable does not document either; this keeps the penalty a fixed length), and the window
starts empty once the penalty ends. Time is real
monotonic time, not the injectable clock: benchmarks scale the figures instead.

Settings are read on every request, so tests may change them on a running emulator.
"""

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from .errors import AirtableApiError
from .settings import EmulatorSettings

RATE_LIMIT_MESSAGE = "Rate limit exceeded. Please try again later"
BILLING_LIMIT_MESSAGE = (
    "API billing plan limit exceeded. Please upgrade your plan or wait until the next billing period."
)


class RateLimiter:
    def __init__(
        self, settings: EmulatorSettings, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        self._penalty_until: dict[str, float] = {}
        self.count_429 = 0
        self.count_rate_limited = 0
        self.count_billing_limited = 0

    def reset(self) -> None:
        """Forget every window, penalty and counter."""
        with self._lock:
            self._windows.clear()
            self._penalty_until.clear()
            self.count_429 = 0
            self.count_rate_limited = 0
            self.count_billing_limited = 0

    def penalty_remaining(self, *, token: str, base_id: str | None) -> float:
        with self._lock:
            now = self._monotonic()
            return max(
                (self._penalty_until.get(key, now) - now for key in self._keys(token, base_id)), default=0.0
            )

    def check(self, *, token: str, base_id: str | None) -> None:
        """Count one request; raise the 429 Airtable would answer when it is over a limit."""
        settings = self.settings
        if settings.billing_limit_exceeded:
            with self._lock:
                self.count_429 += 1
                self.count_billing_limited += 1
            raise AirtableApiError(429, "PUBLIC_API_BILLING_LIMIT_EXCEEDED", BILLING_LIMIT_MESSAGE)
        if not settings.rate_limit_enabled:
            return
        with self._lock:
            now = self._monotonic()
            keys = self._keys(token, base_id)
            penalty_end = max((self._penalty_until.get(key, 0.0) for key in keys), default=0.0)
            if penalty_end > now:
                self._refuse(penalty_end - now)
            over = [key for key in keys if self._window_is_full(key, now)]
            if over:
                until = now + settings.rate_limit_penalty_seconds
                for key in over:
                    self._penalty_until[key] = until
                    # After the penalty the client starts afresh (even when the window outlasts it).
                    self._windows.pop(key, None)
                self._refuse(settings.rate_limit_penalty_seconds)
            for key in keys:
                self._windows.setdefault(key, deque()).append(now)
            if len(self._windows) > 10_000:
                self._forget_idle(now)

    def _keys(self, token: str, base_id: str | None) -> list[str]:
        keys = [f"token:{token}"]
        if base_id is not None:
            keys.append(f"base:{base_id}")
        return keys

    def _limit(self, key: str) -> int:
        figure = (
            self.settings.requests_per_second_per_base
            if key.startswith("base:")
            else self.settings.requests_per_second_per_token
        )
        return max(1, math.floor(figure))

    def _window_is_full(self, key: str, now: float) -> bool:
        window = self._windows.get(key)
        if window is None:
            return False
        horizon = now - self.settings.rate_limit_window_seconds
        while window and window[0] <= horizon:
            window.popleft()
        return len(window) >= self._limit(key)

    def _refuse(self, remaining: float) -> None:
        self.count_429 += 1
        self.count_rate_limited += 1
        headers = {}
        if self.settings.retry_after_on_429:
            headers["Retry-After"] = str(max(1, math.ceil(remaining)))
        raise AirtableApiError(429, "RATE_LIMIT_REACHED", RATE_LIMIT_MESSAGE, headers=headers)

    def _forget_idle(self, now: float) -> None:
        horizon = now - self.settings.rate_limit_window_seconds
        for key in [key for key, window in self._windows.items() if not window or window[-1] <= horizon]:
            if self._penalty_until.get(key, 0.0) <= now:
                del self._windows[key]
                self._penalty_until.pop(key, None)
