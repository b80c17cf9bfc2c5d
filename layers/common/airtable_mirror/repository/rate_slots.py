"""Request pacing shared by every function and process that calls Airtable for one base.

Airtable allows 5 requests per second per base. The item `B#{base}#RATE` / `SLOTS` holds
`next_slot_ms`, the first moment (epoch milliseconds) nobody has reserved yet. A pacer reserves a
*window* of `batch_size` slots, `[start, start + batch_size * interval)`, with one conditional
UpdateItem that moves `next_slot_ms` from the value it read to the window's end; a conflict means
another pacer moved it first, so it re-reads and tries again.

Inside its window a pacer hands out moments at least one interval apart and never later than the
window's last slot. Windows never overlap, so any two requests, from any pacers, are at least one
interval apart. A request that comes late inside the window still fits (it keeps its distance from
the next window); one that would not fit starts a new window, and the rest of the old one is lost:
at most `batch_size - 1` slots, less than a second at the defaults.

interval = (1 + safety_margin) / requests_per_second, rounded up to a whole millisecond.

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

    @property
    def interval_seconds(self) -> float:
        return self._interval_ms / 1000

    def acquire(self) -> None:
        """Block until this caller may send one request."""
        while True:
            with self._lock:
                now_ms = self._now_ms()
                slot_ms = max(now_ms, self._window_next_ms or now_ms)
                if self._window_last_ms is None or slot_ms > self._window_last_ms:
                    slot_ms = self._reserve_window(now_ms)
                self._window_next_ms = slot_ms + self._interval_ms
                hold_offs_before = self._hold_offs
            wait_seconds = slot_ms / 1000 - self._clock()
            if wait_seconds > 0:
                self._sleep(wait_seconds)
            with self._lock:
                # A 429 seen by another thread of this process while we slept voids our slot.
                if self._hold_offs == hold_offs_before:
                    return

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
