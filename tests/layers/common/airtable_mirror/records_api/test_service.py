"""The records query service on moto (and dynalite for read units): pages, cursors, filters, ranges,
skip, names from the schema, tables, and every refusal."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airtable_mirror.records_api.errors import InvalidQueryError, RecordNotFoundError, TableNotFoundError
from airtable_mirror.records_api.query import EXAMINE_FACTOR, MAX_SKIP, RecordQuery, SortBy, SortOrder
from airtable_mirror.records_api.service import MAX_ROUNDS, RecordListing, RecordsQueryService
from airtable_mirror.repository.table_schemas import StoredField
from tests.layers.common.airtable_mirror.records_api.mirror_data import (
    FIELDS,
    Mirror,
    cells,
    ids,
    make_service,
    moto_mirror,
    moto_session,
    record_sync,
)
from tests.support.dynamodb import CallCountingClient, DynamoTable
from tests.support.records import (
    BASE_ID,
    OTHER_TABLE_ID,
    TABLE_ID,
    VERSION_ORIGIN,
    observation,
    record_id,
    version,
)

# Record n was created 60 n seconds after this
CREATED_ORIGIN = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module", autouse=True)
def moto() -> Iterator[None]:
    with moto_session():
        yield


@pytest.fixture(scope="module")
def shared() -> Mirror:
    """30 records that the read-only tests share."""
    return moto_mirror(30)


@pytest.fixture
def mirror() -> Mirror:
    """30 records of this test's own, to change."""
    return moto_mirror(30)


def walk(
    mirror: Mirror, query: RecordQuery, *, table_id: str = TABLE_ID
) -> tuple[list[str], list[RecordListing]]:
    """Every page from the first, following next_cursor."""
    table = mirror.stored_table(table_id)
    pages: list[RecordListing] = []
    cursor: str | None = None
    while True:
        pages.append(mirror.service.list_records(table, query._replace(cursor=cursor)))
        cursor = pages[-1].next_cursor
        if cursor is None:
            return [rid for page in pages for rid in ids(page.records)], pages
        assert len(pages) < 500, "the listing does not end"


def page(mirror: Mirror, *, service: RecordsQueryService | None = None, **query: Any) -> RecordListing:
    return (service or mirror.service).list_records(mirror.stored_table(), RecordQuery(**query))


# Pages and cursors


def test_cursors_walk_every_record_once_in_each_order_and_direction() -> None:
    mirror = moto_mirror(120)
    for sort_by, expected in (
        ("created_at", mirror.created_order()),
        ("changed_at", mirror.changed_order()),
    ):
        for sort_order in ("asc", "desc"):
            query = RecordQuery(limit=23, sort_by=sort_by, sort_order=sort_order)  # type: ignore[arg-type]
            walked, pages = walk(mirror, query)

            assert walked == (expected if sort_order == "asc" else expected[::-1]), (sort_by, sort_order)
            assert [len(p.records) for p in pages[:-1]] == [23] * 5
            assert all(p.examined <= 23 for p in pages)


def test_a_page_holds_names_not_field_ids_and_the_mirror_metadata(shared: Mirror) -> None:
    first = page(shared, limit=2).records[0]

    assert first.record_id == record_id(0)
    assert (first.table_id, first.table_name) == (TABLE_ID, "Tasks")
    assert first.fields == {"Title": "Task 0", "Status": "Todo", "Tags": ["a", "b"], "Estimate": 0}
    assert first.created_time == "2024-01-01T00:00:00.000Z"
    assert first.version == version(1)
    assert first.changed_at == "2024-05-01T12:00:01.000000Z"
    assert first.synced_at is not None


def test_the_last_full_page_may_point_at_an_empty_one(shared: Mirror) -> None:
    walked, pages = walk(shared, RecordQuery(limit=10))
    assert walked == shared.created_order()
    # DynamoDB cannot tell that a full page was the last: the page after it is empty (or absent)
    assert [len(p.records) for p in pages] in ([10, 10, 10], [10, 10, 10, 0])


