"""Webhook state: cursors, leases, pings and health of the base's Airtable webhooks, and full-sync requests.

Items (docs/architecture.md), all of a base in one partition so that one Query lists them (a base has
at most ten webhooks):

| item | pk | sk |
|---|---|---|
| webhook | `B#{base}#HOOKS` | `HOOK#{webhook}` |
| MAC secret (local secret store only) | `B#{base}#HOOKS` | `SECRET#{webhook}` |
| full sync wanted for a table | `B#{base}#HOOKS` | `RESYNC#{table}` |

Every change is one conditional write:

- a drain **claims** the webhook (a lease: owner and expiry), so two workers do not fetch and apply the
  same payloads; the lease fences the cursor too;
- the **cursor** moves only from the value the drain read to the next one, and only while the drain
  holds the lease (`cursor = :old AND lease_owner = :me`), after the payloads were applied: a crash in
  between leaves the cursor behind and the payloads are applied again, harmlessly;
- a **ping** is recorded only if its timestamp is newer than the last one recorded (replays and
  duplicates are not);
- a **full-sync request** keeps the newest "after" version; it is cleared only if unchanged.

Knows nothing of Airtable's HTTP API: webhook ids, cursors and timestamps come in as plain values.
"""

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from airtable_mirror.repository.errors import CorruptItemError
from airtable_mirror.repository.keys import PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, check_identifier
from airtable_mirror.repository.models import check_version
from airtable_mirror.repository.records import is_conditional_check_failure, put_if_absent
from airtable_mirror.repository.timestamps import iso_from_seconds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

    type Item = Mapping[str, AttributeValueTypeDef]

HOOK_SK_PREFIX = "HOOK#"
MAC_SK_PREFIX = "SECRET#"
RESYNC_SK_PREFIX = "RESYNC#"
REPLACED_RETENTION_SECONDS = 14 * 24 * 3600

WebhookHealth = Literal["healthy", "unhealthy", "replaced"]


def hooks_pk(base_id: str) -> str:
    return f"B#{check_identifier('base_id', base_id)}#HOOKS"


def hook_sk(webhook_id: str) -> str:
    return f"{HOOK_SK_PREFIX}{check_identifier('webhook_id', webhook_id)}"


def secret_sk(webhook_id: str) -> str:
    return f"{MAC_SK_PREFIX}{check_identifier('webhook_id', webhook_id)}"


def resync_sk(table_id: str) -> str:
    return f"{RESYNC_SK_PREFIX}{check_identifier('table_id', table_id)}"


@dataclass(frozen=True)
class WebhookState:
    """What the mirror knows of one Airtable webhook.

    ``cursor`` is the number of the next payload to apply. ``table_ids`` is the webhook's scope (empty:
    every table of the base). ``last_ping_at`` is the timestamp Airtable put in the last ping accepted
    (``last_ping_version``: the same in microseconds), ``last_ping_received_at`` our clock's time of it.
    """

    base_id: str
    webhook_id: str
    cursor: int
    notification_url: str | None
    table_ids: tuple[str, ...]
    specification: Mapping[str, Any]
    created_at: str
    health: WebhookHealth = "healthy"
    health_reason: str | None = None
    expiration_time: str | None = None
    last_ping_at: str | None = None
    last_ping_version: int | None = None
    last_ping_received_at: str | None = None
    pings_accepted: int = 0
    last_drain_at: str | None = None
    payloads_applied: int = 0
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    repair_started_at: float | None = None
    replaced_by: str | None = None

    def covers(self, table_id: str) -> bool:
        return not self.table_ids or table_id in self.table_ids


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    BUSY = "busy"  # another drain holds an unexpired lease
    UNKNOWN = "unknown"  # no such webhook in the mirror


@dataclass(frozen=True)
class ClaimResult:
    status: ClaimStatus
    state: WebhookState | None = None


@dataclass(frozen=True)
class PendingFullSync:
    """A table that needs a full sync run started after ``after_version`` (microseconds) to succeed;
    ``run_id`` is the run started for it, once there is one."""

    table_id: str
    after_version: int
    run_id: str | None = None
    requested_at: str | None = None
    reason: str | None = None


