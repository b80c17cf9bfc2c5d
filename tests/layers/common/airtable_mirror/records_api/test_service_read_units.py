"""Read units of record pages, on dynalite (moto reports no consumed capacity)."""

from functools import partial

import pytest

from airtable_mirror.records_api.query import RecordQuery
from tests.layers.common.airtable_mirror.records_api.mirror_data import fill
from tests.support.dynamodb import DynamoTable
from tests.support.read_units import ReadUnitMeter


@pytest.mark.dynalite
def test_a_deep_page_costs_what_the_first_page_costs(dynalite_only_table: DynamoTable) -> None:
    mirror = fill(dynalite_only_table, 600, other_table_records=0)
    meter = ReadUnitMeter(dynalite_only_table.client)
    table = mirror.stored_table()
    cursor: str | None = None
    costs = []
    for _ in range(12):
        listing, units = meter.spent_on(
            partial(mirror.service.list_records, table, RecordQuery(limit=50, cursor=cursor))
        )
        assert len(listing.records) == 50
        costs.append(units)
        cursor = listing.next_cursor

    first, deepest = costs[0], costs[-1]
    assert first > 0
    assert abs(deepest - first) <= 0.1 * first, costs
    # A page of 10 costs about a fifth of a page of 50: the cost follows the page, not the table
    _, small = meter.spent_on(
        partial(mirror.service.list_records, table, RecordQuery(limit=10, cursor=cursor))
    )
    assert small < first / 3, (small, first)