def test_a_cursor_is_refused_with_another_table_order_direction_or_filter(shared: Mirror) -> None:
    cursor = page(shared, limit=5, sort_by="created_at", sort_order="asc").next_cursor
    assert cursor is not None
    tasks, other = shared.stored_table(), shared.stored_table(OTHER_TABLE_ID)
    refusals = [
        (other, RecordQuery(limit=5, cursor=cursor), "another table"),
        (tasks, RecordQuery(limit=5, cursor=cursor, sort_by="changed_at"), "sort_by"),
        (tasks, RecordQuery(limit=5, cursor=cursor, sort_order="desc"), "sort_order"),
        (tasks, RecordQuery(limit=5, cursor=cursor, filters={"Status": "Done"}), "filters"),
        (tasks, RecordQuery(limit=5, cursor=cursor, created_after=CREATED_ORIGIN), "created-time range"),
    ]
    for table, query, reason in refusals:
        with pytest.raises(InvalidQueryError, match=reason) as raised:
            shared.service.list_records(table, query)
        assert raised.value.parameter == "cursor"
    # The same cursor with another limit is fine: the page size may change from page to page
    assert ids(page(shared, limit=3, cursor=cursor).records) == [record_id(n) for n in (5, 6, 7)]


def test_a_cursor_signed_with_another_key_is_refused(shared: Mirror) -> None:
    cursor = page(shared, limit=5).next_cursor
    assert cursor is not None
    elsewhere = make_service(shared.table, key=b"another deployment's signing key")

    with pytest.raises(InvalidQueryError, match="altered, truncated or issued elsewhere"):
        elsewhere.list_records(shared.stored_table(), RecordQuery(limit=5, cursor=cursor))


# skip


def test_skip_passes_over_records_in_the_page_order(shared: Mirror) -> None:
    assert ids(page(shared, limit=3, skip=10).records) == [record_id(n) for n in (10, 11, 12)]
    assert ids(page(shared, limit=3, skip=10, sort_order="desc").records) == [
        record_id(n) for n in (19, 18, 17)
    ]
    skipped = page(shared, limit=3, skip=27)
    assert ids(skipped.records) == [record_id(n) for n in (27, 28, 29)]
    # The cursor after a skipped page goes on from there
    assert skipped.next_cursor is None or page(shared, limit=3, cursor=skipped.next_cursor).records == []
    past_the_end = page(shared, limit=3, skip=30)
    assert (past_the_end.records, past_the_end.next_cursor) == ([], None)


def test_skip_reads_index_keys_only_for_the_records_it_passes(shared: Mirror) -> None:
    counting = CallCountingClient(shared.table.client)
    page(shared, service=replace_client(shared, counting), limit=3, skip=20)

    # One keys-only Query for the skip, one Query and one BatchGetItem for the page
    assert counting.calls == {"query": 2, "batch_get_item": 1}


# Filters


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"Status": "Done"}, [n for n in range(30) if n % 3 == 1]),
        ({"Done": "false"}, [n for n in range(30) if n % 3 != 1]),
        ({"Done": "true", "Tags": "b"}, [n for n in range(30) if n % 3 == 1 and n % 2 == 0]),
        ({"Estimate": "7.5"}, [15]),
        ({"Estimate": "7.50"}, [15]),
        ({"Title": "Task 7"}, [7]),
        ({"Title": "nobody"}, []),
    ],
)
def test_filters_find_every_match_page_by_page(
    shared: Mirror, filters: dict[str, str], expected: list[int]
) -> None:
    walked, pages = walk(shared, RecordQuery(limit=4, filters=filters))

    assert walked == [record_id(n) for n in expected]
    for listing in pages:
        assert len(listing.records) <= 4
        assert listing.examined <= 4 * EXAMINE_FACTOR
        for record in listing.records:
            for name, value in filters.items():
                if name in ("Status", "Title"):
                    assert record.fields[name] == value


def test_a_filtered_page_examines_a_bounded_number_of_records_and_says_where_to_go_on() -> None:
    mirror = moto_mirror(120)
    first = page(mirror, limit=5, filters={"Title": "Task 110"})

    # 5 x 5 records examined, no match, but the listing goes on
    assert (first.records, first.examined) == ([], 5 * EXAMINE_FACTOR)
    assert first.next_cursor is not None
    walked, pages = walk(mirror, RecordQuery(limit=5, filters={"Title": "Task 110"}))
    assert walked == [record_id(110)]
    assert len(pages) in (5, 6)


def test_a_filtered_read_takes_a_bounded_number_of_rounds(shared: Mirror) -> None:
    counting = CallCountingClient(shared.table.client)
    # Nearly every record matches: each round asks only for what the page still needs
    listing = page(shared, service=replace_client(shared, counting), limit=20, filters={"Tags": "a"})

    assert len(listing.records) == 20
    assert counting.calls["query"] <= MAX_ROUNDS


