"""BatchGetItem in chunks of 100 keys, retrying unprocessed keys with capped, jittered backoff."""

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from airtable_mirror.repository.errors import UnprocessedKeysError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, KeysAndAttributesTypeDef

    type Item = dict[str, AttributeValueTypeDef]
    type Key = Mapping[str, AttributeValueTypeDef]

BATCH_GET_MAX_KEYS = 100


class BatchGetter:
    def __init__(
        self,
        client: "DynamoDBClient",
        table_name: str,
        *,
        max_attempts: int = 8,
        base_delay_seconds: float = 0.05,
        max_delay_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._max_attempts = max_attempts
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds
        self._sleep = sleep
        self._jitter = jitter

    def get(
        self,
        keys: Sequence["Key"],
        *,
        projection: str | None = None,
        attribute_names: Mapping[str, str] | None = None,
        consistent_read: bool = False,
    ) -> list["Item"]:
        """Items for `keys` (no duplicates allowed), in no particular order; absent keys are skipped."""
        items: list[Item] = []
        for start in range(0, len(keys), BATCH_GET_MAX_KEYS):
            request: KeysAndAttributesTypeDef = {
                "Keys": list(keys[start : start + BATCH_GET_MAX_KEYS]),
                "ConsistentRead": consistent_read,
            }
            if projection is not None:
                request["ProjectionExpression"] = projection
            if attribute_names:
                request["ExpressionAttributeNames"] = dict(attribute_names)
            items.extend(self._get_chunk(request))
        return items

    def _get_chunk(self, request: "KeysAndAttributesTypeDef") -> list["Item"]:
        items: list[Item] = []
        pending = request
        for attempt in range(1, self._max_attempts + 1):
            response = self._client.batch_get_item(RequestItems={self._table_name: pending})
            items.extend(response.get("Responses", {}).get(self._table_name, []))
            unprocessed = response.get("UnprocessedKeys", {}).get(self._table_name)
            if not unprocessed or not unprocessed.get("Keys"):
                return items
            pending = {**request, "Keys": unprocessed["Keys"]}
            if attempt < self._max_attempts:
                ceiling = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
                self._sleep(self._jitter(0.0, ceiling))
        raise UnprocessedKeysError(remaining=len(pending["Keys"]), attempts=self._max_attempts)
