"""The mirrored tables' schemas (field ids, names, types) and the outcome of each table's last sync.

Records are stored by field id; the names the API shows come from here, so renaming a field in
Airtable changes this one item and no record. One item per table, all of a base's in one partition:

| item | pk | sk |
|---|---|---|
| table schema | `B#{base}#SCHEMA` | `T#{table}` |

Every write is conditional on ``version`` (microseconds of the observation): an older view of the
schema never replaces a newer one.
"""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from airtable_mirror.repository.keys import PARTITION_KEY, SORT_KEY, check_identifier
from airtable_mirror.repository.models import check_version
from airtable_mirror.repository.records import is_conditional_check_failure
from airtable_mirror.repository.timestamps import iso_from_seconds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    type Item = Mapping[str, AttributeValueTypeDef]

TABLE_SK_PREFIX = "T#"


def schema_pk(base_id: str) -> str:
    return f"B#{check_identifier('base_id', base_id)}#SCHEMA"


def table_sk(table_id: str) -> str:
    return f"{TABLE_SK_PREFIX}{check_identifier('table_id', table_id)}"


@dataclass(frozen=True)
class StoredField:
    id: str
    name: str
    type: str


@dataclass(frozen=True)
class LastSync:
    run_id: str
    status: str
    finished_at: str
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredTable:
    base_id: str
    table_id: str
    name: str
    primary_field_id: str
    fields: tuple[StoredField, ...]
    version: int
    last_sync: LastSync | None = None

    def field_names(self) -> dict[str, str]:
        """Field id → current name."""
        return {stored.id: stored.name for stored in self.fields}


class TableSchemaRepository:
    def __init__(
        self, client: "DynamoDBClient", table_name: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    def put_table(
        self,
        base_id: str,
        table_id: str,
        name: str,
        primary_field_id: str,
        fields: Sequence[StoredField],
        version: int,
    ) -> bool:
        """Store the table's schema unless a newer one is stored. One conditional UpdateItem.

        The last sync outcome is kept. False when the stored schema is as new or newer.
        """
        check_version(version)
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=self._key(base_id, table_id),
                UpdateExpression=(
                    "SET #name = :name, #primary = :primary, #fields = :fields, #version = :version, "
                    "#base = :base, #table = :table, #updated = :updated"
                ),
                ConditionExpression="attribute_not_exists(#version) OR #version < :version",
                ExpressionAttributeNames={
                    "#name": "name",
                    "#primary": "primary_field_id",
                    "#fields": "fields",
                    "#version": "version",
                    "#base": "base_id",
                    "#table": "table_id",
                    "#updated": "updated_at",
                },
                ExpressionAttributeValues={
                    ":name": {"S": name},
                    ":primary": {"S": primary_field_id},
                    ":fields": {
                        "L": [
                            {"M": {"id": {"S": f.id}, "name": {"S": f.name}, "type": {"S": f.type}}}
                            for f in fields
                        ]
                    },
                    ":version": {"N": str(version)},
                    ":base": {"S": base_id},
                    ":table": {"S": table_id},
                    ":updated": {"S": iso_from_seconds(self._clock())},
                },
            )
            return True
        except ClientError as error:
            if not is_conditional_check_failure(error):
                raise
            return False

    def record_sync(self, base_id: str, table_id: str, last_sync: LastSync) -> None:
        """Remember the outcome of the table's latest finished sync run. One UpdateItem."""
        self._client.update_item(
            TableName=self._table_name,
            Key=self._key(base_id, table_id),
            UpdateExpression="SET #last = :last",
            ConditionExpression="attribute_exists(#pk)",
            ExpressionAttributeNames={"#last": "last_sync", "#pk": PARTITION_KEY},
            ExpressionAttributeValues={
                ":last": {
                    "M": {
                        "run_id": {"S": last_sync.run_id},
                        "status": {"S": last_sync.status},
                        "finished_at": {"S": last_sync.finished_at},
                        "counts": {"M": {k: {"N": str(int(v))} for k, v in last_sync.counts.items()}},
                    }
                }
            },
        )

    def get_table(self, base_id: str, table_id: str) -> StoredTable | None:
        response = self._client.get_item(TableName=self._table_name, Key=self._key(base_id, table_id))
        item = response.get("Item")
        return None if item is None else _stored_table(item)

    def list_tables(self, base_id: str) -> list[StoredTable]:
        """Every mirrored table of the base: one Query on one partition."""
        tables: list[StoredTable] = []
        start_key: dict[str, AttributeValueTypeDef] | None = None
        while True:
            kwargs: dict[str, object] = {}
            if start_key:
                kwargs["ExclusiveStartKey"] = start_key
            response = self._client.query(
                TableName=self._table_name,
                KeyConditionExpression="#pk = :pk AND begins_with(#sk, :prefix)",
                ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
                ExpressionAttributeValues={
                    ":pk": {"S": schema_pk(base_id)},
                    ":prefix": {"S": TABLE_SK_PREFIX},
                },
                **kwargs,  # type: ignore[arg-type]
            )
            tables.extend(_stored_table(item) for item in response.get("Items", []))
            start_key = response.get("LastEvaluatedKey")
            if not start_key:
                return tables

    def _key(self, base_id: str, table_id: str) -> "dict[str, AttributeValueTypeDef]":
        return {PARTITION_KEY: {"S": schema_pk(base_id)}, SORT_KEY: {"S": table_sk(table_id)}}


def _stored_table(item: "Item") -> StoredTable:
    last = item.get("last_sync", {}).get("M")
    return StoredTable(
        base_id=item["base_id"]["S"],
        table_id=item["table_id"]["S"],
        name=item["name"]["S"],
        primary_field_id=item["primary_field_id"]["S"],
        fields=tuple(
            StoredField(id=f["M"]["id"]["S"], name=f["M"]["name"]["S"], type=f["M"]["type"]["S"])
            for f in item.get("fields", {}).get("L", [])
        ),
        version=int(item["version"]["N"]),
        last_sync=None
        if last is None
        else LastSync(
            run_id=last["run_id"]["S"],
            status=last["status"]["S"],
            finished_at=last["finished_at"]["S"],
            counts={k: int(v["N"]) for k, v in last.get("counts", {}).get("M", {}).items()},
        ),
    )
