"""Index positions: skipping entries (keys only) and starting a created-time range, on moto and dynalite."""

from typing import Any

import pytest

from airtable_mirror.repository import RecordOrder, RecordRepository
from airtable_mirror.repository.record_index import MAX_SKIP, RecordIndex
from tests.support.dynamodb import CallCountingClient, DynamoTable
from tests.support.records import BASE_ID, OTHER_TABLE_ID, TABLE_ID, created_time, observation, record_id


def fill(table: DynamoTable, count: int) -> RecordRepository:
    records = RecordRepository(table.client, table.name)
    # Created a minute apart; changed in the opposite order
    records.upsert_many(
        [observation(record_id(n), at=count - n, created_at=60 * n) for n in range(count)]
        + [observation(record_id(1000), table_id=OTHER_TABLE_ID)]
    )
    return records


def page_ids(
    records: RecordRepository, start: Any, *, order: RecordOrder = "created", descending: bool = False
) -> list[str]:
    page, _ = records.query_page(
        BASE_ID,
        TABLE_ID,
        order=order,
        descending=descending,
        limit=5,
        exclusive_start=start,
    )
    return [record.record_id for record in page]


SKIPS: list[tuple[RecordOrder, bool, int, int]] = [
    # order, descending, count, the first record after the skipped ones
    ("created", False, 3, 3),
    ("created", True, 3, 16),
    ("changed", False, 4, 15),
    ("changed", True, 4, 4),
    ("created", False, 1, 1),
]


def test_skip_lands_after_count_records_in_that_order(dynamodb_table: DynamoTable) -> None:
    records = fill(dynamodb_table, 20)
    index = RecordIndex(dynamodb_table.client, dynamodb_table.name)

    for order, descending, count, first_after in SKIPS:
        position = index.skip(BASE_ID, TABLE_ID, order=order, descending=descending, count=count)
        assert page_ids(records, position, order=order, descending=descending)[0] == record_id(first_after)


def test_skip_reads_keys_only_and_never_an_item(dynamodb_table: DynamoTable) -> None:
    fill(dynamodb_table, 30)
    counting = CallCountingClient(dynamodb_table.client)
    index = RecordIndex(counting, dynamodb_table.name)  # type: ignore[arg-type]

    index.skip(BASE_ID, TABLE_ID, order="created", descending=False, count=25)

    assert counting.calls == {"query": 1}


def test_skip_continues_from_a_position_and_returns_none_past_the_end(dynamodb_table: DynamoTable) -> None:
    records = fill(dynamodb_table, 10)
    index = RecordIndex(dynamodb_table.client, dynamodb_table.name)
    after_four = index.skip(BASE_ID, TABLE_ID, order="created", descending=False, count=4)

    after_seven = index.skip(
        BASE_ID, TABLE_ID, order="created", descending=False, count=3, exclusive_start=after_four
    )

    assert page_ids(records, after_seven)[0] == record_id(7)
    assert index.skip(BASE_ID, TABLE_ID, order="created", descending=False, count=11) is None


# Bad arguments are refused before any request: no table is needed
UNUSED_CLIENT: Any = None


@pytest.mark.parametrize("count", [0, -1, MAX_SKIP + 1, True, 2.0])
def test_skip_refuses_a_bad_count(count: object) -> None:
    index = RecordIndex(UNUSED_CLIENT, "mirror")
    with pytest.raises(ValueError, match="count"):
        index.skip(BASE_ID, TABLE_ID, order="created", descending=False, count=count)  # type: ignore[arg-type]


def test_an_unknown_order_is_refused() -> None:
    index = RecordIndex(UNUSED_CLIENT, "mirror")
    with pytest.raises(ValueError, match="order"):
        index.skip(BASE_ID, TABLE_ID, order="title", descending=False, count=1)  # type: ignore[arg-type]


def test_a_created_bound_starts_strictly_after_or_before_the_moment(dynamodb_table: DynamoTable) -> None:
    records = fill(dynamodb_table, 10)
    moment = created_time(60 * 4)  # record 4's created time exactly

    after = RecordIndex.created_bound_start(BASE_ID, TABLE_ID, moment=moment, descending=False)
    before = RecordIndex.created_bound_start(BASE_ID, TABLE_ID, moment=moment, descending=True)

    assert page_ids(records, after) == [record_id(n) for n in range(5, 10)]
    assert page_ids(records, before, descending=True) == [record_id(n) for n in (3, 2, 1, 0)]