def test_a_filter_on_an_unknown_field_names_it(shared: Mirror) -> None:
    with pytest.raises(InvalidQueryError, match="Tasks has no field named 'Owner'") as raised:
        page(shared, filters={"Owner": "Ada"})
    assert raised.value.parameter == "filter[Owner]"


# Created-time ranges


def created(n: float) -> datetime:
    return CREATED_ORIGIN + timedelta(seconds=60 * n)


@pytest.mark.parametrize("sort_by", ["created_at", "changed_at"])
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_a_created_range_is_strict_at_both_ends(
    shared: Mirror, sort_by: SortBy, sort_order: SortOrder
) -> None:
    walked, _ = walk(
        shared,
        RecordQuery(
            limit=4,
            sort_by=sort_by,
            sort_order=sort_order,
            created_after=created(5),
            created_before=created(12),
        ),
    )
    expected = [
        rid
        for rid in (shared.created_order() if sort_by == "created_at" else shared.changed_order())
        if 5 < int(rid[3:]) < 12
    ]
    assert walked == (expected if sort_order == "asc" else expected[::-1])


def test_a_created_range_narrows_the_index_read_instead_of_filtering(shared: Mirror) -> None:
    counting = CallCountingClient(shared.table.client)
    service = replace_client(shared, counting)

    listing = page(shared, service=service, limit=3, created_after=created(20), created_before=created(22.5))

    assert ids(listing.records) == [record_id(21), record_id(22)]
    assert listing.next_cursor is None
    assert counting.calls == {"query": 1, "batch_get_item": 1}


def test_created_bounds_round_outward_to_the_millisecond(shared: Mirror) -> None:
    just_after_3 = created(3) + timedelta(microseconds=400)
    just_before_4 = created(4) - timedelta(microseconds=400)

    assert ids(page(shared, created_after=just_after_3, created_before=created(5)).records) == [record_id(4)]
    assert ids(page(shared, created_after=created(2), created_before=just_before_4).records) == [record_id(3)]
    # Another zone, the same moments
    paris = created(3).astimezone(datetime.now().astimezone().tzinfo)
    assert ids(page(shared, created_after=paris, created_before=created(5)).records) == [record_id(4)]


def test_extreme_created_bounds_are_served(shared: Mirror) -> None:
    earliest = datetime(1, 1, 1, tzinfo=UTC)
    latest = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert len(page(shared, created_after=earliest, created_before=latest).records) == 30
    assert page(shared, created_after=latest).records == []
    assert page(shared, created_before=earliest, sort_order="desc").records == []


# Refusals


REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"sort_by": "title"}, "sort_by"),
    ({"sort_order": "up"}, "sort_order"),
    ({"skip": -1}, "skip"),
    ({"skip": MAX_SKIP + 1}, "skip"),
    ({"skip": 1, "filters": {"Status": "Done"}}, "skip"),
    ({"skip": 1, "created_after": CREATED_ORIGIN}, "skip"),
    ({"cursor": "garbage"}, "cursor"),
    ({"created_after": datetime(2024, 1, 1)}, "created_after"),  # no zone: the point of the case
]


