"""Request pacing shared by every function and process that calls Airtable for one base.

Airtable allows 5 requests per second per base. The item `B#{base}#RATE` / `SLOTS` holds
`next_slot_ms`, the first moment (epoch milliseconds) nobody has reserved yet. A pacer reserves a
*window* of `batch_size` slots, `[start, start + batch_size * interval)`, with one conditional
UpdateItem that moves `next_slot_ms` from the value it read to the window's end; a conflict means
another pacer moved it first, so it re-reads and tries again.

Inside its window a pacer hands out slots at least one interval apart and never later than the
window's last slot; a window's first slot is no earlier than the moment its reservation came back.
Windows never overlap, so any two slots, from any pacers, are at least one interval apart. A request
that comes late inside the window still fits (it gets a later slot and keeps its distance from the
next window); one that would not fit starts a new window, and the rest of the old one is lost: at most
`batch_size - 1` slots, less than a second at the defaults.

Late callers. A slot says when a request may leave, not when it does: a thread on a loaded host wakes
after its slot (up to 187 ms has been seen). Windows of other processes may follow ours immediately,
so a request sent late from the end of our window would crowd *their* first slots, which leave on
time. So a slot is void once `late_tolerance_ms` has passed: the caller that wakes later gives it up
(counted in `late_slots`, logged at debug) and takes the next free slot of its window, or a new window.
This costs throughput only when the host is overloaded.

    interval       = (1 + safety_margin) / requests_per_second, rounded up to a whole ms  (206 ms)
    n              = max(1, floor(requests_per_second))   requests Airtable allows in 1 s  (5)
    late_tolerance = max(0, n * interval - n / requests_per_second - send_allowance)
                   = 1030 - 1000 - 10 = 20 ms, rounded down to a whole ms

The margin buys `n * interval - 1 s` (30 ms) of slack per window of `n` requests; `send_allowance`
(10 ms) of it is kept for what happens after `acquire` returns: the bytes reaching the socket, the
spread of network delay, and clock skew between the hosts of the pacers (their clocks must agree within
a few ms, as NTP-disciplined clocks do).

Invariant. Slots of all pacers sharing a base are at least `interval` apart, and `acquire` returns
within `late_tolerance` of its slot. Assuming each request leaves within `send_allowance` of the moment
`acquire` returns, any `n + 1` requests sent through pacers sharing a base span at least
`n * interval - late_tolerance - send_allowance = 1 s`: **no more than 5 requests in any 1 s**, and
any two consecutive requests leave at least `interval - late_tolerance - send_allowance = 176 ms` apart.
(A window reserved before another pacer's hold-off is not recalled; see `DynamoPacer.hold_off`.)

`DynamoPacer` matches the Airtable client's pacing protocol (`acquire()`, `hold_off(seconds)`)
structurally; this module does not import the client.
"""

import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from airtable_mirror.repository.errors import RateSlotContentionError
from airtable_mirror.repository.keys import PARTITION_KEY, RATE_SK, SORT_KEY, rate_pk
from airtable_mirror.repository.records import is_conditional_check_failure
from airtable_mirror.slot_tolerance import DEFAULT_SEND_ALLOWANCE, late_tolerance

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

logger = Logger(child=True)

NEXT_SLOT = "next_slot_ms"
DEFAULT_REQUESTS_PER_SECOND = 5.0
DEFAULT_SAFETY_MARGIN = 0.03
DEFAULT_BATCH_SIZE = 5
DEFAULT_MAX_ATTEMPTS = 50


def slot_interval_ms(requests_per_second: float, safety_margin: float) -> int:
    """Milliseconds between two slots; rounded (to a microsecond) before rounding up, so that
    1.03 / 5 gives 206, not 207 from floating-point noise."""
    if not math.isfinite(requests_per_second) or requests_per_second <= 0:
        raise ValueError(f"requests_per_second must be positive, got {requests_per_second!r}")
    if not math.isfinite(safety_margin) or safety_margin < 0:
        raise ValueError(f"safety_margin must be zero or more, got {safety_margin!r}")
    return max(1, math.ceil(round(1000 * (1 + safety_margin) / requests_per_second, 3)))


def late_tolerance_ms(interval_ms: int, requests_per_second: float, send_allowance: float) -> int:
    """`slot_tolerance.late_tolerance` in whole milliseconds, rounded down."""
    tolerance = late_tolerance(interval_ms / 1000, requests_per_second, send_allowance)
    return math.floor(round(1000 * tolerance, 3))


