"""Sync runs, their per-page checkpoints, the active-run marker of a table and the base sync lock.

Items (docs/architecture.md):

| item | pk | sk |
|---|---|---|
| run | `B#{base}#RUN#{run}` | `RUN` |
| checkpoint | `B#{base}#RUN#{run}` | `PAGE#{n:06d}` |
| active-run marker | `B#{base}#ACTIVE#{table}` | `RUN` |
| base lock | `B#{base}#LOCK` | `SYNC` |
| run log entry | `B#{base}#RUNS`, and `B#{base}#RUNS#T#{table}` | `{created_at}#{run}` |

dynalite has no TransactWriteItems, so nothing here needs one: every step is a single conditional
write, ordered so that a crash between two steps leaves a state the next call repairs.
"""

import math
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from airtable_mirror.repository.batch_get import BatchGetter
from airtable_mirror.repository.errors import (
    CorruptItemError,
    InvalidCursorError,
    InvalidIdentifierError,
    RepositoryError,
)
from airtable_mirror.repository.item_size import WRITE_UNIT_BYTES, item_size
from airtable_mirror.repository.keys import (
    ACTIVE_RUN_SK,
    CHECKPOINT_SK_PREFIX,
    LOCK_SK,
    PARTITION_KEY,
    RUN_SK,
    SORT_KEY,
    TTL_ATTRIBUTE,
    active_run_pk,
    check_identifier,
    checkpoint_sk,
    lock_pk,
    page_number_from_sk,
    run_log_pk,
    run_log_sk,
    run_pk,
)
from airtable_mirror.repository.models import (
    ACTIVE_RUN_STATUSES,
    FINISHED_RUN_STATUSES,
    BaseLock,
    Checkpoint,
    CreateRunResult,
    RunFailure,
    RunStatus,
    SyncRun,
    check_version,
)
from airtable_mirror.repository.record_hashes import HASH_BYTES
from airtable_mirror.repository.records import is_conditional_check_failure, put_if_absent
from airtable_mirror.repository.timestamps import iso_from_seconds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

    type Item = dict[str, AttributeValueTypeDef]

logger = Logger(child=True)

DEFAULT_RETENTION_SECONDS = 30 * 24 * 3600
MAX_STORED_FAILURES = 100
MAX_FAILURE_REASON_CHARS = 500
MARKER_ATTEMPTS = 3
MAX_RUNS_PER_PAGE = 100

# A run log position is an entry's sort key: `{created_at}#{run_id}` (keys.run_log_sk).
_RUN_LOG_POSITION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z#[A-Za-z0-9_-]{1,128}")
# What a listing reads of each run: everything but the failure list, which can be tens of KB and
# belongs to the run's own page (a hundred of them would not fit in one HTTP API answer).
_LISTED_RUN_ATTRIBUTES = (
    "base_id",
    "table_id",
    "table_name",
    "run_id",
    "status",
    "version_at_start",
    "created_at",
    "started_at",
    "finished_at",
    "totals",
    "failures_total",
    "error",
)

# Checkpoint attribute names are one letter: with 100 hashes (800 bytes) the item must stay within
# one write unit (1 KB), and every name is paid for on every page.
_OFFSET = "o"
_COUNTS = "c"
_HASHES = "h"
_GENERATION = "g"


@dataclass(frozen=True)
class RunPage:
    runs: list[SyncRun]
    # The last listed entry's position when more runs follow: `after` for the next page.
    next_position: str | None