@pytest.mark.parametrize(("query", "parameter"), REFUSED)
def test_bad_queries_are_refused_naming_the_parameter(
    shared: Mirror, query: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        page(shared, **query)
    assert raised.value.parameter == parameter


def test_skip_with_a_cursor_is_refused(shared: Mirror) -> None:
    cursor = page(shared, limit=5).next_cursor
    with pytest.raises(InvalidQueryError, match="cannot be combined with cursor"):
        page(shared, skip=2, cursor=cursor)


# Names come from the schema


def test_a_renamed_field_shows_its_new_name_with_no_record_rewritten(mirror: Mirror) -> None:
    before = mirror.records.get(BASE_ID, record_id(4))
    renamed = tuple(StoredField(f.id, "State" if f.name == "Status" else f.name, f.type) for f in FIELDS)
    mirror.schemas.put_table(BASE_ID, TABLE_ID, "Tasks", FIELDS[0].id, renamed, version=VERSION_ORIGIN + 1)

    shown = mirror.service.get_record(record_id(4))

    assert shown.fields["State"] == "Done" and "Status" not in shown.fields
    assert mirror.records.get(BASE_ID, record_id(4)) == before
    assert ids(page(mirror, filters={"State": "Done"}, limit=3).records) == [record_id(n) for n in (1, 4, 7)]
    with pytest.raises(InvalidQueryError):
        page(mirror, filters={"Status": "Done"})


def test_a_field_deleted_from_the_schema_is_not_shown(mirror: Mirror) -> None:
    mirror.schemas.put_table(BASE_ID, TABLE_ID, "Tasks", FIELDS[0].id, FIELDS[:2], version=VERSION_ORIGIN + 1)

    assert mirror.service.get_record(record_id(1)).fields == {"Title": "Task 1", "Status": "Done"}
    assert set(page(mirror, limit=1).records[0].fields) == {"Title", "Status"}


def test_a_record_without_a_stored_schema_shows_field_ids(mirror: Mirror) -> None:
    mirror.records.upsert(observation(record_id(20_000), {"fldX": 1}, table_id="tblNoSchema000001"))
    shown = mirror.service.get_record(record_id(20_000))
    assert (shown.table_name, shown.fields) == ("tblNoSchema000001", {"fldX": 1})


# One record


def test_one_record_by_id(shared: Mirror) -> None:
    shown = shared.service.get_record(record_id(13))
    assert shown.record_id == record_id(13)
    assert shown.fields["Title"] == "Task 13"
    assert shown.fields["Tags"] == cells(13)["fldTags0000000000"]


@pytest.mark.parametrize(
    "bad_id", ["", "rec", "recABC", "tbl00000000000001", "rec0000000000000!", "rec" + "0" * 15]
)
def test_a_malformed_record_id_is_refused(shared: Mirror, bad_id: str) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        shared.service.get_record(bad_id)
    assert raised.value.parameter == "record_id"


def test_an_unknown_or_deleted_record_is_not_found(mirror: Mirror) -> None:
    with pytest.raises(RecordNotFoundError):
        mirror.service.get_record(record_id(999))
    mirror.records.delete(BASE_ID, TABLE_ID, record_id(2), version(1000))

    with pytest.raises(RecordNotFoundError):
        mirror.service.get_record(record_id(2))
    walked, _ = walk(mirror, RecordQuery(limit=7))
    assert record_id(2) not in walked and len(walked) == 29


# Tables


@pytest.mark.parametrize("reference", ["Tasks", "tasks", "TASKS", "  Tasks ", TABLE_ID])
def test_a_table_is_found_by_name_id_or_alias(shared: Mirror, reference: str) -> None:
    assert shared.service.resolve_table(reference).table_id == TABLE_ID


def test_aliases_point_at_names_or_ids(shared: Mirror) -> None:
    assert shared.service.resolve_alias("tasks").table_id == TABLE_ID
    assert shared.service.resolve_alias("OTHER").table_id == OTHER_TABLE_ID
    with pytest.raises(TableNotFoundError, match="alias 'people' is not configured"):
        shared.service.resolve_alias("people")


def test_an_unknown_table_is_not_found(shared: Mirror) -> None:
    with pytest.raises(TableNotFoundError, match="'People'"):
        shared.service.resolve_table("People")


@pytest.mark.parametrize("reference", ["", "   ", "x" * 256, "Ta\x00sks", "Ta\nsks"])
def test_a_malformed_table_reference_is_refused(shared: Mirror, reference: str) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        shared.service.resolve_table(reference)
    assert raised.value.parameter == "table_name"


def test_tables_are_listed_with_the_count_of_their_last_clean_sync(mirror: Mirror) -> None:
    assert [(s.table.name, s.record_count) for s in mirror.service.list_tables()] == [
        ("Other", None),
        ("Tasks", None),
    ]

    record_sync(mirror, "succeeded", {"fetched": 31, "failed": 1, "listing_restarts": 0})
    record_sync(mirror, "failed", {"fetched": 3, "failed": 0}, table_id=OTHER_TABLE_ID)
    summaries = {s.table.name: s for s in mirror.service.list_tables()}

    assert summaries["Tasks"].record_count == 30
    assert summaries["Other"].record_count is None
    assert summaries["Other"].table.last_sync is not None
    record_sync(mirror, "succeeded", {"fetched": 60, "failed": 0, "listing_restarts": 1})
    assert {s.table.name: s.record_count for s in mirror.service.list_tables()}["Tasks"] is None


def replace_client(mirror: Mirror, client: Any) -> RecordsQueryService:
    return make_service(DynamoTable(client=client, name=mirror.table.name, backend=mirror.table.backend))
