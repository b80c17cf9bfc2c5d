"""DynamoDB write units consumed through one boto3 client, split by the kind of item written.

Every write call (PutItem, UpdateItem, DeleteItem, BatchWriteItem) is asked for its consumed capacity
through the client's event hooks, as `tests.support.dynamodb.consumed_capacity` does, so the code
under measurement needs no change. Unlike that helper, this meter also looks at the keys written, so it
can tell record writes from a sync run's own bookkeeping (checkpoints, lock, rate slots, run items).

dynalite reports the units of the item write only: index writes (which DynamoDB bills too) and
writes refused by their condition (also billed) are not in its figures. Refused writes are counted
here by kind, so a reader can see whether any were made.
"""

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from airtable_mirror.repository.keys import CHECKPOINT_SK_PREFIX, PARTITION_KEY, RECORD_SK, SORT_KEY
from airtable_mirror.repository.table_schemas import TABLE_SK_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WRITE_OPERATIONS = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
RECORD_KIND = "record"
_KINDS_KEY = "bench_written_item_kinds"


def item_kind(pk: str, sk: str) -> str:
    """What an item of the mirror table is, from its key (docs/architecture.md, "DynamoDB single table")."""
    if sk == RECORD_SK and "#R#" in pk:
        return RECORD_KIND
    if sk.startswith(CHECKPOINT_SK_PREFIX):
        return "checkpoint"
    if pk.endswith("#RATE"):
        return "rate slots"
    if pk.endswith("#LOCK"):
        return "base lock"
    if "#ACTIVE#" in pk:
        return "active-run marker"
    if "#RUN#" in pk:
        return "sync run"
    if pk.endswith("#SCHEMA") and sk.startswith(TABLE_SK_PREFIX):
        return "table schema"
    return "other"


@dataclass(frozen=True)
class WriteUnits:
    """Write units reported by DynamoDB, successful write calls and refused write calls, by item kind."""

    units: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    refused_calls: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> float:
        return self.units.get(RECORD_KIND, 0.0)

    @property
    def bookkeeping(self) -> float:
        return sum(units for kind, units in self.units.items() if kind != RECORD_KIND)

    @property
    def record_calls(self) -> int:
        return self.calls.get(RECORD_KIND, 0)

    @property
    def refused(self) -> int:
        return sum(self.refused_calls.values())


class WriteUnitMeter:
    """Adds up the write units of every write made through `clients` while the meter is open.

    Thread-safe: the sync engine writes a page's records from a thread pool (and through a client of
    their own, hence several clients).
    """

    def __init__(self, *clients: "DynamoDBClient") -> None:
        if not clients:
            raise ValueError("a WriteUnitMeter needs at least one client")
        self._clients = clients
        self._lock = threading.Lock()
        self._units: defaultdict[str, float] = defaultdict(float)
        self._calls: Counter[str] = Counter()
        self._refused: Counter[str] = Counter()

    def __enter__(self) -> Self:
        for client in self._clients:
            for operation in WRITE_OPERATIONS:
                client.meta.events.register(
                    f"provide-client-params.dynamodb.{operation}", self._ask_for_capacity
                )
                client.meta.events.register(f"after-call.dynamodb.{operation}", self._record_capacity)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for client in self._clients:
            for operation in WRITE_OPERATIONS:
                client.meta.events.unregister(
                    f"provide-client-params.dynamodb.{operation}", self._ask_for_capacity
                )
                client.meta.events.unregister(f"after-call.dynamodb.{operation}", self._record_capacity)

    def take(self) -> WriteUnits:
        """The figures since the meter opened or since the last `take`, and start again from zero."""
        with self._lock:
            figures = WriteUnits(dict(self._units), dict(self._calls), dict(self._refused))
            self._units.clear()
            self._calls.clear()
            self._refused.clear()
        return figures

    def _ask_for_capacity(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"
        # The request context travels with the call to after-call, whichever thread makes it.
        context[_KINDS_KEY] = _written_kinds(str(model.name), params)

    def _record_capacity(
        self, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        kinds: list[str] = context.get(_KINDS_KEY) or ["other"]
        with self._lock:
            if getattr(http_response, "status_code", 200) >= 300 or "Error" in parsed:
                for kind in kinds:
                    self._refused[kind] += 1
                return
            units = _capacity_units(parsed.get("ConsumedCapacity"))
            for kind in kinds:
                # A batch's units are reported for the whole table: shared out evenly by item.
                self._units[kind] += units / len(kinds)
                self._calls[kind] += 1


def _written_kinds(operation: str, params: dict[str, Any]) -> list[str]:
    if operation == "PutItem":
        return [_kind_of_key(params.get("Item", {}))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [_kind_of_key(params.get("Key", {}))]
    kinds: list[str] = []
    for requests in params.get("RequestItems", {}).values():
        for request in requests:
            if "PutRequest" in request:
                kinds.append(_kind_of_key(request["PutRequest"].get("Item", {})))
            elif "DeleteRequest" in request:
                kinds.append(_kind_of_key(request["DeleteRequest"].get("Key", {})))
    return kinds


def _kind_of_key(item: dict[str, Any]) -> str:
    return item_kind(_plain_string(item.get(PARTITION_KEY)), _plain_string(item.get(SORT_KEY)))


def _plain_string(value: Any) -> str:
    # The low-level client gets {"S": "..."}; boto3's resource layer passes plain values at this point.
    if isinstance(value, dict):
        return str(value.get("S", ""))
    return "" if value is None else str(value)


def _capacity_units(capacity: Any) -> float:
    if isinstance(capacity, dict):
        return float(capacity.get("CapacityUnits", 0.0))
    if isinstance(capacity, list):
        return sum(float(entry.get("CapacityUnits", 0.0)) for entry in capacity if isinstance(entry, dict))
    return 0.0