class SyncRunRepository:
    def __init__(
        self,
        client: "DynamoDBClient",
        table_name: str,
        *,
        clock: Callable[[], float] = time.time,
        retention_seconds: int = DEFAULT_RETENTION_SECONDS,
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock
        self._retention_seconds = retention_seconds
        self._batch_getter = BatchGetter(client, table_name)

    # Runs

    def create_run(
        self, base_id: str, table_id: str, table_name: str, run_id: str, version_at_start: int
    ) -> CreateRunResult:
        """Queue a run of the table, unless one is already queued or running (then return that one).

        1. PutItem the run (`queued`), condition attribute_not_exists: 1 WCU.
        2. PutItem the table's active-run marker, condition attribute_not_exists (or already ours):
           1 WCU. Two concurrent starts cannot both pass it.
        3. PutItem the run's entries in the base's and the table's run logs (1 WCU each), which
           `list_runs` queries. A crash just before leaves a run that is not listed, nothing worse.
        On conflict: GetItem the marker and the run it names (strongly consistent, 1 RCU each), then
        DeleteItem our queued run (1 WCU). A marker naming a finished or vanished run is taken over
        with a PutItem conditioned on the stale run id. Calling again with the same run id is safe.
        """
        check_identifier("table_id", table_id)
        check_version(version_at_start)
        if not isinstance(table_name, str) or not table_name:
            raise ValueError("table_name must be a non-empty string")
        run = SyncRun(
            base_id=base_id,
            table_id=table_id,
            table_name=table_name,
            run_id=run_id,
            status="queued",
            version_at_start=version_at_start,
            created_at=iso_from_seconds(self._clock()),
        )
        created_item = self._put_new_run(run)
        if not created_item:
            existing = self.get_run(base_id, run_id)
            if existing is None or existing.table_id != table_id or not existing.active:
                raise InvalidIdentifierError(f"run id {run_id!r} was already used")
            run = existing
        marker_key = _key(active_run_pk(base_id, table_id), ACTIVE_RUN_SK)
        marker: Item = {**marker_key, "run_id": {"S": run_id}, "created_at": {"S": run.created_at}}
        condition = "attribute_not_exists(#pk) OR #run = :run"
        expected_run_id = run_id
        for _ in range(MARKER_ATTEMPTS):
            try:
                self._client.put_item(
                    TableName=self._table_name,
                    Item=marker,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={
                        name: attribute
                        for name, attribute in (("#pk", PARTITION_KEY), ("#run", "run_id"))
                        if name in condition
                    },
                    ExpressionAttributeValues={":run": {"S": expected_run_id}},
                )
            except ClientError as error:
                if not is_conditional_check_failure(error):
                    raise
            else:
                self._log_run(run)
                return CreateRunResult(run=run, created=True)
            holder = self.find_active_run(base_id, table_id)
            if holder is not None:
                if created_item:
                    self._delete_queued_run(base_id, run_id)
                logger.info("sync run already active", table_id=table_id, active_run_id=holder.run_id)
                return CreateRunResult(run=holder, created=False)
            stale_run_id = self._marker_run_id(base_id, table_id)
            if stale_run_id is None:
                condition, expected_run_id = "attribute_not_exists(#pk) OR #run = :run", run_id
            else:
                logger.info("replacing stale active-run marker", table_id=table_id, stale_run_id=stale_run_id)
                condition, expected_run_id = "#run = :run", stale_run_id
        raise RepositoryError(f"active-run marker of {table_id} kept changing; try again")

    def get_run(self, base_id: str, run_id: str) -> SyncRun | None:
        """GetItem, strongly consistent (1 RCU for a run with few failures)."""
        response = self._client.get_item(
            TableName=self._table_name, Key=_key(run_pk(base_id, run_id), RUN_SK), ConsistentRead=True
        )
        item = response.get("Item")
        return None if item is None else _sync_run(item)

    def list_runs(
        self, base_id: str, *, table_id: str | None = None, limit: int = 20, after: str | None = None
    ) -> RunPage:
        """Runs newest first, of the base or of one table, without their failure lists.

        Query of the run log, newest first, Limit ``limit + 1`` (an entry is about 100 bytes: one
        read unit covers about 40), then one BatchGetItem of the ``limit`` runs, strongly consistent
        (about 1 RCU each). The cost follows the page, never the number of runs stored. ``after`` is
        a previous page's ``next_position``. A run whose item has already expired is left out.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RUNS_PER_PAGE:
            raise ValueError(f"limit must be an int within 1..{MAX_RUNS_PER_PAGE}, got {limit!r}")
        request: QueryInputTypeDef = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY},
            "ExpressionAttributeValues": {":pk": {"S": run_log_pk(base_id, table_id)}},
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if after is not None:
            if not isinstance(after, str) or _RUN_LOG_POSITION.fullmatch(after) is None:
                raise InvalidCursorError("the position is not one a run listing returned")
            request["ExclusiveStartKey"] = _key(run_log_pk(base_id, table_id), after)
        entries = self._client.query(**request).get("Items", [])
        listed, more = entries[:limit], len(entries) > limit
        run_ids = [entry["run_id"]["S"] for entry in listed]
        names = {f"#{index}": name for index, name in enumerate(_LISTED_RUN_ATTRIBUTES)}
        items = self._batch_getter.get(
            [_key(run_pk(base_id, run_id), RUN_SK) for run_id in run_ids],
            projection=", ".join(names),
            attribute_names=names,
            consistent_read=True,
        )
        runs_by_id = {run.run_id: run for run in map(_sync_run, items)}
        return RunPage(
            runs=[runs_by_id[run_id] for run_id in run_ids if run_id in runs_by_id],
            next_position=listed[-1][SORT_KEY]["S"] if more else None,
        )

    def find_active_run(self, base_id: str, table_id: str) -> SyncRun | None:
        """The queued or running run of the table: GetItem of the marker, then of the run (2 RCU)."""
        run_id = self._marker_run_id(base_id, table_id)
        if run_id is None:
            return None
        run = self.get_run(base_id, run_id)
        return run if run is not None and run.active else None

    def claim_slice(
        self, base_id: str, run_id: str, slice_number: int, owner: str, lease_seconds: float, now: float
    ) -> bool:
        """Let one invocation carry slice ``slice_number`` of the run. One conditional UpdateItem.

        SQS may deliver a message twice: a second invocation of a slice that another owner holds with
        a live lease, or of a slice the run has gone past, is refused. A slice whose owner crashed
        (lease expired) is taken over by the redelivered message.
        """
        now_ms, expires_ms = _lease_bounds(lease_seconds, now)
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=_key(run_pk(base_id, run_id), RUN_SK),
                UpdateExpression="SET #slice = :slice, #owner = :owner, #lease = :expires",
                ConditionExpression=(
                    "attribute_exists(#pk) AND (attribute_not_exists(#slice) OR #slice < :slice OR "
                    "(#slice = :slice AND (#owner = :owner OR #lease < :now)))"
                ),
                ExpressionAttributeNames={
                    "#pk": PARTITION_KEY,
                    "#slice": "slice_number",
                    "#owner": "slice_owner",
                    "#lease": "slice_lease_ms",
                },
                ExpressionAttributeValues={
                    ":slice": {"N": str(slice_number)},
                    ":owner": {"S": owner},
                    ":expires": {"N": str(expires_ms)},
                    ":now": {"N": str(now_ms)},
                },
            )
            return True
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            return False

    def mark_running(self, base_id: str, run_id: str) -> bool:
        """Queued (or already running) -> running; keeps the first `started_at`. One UpdateItem.

        False when the run is unknown or already finished.
        """
        now = iso_from_seconds(self._clock())
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=_key(run_pk(base_id, run_id), RUN_SK),
                UpdateExpression=(
                    "SET #status = :running, #started = if_not_exists(#started, :now), #updated = :now"
                ),
                ConditionExpression="attribute_exists(#pk) AND #status IN (:queued, :running)",
                ExpressionAttributeNames={
                    "#pk": PARTITION_KEY,
                    "#status": "status",
                    "#started": "started_at",
                    "#updated": "updated_at",
                },
                ExpressionAttributeValues={
                    ":running": {"S": "running"},
                    ":queued": {"S": "queued"},
                    ":now": {"S": now},
                },
            )
            return True
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            return False

    def finish_run(
        self,
        base_id: str,
        run_id: str,
        status: RunStatus,
        totals: Mapping[str, int],
        failures: Sequence[RunFailure] = (),
        error: str | None = None,
    ) -> bool:
        """Record the outcome of an active run and free its table for the next run.

        ``error`` says why a run failed as a whole (failures are per record).

        UpdateItem of the run (condition: still queued/running; WCU = run item KB, the failures list
        is capped at MAX_STORED_FAILURES entries so it stays a few KB), then DeleteItem of the marker
        if it still names this run (1 WCU). False when the run was unknown or already finished (then
        one more GetItem to clear a marker left by an interrupted earlier call).
        """
        if status not in FINISHED_RUN_STATUSES:
            raise ValueError(f"status must be one of {sorted(FINISHED_RUN_STATUSES)}, got {status!r}")
        stored_failures = [
            {
                "M": {
                    "record_id": {"S": failure.record_id},
                    "reason": {"S": failure.reason[:MAX_FAILURE_REASON_CHARS]},
                }
            }
            for failure in failures[:MAX_STORED_FAILURES]
        ]
        now = iso_from_seconds(self._clock())
        try:
            response = self._client.update_item(
                TableName=self._table_name,
                Key=_key(run_pk(base_id, run_id), RUN_SK),
                UpdateExpression=(
                    "SET #status = :status, #finished = :now, #updated = :now, #totals = :totals, "
                    "#failures = :failures, #failures_total = :failures_total, #error = :error"
                ),
                ConditionExpression="attribute_exists(#pk) AND #status IN (:queued, :running)",
                ExpressionAttributeNames={
                    "#pk": PARTITION_KEY,
                    "#status": "status",
                    "#finished": "finished_at",
                    "#updated": "updated_at",
                    "#totals": "totals",
                    "#failures": "failures",
                    "#failures_total": "failures_total",
                    "#error": "error",
                },
                ExpressionAttributeValues={
                    ":status": {"S": status},
                    ":now": {"S": now},
                    ":totals": {"M": _counts_attribute(totals, "totals")},
                    ":failures": {"L": stored_failures},
                    ":failures_total": {"N": str(len(failures))},
                    ":error": {"S": error[:MAX_FAILURE_REASON_CHARS]} if error else {"NULL": True},
                    ":queued": {"S": "queued"},
                    ":running": {"S": "running"},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as client_error:
            if not is_conditional_check_failure(client_error):
                raise
            # Already finished (a retried call, say): still make sure its marker is gone.
            run = self.get_run(base_id, run_id)
            if run is not None:
                self._release_marker(base_id, run.table_id, run_id)
            return False
        self._release_marker(base_id, response["Attributes"]["table_id"]["S"], run_id)
        return True

    # Checkpoints

    def save_checkpoint(self, base_id: str, run_id: str, checkpoint: Checkpoint) -> None:
        """One unconditional PutItem, 1 WCU with up to 100 hashes (ids and offset of Airtable's
        usual lengths). Saving the same page again replaces it (a resumed run repeats pages)."""
        if len(checkpoint.seen_id_hashes) % HASH_BYTES:
            raise ValueError(f"seen_id_hashes must be a multiple of {HASH_BYTES} bytes")
        generation = checkpoint.listing_generation
        if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
            raise ValueError(f"listing_generation must be a non-negative int, got {generation!r}")
        item: Item = {
            **_key(run_pk(base_id, run_id), checkpoint_sk(checkpoint.page_number)),
            _COUNTS: {"M": _counts_attribute(checkpoint.counts, "counts")},
            _HASHES: {"B": bytes(checkpoint.seen_id_hashes)},
            _GENERATION: {"N": str(generation)},
            TTL_ATTRIBUTE: {"N": str(int(self._clock()) + self._retention_seconds)},
        }
        if checkpoint.next_offset is not None:
            item[_OFFSET] = {"S": checkpoint.next_offset}
        size = item_size(item)
        if size > WRITE_UNIT_BYTES:
            logger.warning("checkpoint needs more than one write unit", run_id=run_id, item_bytes=size)
        self._client.put_item(TableName=self._table_name, Item=item)

    def latest_checkpoint(self, base_id: str, run_id: str) -> Checkpoint | None:
        """Query newest-first with Limit 1, strongly consistent: 1 RCU."""
        response = self._client.query(
            TableName=self._table_name,
            KeyConditionExpression="#pk = :pk AND begins_with(#sk, :page)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues={
                ":pk": {"S": run_pk(base_id, run_id)},
                ":page": {"S": CHECKPOINT_SK_PREFIX},
            },
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return _checkpoint(items[0]) if items else None

    def iter_seen_hashes(
        self, base_id: str, run_id: str, *, listing_generation: int | None = None
    ) -> Iterator[bytes]:
        """Packed hashes of every checkpoint of the run (optionally of one listing generation), in
        page order. Query, strongly consistent: about 1 RCU per 4 pages (1 KB each), 1 MB per request."""
        request: QueryInputTypeDef = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :page)",
            "ProjectionExpression": "#hashes, #generation",
            "ExpressionAttributeNames": {
                "#pk": PARTITION_KEY,
                "#sk": SORT_KEY,
                "#hashes": _HASHES,
                "#generation": _GENERATION,
            },
            "ExpressionAttributeValues": {
                ":pk": {"S": run_pk(base_id, run_id)},
                ":page": {"S": CHECKPOINT_SK_PREFIX},
            },
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**request)
            for item in response.get("Items", []):
                if listing_generation is None or int(item[_GENERATION]["N"]) == listing_generation:
                    yield item[_HASHES]["B"] if _HASHES in item else b""
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            request["ExclusiveStartKey"] = last_key

    # Base lock

    def acquire_base_lock(self, base_id: str, run_id: str, lease_seconds: float, now: float) -> bool:
        """Hold the base for `run_id` until now + lease. One conditional PutItem (1 WCU).

        Succeeds when the base is free, its lease has expired (a crashed worker), or `run_id` holds
        it already (a retried invocation of the same run).
        """
        check_identifier("run_id", run_id)
        now_ms, expires_ms = _lease_bounds(lease_seconds, now)
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item={
                    **_key(lock_pk(base_id), LOCK_SK),
                    "run_id": {"S": run_id},
                    "lease_expires_ms": {"N": str(expires_ms)},
                    "acquired_at": {"S": iso_from_seconds(now)},
                },
                ConditionExpression="attribute_not_exists(#pk) OR #lease < :now OR #run = :run",
                ExpressionAttributeNames={
                    "#pk": PARTITION_KEY,
                    "#lease": "lease_expires_ms",
                    "#run": "run_id",
                },
                ExpressionAttributeValues={":now": {"N": str(now_ms)}, ":run": {"S": run_id}},
            )
            return True
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            return False

    def renew_base_lock(self, base_id: str, run_id: str, lease_seconds: float, now: float) -> bool:
        """Extend the lease if `run_id` still holds the base. One conditional UpdateItem (1 WCU).

        A lease that expired but was not taken over can still be renewed: nobody else holds it.
        """
        _, expires_ms = _lease_bounds(lease_seconds, now)
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=_key(lock_pk(base_id), LOCK_SK),
                UpdateExpression="SET #lease = :expires",
                ConditionExpression="#run = :run",
                ExpressionAttributeNames={"#lease": "lease_expires_ms", "#run": "run_id"},
                ExpressionAttributeValues={":expires": {"N": str(expires_ms)}, ":run": {"S": run_id}},
            )
            return True
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            return False

    def release_base_lock(self, base_id: str, run_id: str) -> bool:
        """Free the base if `run_id` holds it. One conditional DeleteItem (1 WCU)."""
        try:
            self._client.delete_item(
                TableName=self._table_name,
                Key=_key(lock_pk(base_id), LOCK_SK),
                ConditionExpression="#run = :run",
                ExpressionAttributeNames={"#run": "run_id"},
                ExpressionAttributeValues={":run": {"S": run_id}},
            )
            return True
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            return False

    def get_base_lock(self, base_id: str) -> BaseLock | None:
        """Current holder (possibly with an expired lease). GetItem, strongly consistent (1 RCU)."""
        response = self._client.get_item(
            TableName=self._table_name, Key=_key(lock_pk(base_id), LOCK_SK), ConsistentRead=True
        )
        item = response.get("Item")
        if item is None:
            return None
        return BaseLock(
            base_id=base_id,
            run_id=item["run_id"]["S"],
            lease_expires_at=int(item["lease_expires_ms"]["N"]) / 1000,
        )

    # Internals

    def _put_new_run(self, run: SyncRun) -> bool:
        item: Item = {
            **_key(run_pk(run.base_id, run.run_id), RUN_SK),
            "base_id": {"S": run.base_id},
            "table_id": {"S": run.table_id},
            "table_name": {"S": run.table_name},
            "run_id": {"S": run.run_id},
            "status": {"S": run.status},
            "version_at_start": {"N": str(run.version_at_start)},
            "created_at": {"S": run.created_at},
            "updated_at": {"S": run.created_at},
            TTL_ATTRIBUTE: {"N": str(int(self._clock()) + self._retention_seconds)},
        }
        return put_if_absent(self._client, self._table_name, item)

    def _log_run(self, run: SyncRun) -> None:
        entry_sk = run_log_sk(run.created_at, run.run_id)
        for log_pk in (run_log_pk(run.base_id), run_log_pk(run.base_id, run.table_id)):
            # Unconditional: a retried start writes the same entries again.
            self._client.put_item(
                TableName=self._table_name,
                Item={
                    **_key(log_pk, entry_sk),
                    "run_id": {"S": run.run_id},
                    "table_id": {"S": run.table_id},
                    # Expires with the run (about when: a listing skips entries whose run has gone).
                    TTL_ATTRIBUTE: {"N": str(int(self._clock()) + self._retention_seconds)},
                },
            )

    def _delete_queued_run(self, base_id: str, run_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table_name,
                Key=_key(run_pk(base_id, run_id), RUN_SK),
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":queued": {"S": "queued"}},
            )
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise

    def _marker_run_id(self, base_id: str, table_id: str) -> str | None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key=_key(active_run_pk(base_id, table_id), ACTIVE_RUN_SK),
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else item["run_id"]["S"]

    def _release_marker(self, base_id: str, table_id: str, run_id: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table_name,
                Key=_key(active_run_pk(base_id, table_id), ACTIVE_RUN_SK),
                ConditionExpression="#run = :run",
                ExpressionAttributeNames={"#run": "run_id"},
                ExpressionAttributeValues={":run": {"S": run_id}},
            )
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise


def _key(pk: str, sk: str) -> "dict[str, AttributeValueTypeDef]":
    return {PARTITION_KEY: {"S": pk}, SORT_KEY: {"S": sk}}


def _lease_bounds(lease_seconds: float, now: float) -> tuple[int, int]:
    if not math.isfinite(lease_seconds) or lease_seconds <= 0:
        raise ValueError(f"lease_seconds must be positive, got {lease_seconds!r}")
    now_ms = math.floor(now * 1000)
    return now_ms, now_ms + math.ceil(lease_seconds * 1000)


def _counts_attribute(counts: Mapping[str, int], what: str) -> "dict[str, AttributeValueTypeDef]":
    converted: dict[str, AttributeValueTypeDef] = {}
    for name, value in counts.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"{what} keys must be non-empty strings, got {name!r}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{what}[{name!r}] must be a non-negative int, got {value!r}")
        converted[name] = {"N": str(value)}
    return converted


def _counts_from(attribute: "AttributeValueTypeDef | None") -> dict[str, int]:
    if attribute is None:
        return {}
    return {name: int(value["N"]) for name, value in attribute.get("M", {}).items()}


def _sync_run(item: "Mapping[str, AttributeValueTypeDef]") -> SyncRun:
    try:
        status = item["status"]["S"]
        if status not in ACTIVE_RUN_STATUSES | FINISHED_RUN_STATUSES:
            raise CorruptItemError(f"unknown run status {status!r}")
        return SyncRun(
            base_id=item["base_id"]["S"],
            table_id=item["table_id"]["S"],
            table_name=item["table_name"]["S"],
            run_id=item["run_id"]["S"],
            status=status,
            version_at_start=int(item["version_at_start"]["N"]),
            created_at=item["created_at"]["S"],
            started_at=item["started_at"]["S"] if "started_at" in item else None,
            finished_at=item["finished_at"]["S"] if "finished_at" in item else None,
            totals=_counts_from(item.get("totals")),
            failures=tuple(
                RunFailure(record_id=entry["M"]["record_id"]["S"], reason=entry["M"]["reason"]["S"])
                for entry in item.get("failures", {}).get("L", [])
            ),
            failures_total=int(item["failures_total"]["N"]) if "failures_total" in item else 0,
            error=item["error"].get("S") if "error" in item else None,
        )
    except KeyError as error:
        raise CorruptItemError(f"run item lacks {error}") from error


def _checkpoint(item: "Mapping[str, AttributeValueTypeDef]") -> Checkpoint:
    try:
        return Checkpoint(
            page_number=page_number_from_sk(item[SORT_KEY]["S"]),
            next_offset=item[_OFFSET]["S"] if _OFFSET in item else None,
            counts=_counts_from(item.get(_COUNTS)),
            seen_id_hashes=item[_HASHES]["B"] if _HASHES in item else b"",
            listing_generation=int(item[_GENERATION]["N"]),
        )
    except (KeyError, ValueError) as error:
        raise CorruptItemError(f"checkpoint item is malformed: {error}") from error
