"""A mirrored table for the records query tests: a schema and records written through the repositories."""

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from airtable_mirror.records_api.cursor import CursorCodec
from airtable_mirror.records_api.service import NamedRecord, RecordsQueryService
from airtable_mirror.repository import JsonValue, RecordRepository
from airtable_mirror.repository.record_index import RecordIndex
from airtable_mirror.repository.table_schemas import LastSync, StoredField, StoredTable, TableSchemaRepository
from tests.support.dynamodb import (
    TEST_REGION,
    DynamoTable,
    create_mirror_table,
    dynamodb_client,
    unique_table_name,
)
from tests.support.records import (
    BASE_ID,
    OTHER_TABLE_ID,
    TABLE_ID,
    VERSION_ORIGIN,
    observation,
    record_id,
)

SIGNING_KEY = b"records-query-tests-signing-key!"
STATUSES = ("Todo", "Done", "Blocked")
FIELDS = (
    StoredField("fldTitle000000000", "Title", "singleLineText"),
    StoredField("fldStatus00000000", "Status", "singleSelect"),
    StoredField("fldDone0000000000", "Done", "checkbox"),
    StoredField("fldTags0000000000", "Tags", "multipleSelects"),
    StoredField("fldEstimate000000", "Estimate", "number"),
)


def cells(number: int) -> dict[str, JsonValue]:
    """Record `number`: status cycles Todo/Done/Blocked, Done is checked (present) only when Done."""
    values: dict[str, JsonValue] = {
        "fldTitle000000000": f"Task {number}",
        "fldStatus00000000": STATUSES[number % 3],
        "fldTags0000000000": ["a"] if number % 2 else ["a", "b"],
        "fldEstimate000000": number / 2,
    }
    if number % 3 == 1:
        values["fldDone0000000000"] = True
    return values


def created_seconds(number: int) -> int:
    return 60 * number


def changed_seconds(number: int, count: int) -> int:
    """A permutation of the records, so the changed order is not the created order."""
    return 1 + (number * 7) % count


@dataclass
class Mirror:
    table: DynamoTable
    records: RecordRepository
    schemas: TableSchemaRepository
    service: RecordsQueryService
    count: int

    def stored_table(self, table_id: str = TABLE_ID) -> StoredTable:
        stored = self.schemas.get_table(BASE_ID, table_id)
        assert stored is not None
        return stored

    def created_order(self) -> list[str]:
        return [record_id(n) for n in range(self.count)]

    def changed_order(self) -> list[str]:
        return sorted(self.created_order(), key=lambda rid: changed_seconds(int(rid[3:]), self.count))


def make_service(table: DynamoTable, *, key: bytes = SIGNING_KEY) -> RecordsQueryService:
    return RecordsQueryService(
        base_id=BASE_ID,
        records=RecordRepository(table.client, table.name),
        index=RecordIndex(table.client, table.name),
        schemas=TableSchemaRepository(table.client, table.name),
        cursors=CursorCodec(BASE_ID, lambda: key),
        aliases={"tasks": "Tasks", "other": OTHER_TABLE_ID},
    )


def fill(table: DynamoTable, count: int, *, other_table_records: int = 5) -> Mirror:
    records = RecordRepository(table.client, table.name)
    schemas = TableSchemaRepository(table.client, table.name)
    schemas.put_table(BASE_ID, TABLE_ID, "Tasks", FIELDS[0].id, FIELDS, version=VERSION_ORIGIN)
    schemas.put_table(BASE_ID, OTHER_TABLE_ID, "Other", FIELDS[0].id, FIELDS[:1], version=VERSION_ORIGIN)
    records.upsert_many(
        [
            observation(record_id(n), cells(n), at=changed_seconds(n, count), created_at=created_seconds(n))
            for n in range(count)
        ]
        + [
            observation(record_id(10_000 + n), {"fldTitle000000000": "x"}, table_id=OTHER_TABLE_ID)
            for n in range(other_table_records)
        ],
        max_workers=8,
    )
    return Mirror(table, records, schemas, make_service(table), count)


def record_sync(mirror: Mirror, status: str, counts: dict[str, int], table_id: str = TABLE_ID) -> None:
    mirror.schemas.record_sync(
        BASE_ID,
        table_id,
        LastSync(run_id="run_1", status=status, finished_at="2024-05-01T12:00:00Z", counts=counts),
    )


FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": TEST_REGION,
    "AWS_REGION": TEST_REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextlib.contextmanager
def moto_session() -> Iterator[None]:
    """moto for a whole test module: starting it (and creating tables from the template) per test
    would cost more than the tests themselves."""
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
            patch.delenv(name, raising=False)
        for name, value in FAKE_AWS_ENVIRONMENT.items():
            patch.setenv(name, value)
        with mock_aws():
            yield


def moto_mirror(count: int) -> Mirror:
    """A new table in the running moto session, filled with `count` records."""
    client = dynamodb_client()
    name = unique_table_name()
    create_mirror_table(client, name)
    return fill(DynamoTable(client=client, name=name, backend="moto"), count)


def ids(records: Sequence[NamedRecord]) -> list[str]:
    return [record.record_id for record in records]
