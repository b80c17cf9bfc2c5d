"""Record items: conditional writes ordered by observation version, reads, index pages.

Every record write is a conditional PutItem, `attribute_not_exists(pk) OR version < :version`, so an
older observation never overwrites a newer one and a tombstone blocks late, older writes until its
TTL removes it. Airtable never reuses record ids, so a write *newer* than a tombstone means the
tombstone itself came from an older observation (a late webhook, a sweep racing a re-creation seen
elsewhere): it is replaced and the record is live again.
"""

import json
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from airtable_mirror.repository.attribute_values import (
    JsonValue,
    NotNativelyStorableError,
    canonical_json,
    map_from_attribute_values,
    map_to_attribute_values,
)
from airtable_mirror.repository.batch_get import BatchGetter
from airtable_mirror.repository.errors import CorruptItemError, InvalidCursorError
from airtable_mirror.repository.item_size import MAX_ITEM_BYTES, item_size
from airtable_mirror.repository.keys import (
    CHANGED_KEY,
    CREATED_KEY,
    INDEX_BY_CHANGED,
    INDEX_BY_CREATED,
    PARTITION_KEY,
    RECORD_SK,
    SORT_KEY,
    TABLE_KEY,
    check_identifier,
    index_sort_key,
    record_id_from_pk,
    record_pk,
    table_key,
)
from airtable_mirror.repository.models import (
    RecordObservation,
    RecordState,
    StoredRecord,
    WriteOutcome,
    check_version,
)
from airtable_mirror.repository.timestamps import iso_from_micros, iso_from_seconds, normalize_created_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

    from airtable_mirror.repository.direct_writes import DirectWriteClient

    type Item = dict[str, AttributeValueTypeDef]

logger = Logger(child=True)

RecordOrder = Literal["created", "changed"]
ORDER_INDEXES: dict[str, str] = {"created": INDEX_BY_CREATED, "changed": INDEX_BY_CHANGED}

COMPRESS_ABOVE_BYTES = 350_000
DEFAULT_TOMBSTONE_TTL_SECONDS = 14 * 24 * 3600
MAX_QUERY_PAGE_LIMIT = 1000

# Newer, and different content: `NOT #hash = :hash` holds for a tombstone too (it has no hash, and a
# comparison with a missing attribute is false). Precedence (NOT, then AND, then OR) does the grouping:
# dynalite's expression parser backtracks over nested parentheses, which made the same condition
# written with them cost it about 2 ms of CPU a write instead of 0.1 ms (DynamoDB bills either alike).
_NEWER_CONTENT = "attribute_not_exists(#pk) OR #version < :version AND NOT #hash = :hash"
_SAME_CONTENT_OLDER = "#version < :version AND #hash = :hash"
_NEWER_VERSION = "attribute_not_exists(#pk) OR #version < :version"
_LIVE_RECORD_OLDER_THAN = (
    "attribute_exists(#pk) AND #version < :version AND #table = :table AND attribute_not_exists(#deleted)"
)


@dataclass(frozen=True)
class _PreparedWrite:
    observation: RecordObservation
    item: "Item | None"
    item_bytes: int
    compressed: bool


def is_conditional_check_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def put_if_absent(
    client: "DynamoDBClient", table_name: str, item: "Mapping[str, AttributeValueTypeDef]"
) -> bool:
    """PutItem unless an item with the same key exists; False when it does. One conditional write."""
    try:
        client.put_item(
            TableName=table_name,
            Item=item,
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
        )
        return True
    except ClientError as error:
        if not is_conditional_check_failure(error):
            raise
        return False