@dataclass
class _Update:
    """An UpdateItem's expression under construction."""

    sets: list[str] = field(default_factory=list)
    removes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    values: "dict[str, AttributeValueTypeDef]" = field(default_factory=dict)

    def set(self, attribute: str, value: "AttributeValueTypeDef") -> "_Update":
        self.names[f"#{attribute}"] = attribute
        self.values[f":{attribute}"] = value
        self.sets.append(f"#{attribute} = :{attribute}")
        return self

    def add_number(self, attribute: str, amount: int) -> "_Update":
        self.names[f"#{attribute}"] = attribute
        self.values[f":{attribute}"] = {"N": str(amount)}
        self.values[":zero"] = {"N": "0"}
        self.sets.append(f"#{attribute} = if_not_exists(#{attribute}, :zero) + :{attribute}")
        return self

    def remove(self, *attributes: str) -> "_Update":
        for attribute in attributes:
            self.names[f"#{attribute}"] = attribute
            self.removes.append(f"#{attribute}")
        return self

    def expression(self) -> str:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.removes:
            parts.append("REMOVE " + ", ".join(self.removes))
        return " ".join(parts)


class WebhookRepository:
    """Webhook items of every base in the mirror table. Thread-safe as long as the client is."""

    def __init__(
        self, client: "DynamoDBClient", table_name: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    # --- webhooks ---------------------------------------------------------------------------

    def create(self, state: WebhookState) -> bool:
        """Store a newly registered webhook; False if one with this id is already stored."""
        item: dict[str, AttributeValueTypeDef] = {
            PARTITION_KEY: {"S": hooks_pk(state.base_id)},
            SORT_KEY: {"S": hook_sk(state.webhook_id)},
            "base_id": {"S": state.base_id},
            "webhook_id": {"S": state.webhook_id},
            "cursor": {"N": str(_positive_cursor(state.cursor))},
            "table_ids": {"L": [{"S": check_identifier("table_id", t)} for t in state.table_ids]},
            "specification": {"S": json.dumps(state.specification, sort_keys=True)},
            "created_at": {"S": state.created_at},
            "health": {"S": state.health},
            "pings_accepted": {"N": "0"},
            "payloads_applied": {"N": "0"},
        }
        if state.notification_url is not None:
            item["notification_url"] = {"S": state.notification_url}
        if state.expiration_time is not None:
            item["expiration_time"] = {"S": state.expiration_time}
        return put_if_absent(self._client, self._table_name, item)

    def get(self, base_id: str, webhook_id: str, *, consistent_read: bool = False) -> WebhookState | None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key=self._hook_key(base_id, webhook_id),
            ConsistentRead=consistent_read,
        )
        item = response.get("Item")
        return None if item is None else _webhook_state(item)

    def list_webhooks(self, base_id: str) -> list[WebhookState]:
        """Every webhook of the base the mirror knows, replaced ones included (one Query)."""
        return [_webhook_state(item) for item in self._query(base_id, HOOK_SK_PREFIX)]

    def delete(self, base_id: str, webhook_id: str) -> None:
        self._client.delete_item(TableName=self._table_name, Key=self._hook_key(base_id, webhook_id))

    # --- drains: lease and cursor -----------------------------------------------------------

    def claim(
        self, base_id: str, webhook_id: str, owner: str, *, now: float, lease_seconds: float
    ) -> ClaimResult:
        """Take the webhook's drain lease unless another owner holds an unexpired one."""
        check_identifier("owner", owner)
        update = (
            _Update().set("lease_owner", {"S": owner}).set("lease_expires_at", _seconds(now + lease_seconds))
        )
        update.names["#pk"] = PARTITION_KEY
        update.values[":now"] = _seconds(now)
        try:
            response = self._client.update_item(
                TableName=self._table_name,
                Key=self._hook_key(base_id, webhook_id),
                UpdateExpression=update.expression(),
                ConditionExpression=(
                    "attribute_exists(#pk) AND (attribute_not_exists(#lease_owner) "
                    "OR #lease_expires_at < :now OR #lease_owner = :lease_owner)"
                ),
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            existing = self.get(base_id, webhook_id, consistent_read=True)
            if existing is None:
                return ClaimResult(ClaimStatus.UNKNOWN)
            return ClaimResult(ClaimStatus.BUSY, existing)
        return ClaimResult(ClaimStatus.CLAIMED, _webhook_state(response["Attributes"]))

    def advance_cursor(
        self,
        base_id: str,
        webhook_id: str,
        *,
        owner: str,
        from_cursor: int,
        to_cursor: int,
        payloads_applied: int,
        release: bool,
        lease_until: float | None = None,
    ) -> bool:
        """Move the cursor from ``from_cursor`` to ``to_cursor`` if it still is at ``from_cursor`` and
        ``owner`` still holds the lease; ``release`` also gives the lease up, ``lease_until`` extends it.
        False: nothing changed."""
        if to_cursor < from_cursor:
            raise ValueError(f"the cursor only moves forward ({from_cursor} → {to_cursor})")
        update = (
            _Update()
            .set("cursor", {"N": str(_positive_cursor(to_cursor))})
            .set("last_drain_at", {"S": iso_from_seconds(self._clock())})
            .add_number("payloads_applied", payloads_applied)
        )
        if release:
            update.remove("lease_owner", "lease_expires_at")
        else:
            update.names["#lease_owner"] = "lease_owner"
            if lease_until is not None:
                update.set("lease_expires_at", _seconds(lease_until))
        update.values[":from"] = {"N": str(from_cursor)}
        update.values[":owner"] = {"S": owner}
        return self._conditional_update(
            base_id,
            webhook_id,
            update,
            "#cursor = :from AND #lease_owner = :owner",
        )

    def release(self, base_id: str, webhook_id: str, owner: str) -> bool:
        update = _Update().remove("lease_owner", "lease_expires_at")
        update.values[":owner"] = {"S": owner}
        return self._conditional_update(base_id, webhook_id, update, "#lease_owner = :owner")

    # --- pings ------------------------------------------------------------------------------

    def record_ping(self, base_id: str, webhook_id: str, *, ping_timestamp: str, ping_version: int) -> bool:
        """Remember an accepted ping; False if a ping as new or newer was already recorded."""
        check_version(ping_version)
        update = (
            _Update()
            .set("last_ping_at", {"S": ping_timestamp})
            .set("last_ping_version", {"N": str(ping_version)})
            .set("last_ping_received_at", {"S": iso_from_seconds(self._clock())})
            .add_number("pings_accepted", 1)
        )
        update.names["#pk"] = PARTITION_KEY
        return self._conditional_update(
            base_id,
            webhook_id,
            update,
            "attribute_exists(#pk) AND (attribute_not_exists(#last_ping_version) "
            "OR #last_ping_version < :last_ping_version)",
        )

    # --- health and lifecycle ---------------------------------------------------------------

    def mark_unhealthy(self, base_id: str, webhook_id: str, reason: str) -> bool:
        update = _Update().set("health", {"S": "unhealthy"}).set("health_reason", {"S": reason[:500]})
        return self._unless_replaced(base_id, webhook_id, update)

    def mark_healthy(self, base_id: str, webhook_id: str) -> bool:
        update = _Update().set("health", {"S": "healthy"}).remove("health_reason")
        return self._unless_replaced(base_id, webhook_id, update)

    def update_expiration(self, base_id: str, webhook_id: str, expiration_time: str | None) -> bool:
        update = _Update()
        if expiration_time is None:
            update.remove("expiration_time")
        else:
            update.set("expiration_time", {"S": expiration_time})
        return self._unless_replaced(base_id, webhook_id, update)

    def begin_repair(self, base_id: str, webhook_id: str, *, now: float, stale_after_seconds: float) -> bool:
        """Mark a repair as started; False if the webhook is replaced, unknown, or another repair
        started less than ``stale_after_seconds`` ago (so two repairers do not both recreate it)."""
        update = _Update().set("repair_started_at", _seconds(now))
        update.names.update({"#pk": PARTITION_KEY, "#health": "health"})
        update.values.update({":replaced": {"S": "replaced"}, ":stale": _seconds(now - stale_after_seconds)})
        return self._conditional_update(
            base_id,
            webhook_id,
            update,
            "attribute_exists(#pk) AND #health <> :replaced AND "
            "(attribute_not_exists(#repair_started_at) OR #repair_started_at < :stale)",
        )

    def mark_replaced(self, base_id: str, webhook_id: str, replaced_by: str, reason: str) -> bool:
        """The webhook was recreated as ``replaced_by``; the item stays (for GET /webhooks) until its TTL."""
        update = (
            _Update()
            .set("health", {"S": "replaced"})
            .set("health_reason", {"S": reason[:500]})
            .set("replaced_by", {"S": check_identifier("webhook_id", replaced_by)})
            .set(TTL_ATTRIBUTE, {"N": str(int(self._clock()) + REPLACED_RETENTION_SECONDS)})
            .remove("repair_started_at", "lease_owner", "lease_expires_at")
        )
        update.names["#pk"] = PARTITION_KEY
        return self._conditional_update(base_id, webhook_id, update, "attribute_exists(#pk)")

    # --- MAC secrets (the local secret store; AWS keeps them in Secrets Manager) ------------

    def put_secret(self, base_id: str, webhook_id: str, mac_secret_base64: str) -> None:
        self._client.put_item(
            TableName=self._table_name,
            Item={
                PARTITION_KEY: {"S": hooks_pk(base_id)},
                SORT_KEY: {"S": secret_sk(webhook_id)},
                "mac_secret_base64": {"S": mac_secret_base64},
            },
        )

    def get_secret(self, base_id: str, webhook_id: str) -> str | None:
        response = self._client.get_item(
            TableName=self._table_name,
            Key={PARTITION_KEY: {"S": hooks_pk(base_id)}, SORT_KEY: {"S": secret_sk(webhook_id)}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return None if item is None else _string(item, "mac_secret_base64")

    def delete_secret(self, base_id: str, webhook_id: str) -> None:
        self._client.delete_item(
            TableName=self._table_name,
            Key={PARTITION_KEY: {"S": hooks_pk(base_id)}, SORT_KEY: {"S": secret_sk(webhook_id)}},
        )

    # --- full-sync requests -----------------------------------------------------------------

    def request_full_sync(self, base_id: str, table_id: str, after_version: int, reason: str) -> bool:
        """Ask for a full sync of the table that starts after ``after_version``. A request for a later
        version replaces an earlier one (and forgets its run); an earlier one is absorbed (False)."""
        check_version(after_version)
        update = (
            _Update()
            .set("after_version", {"N": str(after_version)})
            .set("table_id", {"S": check_identifier("table_id", table_id)})
            .set("requested_at", {"S": iso_from_seconds(self._clock())})
            .set("reason", {"S": reason[:300]})
            .remove("run_id")
        )
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=self._resync_key(base_id, table_id),
                UpdateExpression=update.expression(),
                ConditionExpression="attribute_not_exists(#after_version) OR #after_version < :after_version",
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values,
            )
            return True
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            return False

    def pending_full_syncs(self, base_id: str) -> list[PendingFullSync]:
        pending = []
        for item in self._query(base_id, RESYNC_SK_PREFIX, consistent_read=True):
            pending.append(
                PendingFullSync(
                    table_id=_string(item, "table_id"),
                    after_version=_integer(item, "after_version"),
                    run_id=item["run_id"]["S"] if "run_id" in item else None,
                    requested_at=item["requested_at"]["S"] if "requested_at" in item else None,
                    reason=item["reason"]["S"] if "reason" in item else None,
                )
            )
        return pending

    def attach_full_sync_run(self, base_id: str, table_id: str, after_version: int, run_id: str) -> bool:
        update = _Update().set("run_id", {"S": check_identifier("run_id", run_id)})
        update.names["#after_version"] = "after_version"
        update.values[":after"] = {"N": str(after_version)}
        return self._conditional_update_key(
            self._resync_key(base_id, table_id), update, "#after_version = :after"
        )

    def clear_full_sync(self, base_id: str, table_id: str, after_version: int) -> bool:
        """Forget the request if it is still the one for ``after_version``."""
        try:
            self._client.delete_item(
                TableName=self._table_name,
                Key=self._resync_key(base_id, table_id),
                ConditionExpression="#after = :after",
                ExpressionAttributeNames={"#after": "after_version"},
                ExpressionAttributeValues={":after": {"N": str(after_version)}},
            )
            return True
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            return False

    # --- internals --------------------------------------------------------------------------

    def _hook_key(self, base_id: str, webhook_id: str) -> "dict[str, AttributeValueTypeDef]":
        return {PARTITION_KEY: {"S": hooks_pk(base_id)}, SORT_KEY: {"S": hook_sk(webhook_id)}}

    def _resync_key(self, base_id: str, table_id: str) -> "dict[str, AttributeValueTypeDef]":
        return {PARTITION_KEY: {"S": hooks_pk(base_id)}, SORT_KEY: {"S": resync_sk(table_id)}}

    def _unless_replaced(self, base_id: str, webhook_id: str, update: _Update) -> bool:
        update.names.update({"#pk": PARTITION_KEY, "#health": "health"})
        update.values[":replaced"] = {"S": "replaced"}
        return self._conditional_update(
            base_id, webhook_id, update, "attribute_exists(#pk) AND #health <> :replaced"
        )

    def _conditional_update(self, base_id: str, webhook_id: str, update: _Update, condition: str) -> bool:
        return self._conditional_update_key(self._hook_key(base_id, webhook_id), update, condition)

    def _conditional_update_key(
        self, key: "dict[str, AttributeValueTypeDef]", update: _Update, condition: str
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=key,
                UpdateExpression=update.expression(),
                ConditionExpression=condition,
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values,
            )
            return True
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            return False

    def _query(self, base_id: str, prefix: str, *, consistent_read: bool = False) -> "list[Item]":
        request: QueryInputTypeDef = {
            "TableName": self._table_name,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": {":pk": {"S": hooks_pk(base_id)}, ":prefix": {"S": prefix}},
            "ConsistentRead": consistent_read,
        }
        items: list[Item] = []
        while True:
            response = self._client.query(**request)
            items.extend(response.get("Items", []))
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return items
            request["ExclusiveStartKey"] = last_key


def _positive_cursor(cursor: int) -> int:
    if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 1:
        raise ValueError(f"a webhook cursor is an integer of at least 1, got {cursor!r}")
    return cursor


def _seconds(value: float) -> "AttributeValueTypeDef":
    return {"N": f"{value:.6f}"}


def _string(item: "Item", name: str) -> str:
    try:
        return item[name]["S"]
    except KeyError as error:
        raise CorruptItemError(f"webhook item lacks string attribute {name!r}") from error


def _integer(item: "Item", name: str) -> int:
    try:
        return int(item[name]["N"])
    except (KeyError, ValueError) as error:
        raise CorruptItemError(f"webhook item lacks integer attribute {name!r}") from error


def _optional_string(item: "Item", name: str) -> str | None:
    return item[name]["S"] if name in item else None


def _optional_float(item: "Item", name: str) -> float | None:
    return float(item[name]["N"]) if name in item else None


def _webhook_state(item: "Item") -> WebhookState:
    health = _string(item, "health")
    if health not in ("healthy", "unhealthy", "replaced"):
        raise CorruptItemError(f"webhook item has an unknown health {health!r}")
    try:
        specification = json.loads(_string(item, "specification"))
    except json.JSONDecodeError as error:
        raise CorruptItemError("webhook item's specification is not JSON") from error
    table_ids: Sequence[AttributeValueTypeDef] = item.get("table_ids", {}).get("L", [])
    return WebhookState(
        base_id=_string(item, "base_id"),
        webhook_id=_string(item, "webhook_id"),
        cursor=_integer(item, "cursor"),
        notification_url=_optional_string(item, "notification_url"),
        table_ids=tuple(value["S"] for value in table_ids),
        specification=specification,
        created_at=_string(item, "created_at"),
        health=health,  # type: ignore[arg-type]  # checked above
        health_reason=_optional_string(item, "health_reason"),
        expiration_time=_optional_string(item, "expiration_time"),
        last_ping_at=_optional_string(item, "last_ping_at"),
        last_ping_version=_integer(item, "last_ping_version") if "last_ping_version" in item else None,
        last_ping_received_at=_optional_string(item, "last_ping_received_at"),
        pings_accepted=_integer(item, "pings_accepted") if "pings_accepted" in item else 0,
        last_drain_at=_optional_string(item, "last_drain_at"),
        payloads_applied=_integer(item, "payloads_applied") if "payloads_applied" in item else 0,
        lease_owner=_optional_string(item, "lease_owner"),
        lease_expires_at=_optional_float(item, "lease_expires_at"),
        repair_started_at=_optional_float(item, "repair_started_at"),
        replaced_by=_optional_string(item, "replaced_by"),
    )
