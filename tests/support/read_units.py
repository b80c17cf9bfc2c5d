"""Read units consumed through a DynamoDB client, as the server reports them (dynalite or AWS)."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

READ_OPERATIONS = ("Query", "Scan", "GetItem", "BatchGetItem")


class ReadUnitMeter:
    """Asks every read for its ConsumedCapacity and adds it up; works on the client's event hooks,
    so the code under measurement needs no change. moto reports no capacity: use dynalite."""

    def __init__(self, client: "DynamoDBClient") -> None:
        self.total = 0.0
        self.calls = 0
        events = client.meta.events
        for operation in READ_OPERATIONS:
            events.register(f"provide-client-params.dynamodb.{operation}", self._ask)
            events.register(f"after-call.dynamodb.{operation}", self._add)

    @staticmethod
    def _ask(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def _add(self, parsed: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        capacity = parsed.get("ConsumedCapacity")
        entries = capacity if isinstance(capacity, list) else [capacity] if capacity else []
        self.total += sum(float(entry.get("CapacityUnits", 0)) for entry in entries)

    def spent_on[T](self, read: Callable[[], T]) -> tuple[T, float]:
        """What `read()` returns, and the read units it consumed."""
        before = self.total
        result = read()
        return result, self.total - before