def _is_item_too_large(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and "size" in details.get("Message", "").lower()


class RecordRepository:
    """Records of every base in the mirror table. Thread-safe as long as the client is (boto3's is).

    `record_write_client`, when given, makes the record writes (PutItem, UpdateItem) instead of
    `client`. The repository builds every item and expression it writes, so that client may be one
    built with `Config(parameter_validation=False)`: botocore's check of a request walks the whole
    item, about a sixth of the client CPU a record write costs.
    """

    def __init__(
        self,
        client: "DynamoDBClient",
        table_name: str,
        *,
        clock: Callable[[], float] = time.time,
        compress_above_bytes: int = COMPRESS_ABOVE_BYTES,
        max_item_bytes: int = MAX_ITEM_BYTES,
        batch_getter: BatchGetter | None = None,
        record_write_client: "DynamoDBClient | DirectWriteClient | None" = None,
    ) -> None:
        self._client = client
        self._write_client = record_write_client or client
        self._table_name = table_name
        self._clock = clock
        self._compress_above_bytes = compress_above_bytes
        self._max_item_bytes = max_item_bytes
        self._batch_getter = batch_getter or BatchGetter(client, table_name)
        # Write threads kept from call to call (a sync writes a page at a time), by pool size.
        self._writer_pools: dict[int, ThreadPoolExecutor] = {}
        self._writer_pools_lock = threading.Lock()

    # Reads

    def get(
        self, base_id: str, record_id: str, *, include_deleted: bool = False, consistent_read: bool = False
    ) -> StoredRecord | None:
        """The record, or None if unknown. A tombstone is None unless `include_deleted` (then `deleted`)."""
        response = self._client.get_item(
            TableName=self._table_name,
            Key=_record_key(base_id, record_id),
            ConsistentRead=consistent_read,
        )
        item = response.get("Item")
        if item is None:
            return None
        record = _stored_record(item)
        if record.deleted and not include_deleted:
            return None
        return record

    def get_states(
        self, base_id: str, record_ids: Iterable[str], *, consistent_read: bool = False
    ) -> dict[str, RecordState]:
        """Hash, version and tombstone flag of each known record (unknown ids are absent).

        BatchGetItem by 100 keys, projected to four small attributes (less to transfer; DynamoDB
        still bills each item's full size: 0.5 RCU per started 4 KB eventually consistent, 1 RCU
        strongly consistent); an unknown id still costs the minimum read.
        """
        unique_ids = list(dict.fromkeys(record_ids))
        keys = [_record_key(base_id, record_id) for record_id in unique_ids]
        items = self._batch_getter.get(
            keys,
            projection="#rid, #hash, #version, #deleted",
            attribute_names={
                "#rid": "record_id",
                "#hash": "content_hash",
                "#version": "version",
                "#deleted": "deleted",
            },
            consistent_read=consistent_read,
        )
        states: dict[str, RecordState] = {}
        for item in items:
            record_id = _string(item, "record_id")
            states[record_id] = RecordState(
                record_id=record_id,
                version=_integer(item, "version"),
                deleted=_is_tombstone(item),
                content_hash=item["content_hash"]["S"] if "content_hash" in item else None,
            )
        return states

    # Writes

    def upsert(self, observation: RecordObservation) -> WriteOutcome:
        """Store the observation unless the stored item is as new or newer. Never raises for races or size.

        One conditional PutItem (WCU = item KB, rounded up, plus 1 WCU per index entry written).
        When the condition fails, one conditional UpdateItem tells `unchanged` (same content from an
        older observation: version and synced_at move forward) from `stale`.
        """
        return self._write(self._prepare(observation))

    def upsert_many(
        self, observations: Sequence[RecordObservation], *, max_workers: int = 8
    ) -> list[WriteOutcome]:
        """`upsert` for each observation, `max_workers` writes in flight; results in input order.

        Every observation is validated and serialised before the first write, so bad input raises
        without a partial batch; a write that fails raises once every other write of the call has
        ended. Concurrent calls with the same `max_workers` share its threads. The client's
        connection pool (botocore `max_pool_connections`, 10 by default) should be at least
        `max_workers`.
        """
        prepared = [self._prepare(observation) for observation in observations]
        if max_workers <= 1 or len(prepared) <= 1:
            return [self._write(write) for write in prepared]
        pool = self._writer_pool(max_workers)
        writes = [pool.submit(self._write, write) for write in prepared]
        wait(writes)
        return [write.result() for write in writes]

    def _writer_pool(self, max_workers: int) -> ThreadPoolExecutor:
        with self._writer_pools_lock:
            pool = self._writer_pools.get(max_workers)
            if pool is None:
                pool = ThreadPoolExecutor(max_workers, thread_name_prefix="record-writes")
                self._writer_pools[max_workers] = pool
            return pool

    def delete(
        self,
        base_id: str,
        table_id: str,
        record_id: str,
        version: int,
        *,
        tombstone_ttl_seconds: int = DEFAULT_TOMBSTONE_TTL_SECONDS,
    ) -> WriteOutcome:
        """Replace the record with a tombstone unless the stored item is as new or newer.

        An unknown record still gets its tombstone, so a late, older create cannot bring it back.
        One conditional PutItem (1 WCU for the tombstone, or the old item's size if larger, plus the
        index entries it removes).
        """
        check_identifier("table_id", table_id)
        check_version(version)
        tombstone = self._tombstone(base_id, table_id, record_id, version, tombstone_ttl_seconds)
        return self._conditional_tombstone(
            tombstone,
            record_id,
            version,
            condition=_NEWER_VERSION,
            names={"#pk": PARTITION_KEY, "#version": "version"},
            values={":version": {"N": str(version)}},
        )

    def sweep_delete(
        self,
        base_id: str,
        table_id: str,
        record_id: str,
        *,
        observed_before_version: int,
        tombstone_ttl_seconds: int = DEFAULT_TOMBSTONE_TTL_SECONDS,
    ) -> WriteOutcome:
        """Tombstone a live record of `table_id` that no observation since `observed_before_version` saw.

        The tombstone gets `observed_before_version` as its version: the full listing that missed the
        record ran after that moment, so anything observed later (a webhook creating or updating the
        record) still wins over the tombstone. Unknown ids, tombstones and records written after the
        run began come back `stale`. One conditional PutItem.
        """
        check_identifier("table_id", table_id)
        check_version(observed_before_version)
        tombstone = self._tombstone(
            base_id, table_id, record_id, observed_before_version, tombstone_ttl_seconds
        )
        return self._conditional_tombstone(
            tombstone,
            record_id,
            observed_before_version,
            condition=_LIVE_RECORD_OLDER_THAN,
            names={"#pk": PARTITION_KEY, "#version": "version", "#table": "table_id", "#deleted": "deleted"},
            values={":version": {"N": str(observed_before_version)}, ":table": {"S": table_id}},
        )

    # Index reads

    def iter_table_keys(self, base_id: str, table_id: str, page_size: int = 500) -> Iterator[tuple[str, int]]:
        """(record_id, version) of every live record of the table, oldest created first.

        Query on `by_created` (never Scan): reads only the small index entries, about 0.5 RCU per
        4 KB of them (roughly 50 entries), `page_size` entries per request.
        """
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        request: QueryInputTypeDef = {
            "TableName": self._table_name,
            "IndexName": INDEX_BY_CREATED,
            "KeyConditionExpression": "#tk = :tk",
            "ProjectionExpression": "#pk, #version",
            "ExpressionAttributeNames": {"#tk": TABLE_KEY, "#pk": PARTITION_KEY, "#version": "version"},
            "ExpressionAttributeValues": {":tk": {"S": table_key(base_id, table_id)}},
            "Limit": page_size,
        }
        while True:
            response = self._client.query(**request)
            for entry in response.get("Items", []):
                yield record_id_from_pk(base_id, _string(entry, PARTITION_KEY)), _integer(entry, "version")
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            request["ExclusiveStartKey"] = last_key

    def query_page(
        self,
        base_id: str,
        table_id: str,
        *,
        order: RecordOrder,
        descending: bool,
        limit: int,
        exclusive_start: "Mapping[str, AttributeValueTypeDef] | None" = None,
    ) -> "tuple[list[StoredRecord], dict[str, AttributeValueTypeDef] | None]":
        """One page of live records in created or changed order, and the key to continue from.

        A Query on the index for `limit` keys, then BatchGetItem of those items: the cost is
        proportional to the page, never to the table. A record deleted between the two reads is
        left out, so a page can hold fewer than `limit` records; only a None key means the end.
        """
        if order not in ORDER_INDEXES:
            raise ValueError(f"order must be 'created' or 'changed', got {order!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_QUERY_PAGE_LIMIT:
            raise ValueError(f"limit must be an int within 1..{MAX_QUERY_PAGE_LIMIT}, got {limit!r}")
        index_name = ORDER_INDEXES[order]
        partition = table_key(base_id, table_id)
        request: QueryInputTypeDef = {
            "TableName": self._table_name,
            "IndexName": index_name,
            "KeyConditionExpression": "#tk = :tk",
            "ProjectionExpression": "#pk, #sk",
            "ExpressionAttributeNames": {"#tk": TABLE_KEY, "#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": {":tk": {"S": partition}},
            "ScanIndexForward": not descending,
            "Limit": limit,
        }
        if exclusive_start is not None:
            request["ExclusiveStartKey"] = _checked_start_key(exclusive_start, index_name, partition)
        response = self._client.query(**request)
        keys: list[dict[str, AttributeValueTypeDef]] = [
            {PARTITION_KEY: {"S": _string(entry, PARTITION_KEY)}, SORT_KEY: {"S": _string(entry, SORT_KEY)}}
            for entry in response.get("Items", [])
        ]
        items_by_pk = {_string(item, PARTITION_KEY): item for item in self._batch_getter.get(keys)}
        records = []
        for key in keys:
            item = items_by_pk.get(key[PARTITION_KEY]["S"])
            if item is not None and not _is_tombstone(item):
                records.append(_stored_record(item))
        return records, response.get("LastEvaluatedKey")

    def count_table(self, base_id: str, table_id: str) -> int:
        """Live records of the table. O(table): Select=COUNT still reads every index entry
        (about 0.5 RCU per 4 KB of entries, one request per MB), so keep it off hot paths."""
        request: QueryInputTypeDef = {
            "TableName": self._table_name,
            "IndexName": INDEX_BY_CREATED,
            "KeyConditionExpression": "#tk = :tk",
            "ExpressionAttributeNames": {"#tk": TABLE_KEY},
            "ExpressionAttributeValues": {":tk": {"S": table_key(base_id, table_id)}},
            "Select": "COUNT",
        }
        total = 0
        while True:
            response = self._client.query(**request)
            total += response.get("Count", 0)
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return total
            request["ExclusiveStartKey"] = last_key

    # Internals

    def _prepare(self, observation: RecordObservation) -> _PreparedWrite:
        if not isinstance(observation, RecordObservation):
            raise TypeError(f"expected a RecordObservation, got {type(observation).__name__}")
        hash_hex = observation.content_hash  # also proves the cells are JSON
        changed_at = iso_from_micros(observation.version)
        base_item: Item = {
            PARTITION_KEY: {"S": record_pk(observation.base_id, observation.record_id)},
            SORT_KEY: {"S": RECORD_SK},
            "base_id": {"S": observation.base_id},
            "table_id": {"S": observation.table_id},
            "record_id": {"S": observation.record_id},
            "created_time": {"S": observation.created_time},
            "content_hash": {"S": hash_hex},
            "version": {"N": str(observation.version)},
            "changed_at": {"S": changed_at},
            "synced_at": {"S": iso_from_seconds(self._clock())},
            TABLE_KEY: {"S": table_key(observation.base_id, observation.table_id)},
            CREATED_KEY: {
                "S": index_sort_key(normalize_created_time(observation.created_time), observation.record_id)
            },
            CHANGED_KEY: {"S": index_sort_key(changed_at, observation.record_id)},
        }
        try:
            native_item: Item = {**base_item, "cells": {"M": map_to_attribute_values(observation.cells, 2)}}
        except NotNativelyStorableError as reason:
            logger.debug("cells stored as JSON", record_id=observation.record_id, reason=str(reason))
        else:
            native_bytes = item_size(native_item)
            if native_bytes <= self._compress_above_bytes:
                return _PreparedWrite(observation, native_item, native_bytes, compressed=False)
        packed = zlib.compress(canonical_json(observation.cells).encode("utf-8"), 6)
        packed_item: Item = {**base_item, "cells_z": {"B": packed}}
        packed_bytes = item_size(packed_item)
        if packed_bytes > self._max_item_bytes:
            return _PreparedWrite(observation, None, packed_bytes, compressed=True)
        return _PreparedWrite(observation, packed_item, packed_bytes, compressed=True)

    def _write(self, write: _PreparedWrite) -> WriteOutcome:
        observation = write.observation

        def outcome(status: Literal["written", "unchanged", "stale", "too_large"]) -> WriteOutcome:
            return WriteOutcome(
                record_id=observation.record_id,
                status=status,
                version=observation.version,
                item_bytes=write.item_bytes,
                compressed=write.compressed,
            )

        if write.item is None:
            logger.warning(
                "record too large for DynamoDB",
                base_id=observation.base_id,
                record_id=observation.record_id,
                item_bytes=write.item_bytes,
            )
            return outcome("too_large")
        names = {"#pk": PARTITION_KEY, "#version": "version", "#hash": "content_hash"}
        values: dict[str, AttributeValueTypeDef] = {
            ":version": {"N": str(observation.version)},
            ":hash": {"S": observation.content_hash},
        }
        try:
            self._write_client.put_item(
                TableName=self._table_name,
                Item=write.item,
                ConditionExpression=_NEWER_CONTENT,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return outcome("written")
        except ClientError as error:
            if _is_item_too_large(error):
                logger.warning(
                    "DynamoDB rejected the record as too large",
                    base_id=observation.base_id,
                    record_id=observation.record_id,
                    item_bytes=write.item_bytes,
                )
                return outcome("too_large")
            if not is_conditional_check_failure(error):
                raise
        try:
            self._write_client.update_item(
                TableName=self._table_name,
                Key=_record_key(observation.base_id, observation.record_id),
                UpdateExpression="SET #version = :version, #synced = :synced",
                ConditionExpression=_SAME_CONTENT_OLDER,
                ExpressionAttributeNames={
                    "#version": "version",
                    "#hash": "content_hash",
                    "#synced": "synced_at",
                },
                ExpressionAttributeValues={**values, ":synced": {"S": iso_from_seconds(self._clock())}},
            )
            return outcome("unchanged")
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
        logger.debug(
            "stale observation skipped", record_id=observation.record_id, version=observation.version
        )
        return outcome("stale")

    def _tombstone(
        self, base_id: str, table_id: str, record_id: str, version: int, ttl_seconds: int
    ) -> "Item":
        now = self._clock()
        return {
            PARTITION_KEY: {"S": record_pk(base_id, record_id)},
            SORT_KEY: {"S": RECORD_SK},
            "base_id": {"S": base_id},
            "table_id": {"S": table_id},
            "record_id": {"S": record_id},
            "deleted": {"BOOL": True},
            "version": {"N": str(version)},
            "changed_at": {"S": iso_from_micros(version)},
            "synced_at": {"S": iso_from_seconds(now)},
            "expires_at": {"N": str(int(now) + ttl_seconds)},
        }

    def _conditional_tombstone(
        self,
        tombstone: "Item",
        record_id: str,
        version: int,
        *,
        condition: str,
        names: dict[str, str],
        values: "dict[str, AttributeValueTypeDef]",
    ) -> WriteOutcome:
        try:
            self._write_client.put_item(
                TableName=self._table_name,
                Item=tombstone,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            status: Literal["written", "stale"] = "written"
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            status = "stale"
        return WriteOutcome(
            record_id=record_id, status=status, version=version, item_bytes=item_size(tombstone)
        )


def _record_key(base_id: str, record_id: str) -> "dict[str, AttributeValueTypeDef]":
    return {PARTITION_KEY: {"S": record_pk(base_id, record_id)}, SORT_KEY: {"S": RECORD_SK}}


def _checked_start_key(
    start: "Mapping[str, AttributeValueTypeDef]", index_name: str, partition: str
) -> "dict[str, AttributeValueTypeDef]":
    expected = {
        TABLE_KEY,
        CREATED_KEY if index_name == INDEX_BY_CREATED else CHANGED_KEY,
        PARTITION_KEY,
        SORT_KEY,
    }
    if not isinstance(start, Mapping) or set(start) != expected:
        raise InvalidCursorError(f"exclusive_start must hold exactly {sorted(expected)}")
    for name in expected:
        value = start[name]
        if not isinstance(value, Mapping) or set(value) != {"S"} or not isinstance(value["S"], str):
            raise InvalidCursorError(f"exclusive_start[{name!r}] must be a string attribute")
    if start[TABLE_KEY]["S"] != partition:
        raise InvalidCursorError("exclusive_start belongs to another table")
    return {name: {"S": start[name]["S"]} for name in expected}


def _is_tombstone(item: "Mapping[str, AttributeValueTypeDef]") -> bool:
    return item.get("deleted", {}).get("BOOL") is True


def _string(item: "Mapping[str, AttributeValueTypeDef]", name: str) -> str:
    try:
        return item[name]["S"]
    except KeyError as error:
        raise CorruptItemError(f"item lacks string attribute {name!r}") from error


def _integer(item: "Mapping[str, AttributeValueTypeDef]", name: str) -> int:
    try:
        return int(item[name]["N"])
    except (KeyError, ValueError) as error:
        raise CorruptItemError(f"item lacks integer attribute {name!r}") from error


def _stored_record(item: "Mapping[str, AttributeValueTypeDef]") -> StoredRecord:
    deleted = _is_tombstone(item)
    cells: dict[str, JsonValue] = {}
    if "cells" in item:
        cells = map_from_attribute_values(item["cells"]["M"])
    elif "cells_z" in item:
        unpacked = json.loads(zlib.decompress(item["cells_z"]["B"]).decode("utf-8"))
        if not isinstance(unpacked, dict):
            raise CorruptItemError(f"cells_z of {item.get(PARTITION_KEY)} is not a JSON object")
        cells = unpacked
    elif not deleted:
        raise CorruptItemError(f"record item {item.get(PARTITION_KEY)} has neither cells nor cells_z")
    return StoredRecord(
        base_id=_string(item, "base_id"),
        table_id=_string(item, "table_id"),
        record_id=_string(item, "record_id"),
        version=_integer(item, "version"),
        deleted=deleted,
        created_time=item["created_time"]["S"] if "created_time" in item else None,
        cells=cells,
        content_hash=item["content_hash"]["S"] if "content_hash" in item else None,
        changed_at=item["changed_at"]["S"] if "changed_at" in item else None,
        synced_at=item["synced_at"]["S"] if "synced_at" in item else None,
        expires_at=_integer(item, "expires_at") if "expires_at" in item else None,
    )