class DynamoPacer:
    """Paces one base's Airtable requests across every function sharing the mirror table.

    Thread-safe: threads of one process share its window. Costs one conditional UpdateItem (1 WCU)
    per window of `batch_size` requests, plus a strongly consistent GetItem (1 RCU) when the pacer
    does not know the shared value (first use, or after losing a race on a backend that does not
    return the item with the conflict).
    """

    def __init__(
        self,
        client: "DynamoDBClient",
        table_name: str,
        base_id: str,
        *,
        requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND,
        safety_margin: float = DEFAULT_SAFETY_MARGIN,
        batch_size: int = DEFAULT_BATCH_SIZE,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        send_allowance: float = DEFAULT_SEND_ALLOWANCE,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self._client = client
        self._table_name = table_name
        self._key: dict[str, AttributeValueTypeDef] = {
            PARTITION_KEY: {"S": rate_pk(base_id)},
            SORT_KEY: {"S": RATE_SK},
        }
        self._base_id = base_id
        self._interval_ms = slot_interval_ms(requests_per_second, safety_margin)
        self._late_tolerance_ms = late_tolerance_ms(self._interval_ms, requests_per_second, send_allowance)
        self._batch_size = batch_size
        self._clock = clock
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._lock = threading.Lock()
        # Local window: the earliest moment for the next request and the window's last slot.
        self._window_next_ms: int | None = None
        self._window_last_ms: int | None = None
        # What we believe the shared item holds; None with _shared_known means "no item yet".
        self._shared_next_ms: int | None = None
        self._shared_known = False
        self._hold_offs = 0
        self._late_slots = 0

    @property
    def interval_seconds(self) -> float:
        return self._interval_ms / 1000

    @property
    def late_tolerance_seconds(self) -> float:
        """How late after its slot `acquire` may still return (see the module docstring)."""
        return self._late_tolerance_ms / 1000

    @property
    def late_slots(self) -> int:
        """Slots given up because their caller woke more than the tolerance after them."""
        return self._late_slots

    def acquire(self) -> None:
        """Block until this caller may send one request; returns within the tolerance of its slot."""
        while True:
            with self._lock:
                now_ms = self._now_ms()
                slot_ms = max(now_ms, self._window_next_ms or now_ms)
                while self._window_last_ms is None or slot_ms > self._window_last_ms:
                    start_ms = self._reserve_window(now_ms)
                    # The reservation took at least a round trip; nobody else has a slot in the new
                    # window yet, so its first slot is when it became ours, not a moment already past.
                    now_ms = self._now_ms()
                    slot_ms = max(start_ms, now_ms)
                self._window_next_ms = slot_ms + self._interval_ms
                hold_offs_before = self._hold_offs
            wait_seconds = slot_ms / 1000 - self._clock()
            if wait_seconds > 0:
                self._sleep(wait_seconds)
            with self._lock:
                # A 429 seen by another thread of this process while we slept voids our slot.
                if self._hold_offs != hold_offs_before:
                    continue
                late_ms = self._clock() * 1000 - slot_ms
                if late_ms <= self._late_tolerance_ms:
                    return
                # Sending now would crowd the next slots, perhaps another process's window: give the
                # slot up and take the next free one.
                self._late_slots += 1
                late_slots = self._late_slots
            logger.debug(
                "request slot voided: the caller came back too late",
                base_id=self._base_id,
                late_ms=round(late_ms, 1),
                tolerance_ms=self._late_tolerance_ms,
                late_slots=late_slots,
            )

    def hold_off(self, seconds: float) -> None:
        """Nobody (in any function) gets a slot before now + `seconds`; local slots are dropped.

        One UpdateItem conditioned on `next_slot_ms` being earlier than the target. When it fails
        the shared value is already later, which is just as good, so there is nothing to retry.
        Another process's window reserved before the hold-off is not recalled: it may still send
        the rest of it (fewer than `batch_size` requests).
        """
        if not seconds >= 0 or not math.isfinite(seconds):
            raise ValueError(f"hold-off seconds must be zero or positive, got {seconds!r}")
        with self._lock:
            self._hold_offs += 1
            self._window_next_ms = None
            self._window_last_ms = None
            if seconds == 0:
                return
            target_ms = math.ceil((self._clock() + seconds) * 1000)
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key=self._key,
                    UpdateExpression="SET #next = :target",
                    ConditionExpression="attribute_not_exists(#next) OR #next < :target",
                    ExpressionAttributeNames={"#next": NEXT_SLOT},
                    ExpressionAttributeValues={":target": {"N": str(target_ms)}},
                )
                self._shared_next_ms, self._shared_known = target_ms, True
            except ClientError as error:
                if not is_conditional_check_failure(error):
                    raise
                self._shared_known = False
            logger.info("holding off Airtable requests", base_id=self._base_id, seconds=seconds)

    def _reserve_window(self, now_ms: int) -> int:
        """Move the shared `next_slot_ms` past a new window; return the window's first slot."""
        for _ in range(self._max_attempts):
            if not self._shared_known:
                self._read_shared()
            expected = self._shared_next_ms
            start_ms = max(now_ms, expected or 0)
            end_ms = start_ms + self._batch_size * self._interval_ms
            values: dict[str, AttributeValueTypeDef] = {":end": {"N": str(end_ms)}}
            if expected is None:
                condition = "attribute_not_exists(#next)"
            else:
                condition = "#next = :expected"
                values[":expected"] = {"N": str(expected)}
            try:
                self._client.update_item(
                    TableName=self._table_name,
                    Key=self._key,
                    UpdateExpression="SET #next = :end",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#next": NEXT_SLOT},
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as error:
                if not is_conditional_check_failure(error):
                    raise
                self._learn_from_conflict(error)
                now_ms = self._now_ms()
                continue
            self._shared_next_ms, self._shared_known = end_ms, True
            self._window_last_ms = end_ms - self._interval_ms
            return start_ms
        raise RateSlotContentionError(
            f"rate slots of {self._base_id} changed under us {self._max_attempts} times in a row"
        )

    def _read_shared(self) -> None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key=self._key,
            ProjectionExpression="#next",
            ExpressionAttributeNames={"#next": NEXT_SLOT},
            ConsistentRead=True,
        )
        item = response.get("Item")
        self._shared_next_ms = int(item[NEXT_SLOT]["N"]) if item and NEXT_SLOT in item else None
        self._shared_known = True

    def _learn_from_conflict(self, error: ClientError) -> None:
        # DynamoDB and moto return the item that failed the condition; dynalite does not (re-read then).
        item = error.response.get("Item")
        if isinstance(item, dict) and NEXT_SLOT in item:
            self._shared_next_ms = int(item[NEXT_SLOT]["N"])
            self._shared_known = True
        else:
            self._shared_known = False

    def _now_ms(self) -> int:
        return math.ceil(self._clock() * 1000)
