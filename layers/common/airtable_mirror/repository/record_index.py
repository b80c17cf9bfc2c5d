"""Positions in the record indexes (`by_created`, `by_changed`) for the records API.

`RecordRepository.query_page` reads a page from a position; this module finds positions without
reading any record item:

- `skip`: walk N index entries, keys only (an offset costs the entries it passes, about 0.5 RCU per
  4 KB of entries, never the items);
- `created_bound_start`: a position just before the first (or after the last) record created
  strictly after (or before) a moment, so a created-time range starts where it begins instead of
  being filtered from the start of the table.

A position is the index's ExclusiveStartKey: `table_key`, the index sort key, `pk` and `sk`. A
position made from a moment names no item: DynamoDB only compares it with the keys it passes.
Index sort keys are `{time}#{record id}`, so `{time}` sorts before every record of that time and
`{time}#~` after all of them (`~` sorts after every character of an id).
"""

from typing import TYPE_CHECKING, Literal

from airtable_mirror.repository.keys import (
    INDEX_BY_CHANGED,
    INDEX_BY_CREATED,
    INDEX_SORT_KEYS,
    PARTITION_KEY,
    SORT_KEY,
    TABLE_KEY,
    table_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

    type IndexKey = dict[str, AttributeValueTypeDef]

IndexOrder = Literal["created", "changed"]
INDEXES: dict[str, str] = {"created": INDEX_BY_CREATED, "changed": INDEX_BY_CHANGED}
MAX_SKIP = 10_000
# Below every record key (`B#…`) and every item sort key: a tie-breaker that names no item.
_NO_ITEM = " "
_AFTER_EVERY_ID = "~"


class RecordIndex:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def skip(
        self,
        base_id: str,
        table_id: str,
        *,
        order: IndexOrder,
        descending: bool,
        count: int,
        exclusive_start: "IndexKey | None" = None,
    ) -> "IndexKey | None":
        """The position after the first `count` live records in this order, or None past the end.

        Keys only: one Query per 1 MB of index entries (1,000 entries is about 150 KB).
        """
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SKIP:
            raise ValueError(f"count must be an int within 1..{MAX_SKIP}, got {count!r}")
        request: QueryInputTypeDef = {
            "TableName": self._table_name,
            "IndexName": _index_name(order),
            "KeyConditionExpression": "#tk = :tk",
            "ProjectionExpression": "#pk",
            "ExpressionAttributeNames": {"#tk": TABLE_KEY, "#pk": PARTITION_KEY},
            "ExpressionAttributeValues": {":tk": {"S": table_key(base_id, table_id)}},
            "ScanIndexForward": not descending,
        }
        if exclusive_start is not None:
            request["ExclusiveStartKey"] = exclusive_start
        remaining = count
        while True:
            request["Limit"] = remaining
            response = self._client.query(**request)
            remaining -= response.get("Count", 0)
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return None
            if remaining <= 0:
                return dict(last_key)
            request["ExclusiveStartKey"] = last_key

    @staticmethod
    def created_bound_start(
        base_id: str, table_id: str, *, moment: str, descending: bool
    ) -> "dict[str, AttributeValueTypeDef]":
        """Where a `by_created` Query starts to return only records created strictly after `moment`
        (ascending) or strictly before it (descending). `moment` is in Airtable's createdTime format
        (`2024-05-01T12:00:00.000Z`), the format of the index sort key."""
        sort_value = f"{moment}#{_AFTER_EVERY_ID}" if not descending else moment
        return {
            TABLE_KEY: {"S": table_key(base_id, table_id)},
            INDEX_SORT_KEYS[INDEX_BY_CREATED]: {"S": sort_value},
            PARTITION_KEY: {"S": _NO_ITEM},
            SORT_KEY: {"S": _NO_ITEM},
        }


def _index_name(order: str) -> str:
    try:
        return INDEXES[order]
    except KeyError:
        raise ValueError(f"order must be 'created' or 'changed', got {order!r}") from None
