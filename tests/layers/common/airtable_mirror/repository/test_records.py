"""Contract tests of RecordRepository: every test runs on moto and on dynalite, most of them with record
writes through the boto3 client and through the DirectWriteClient."""

import json
import random
import string
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from airtable_mirror.repository import (
    InvalidCursorError,
    InvalidIdentifierError,
    InvalidObservationError,
    JsonValue,
    RecordRepository,
)
from airtable_mirror.repository.direct_writes import DirectWriteClient
from airtable_mirror.repository.records import COMPRESS_ABOVE_BYTES
from tests.support.clock import FakeClock
from tests.support.dynamodb import CallCountingClient, DynamoTable
from tests.support.records import BASE_ID, OTHER_TABLE_ID, TABLE_ID, observation, record_id, version


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["boto3 writes", "direct writes"])
def records(
    request: pytest.FixtureRequest, dynamodb_table: DynamoTable, clock: FakeClock
) -> RecordRepository:
    """The repository, its record writes made by the boto3 client or by the `DirectWriteClient` the sync
    engine uses (runtime.record_write_client): the contract is the same."""
    writer = None
    if request.param == "direct writes":
        writer = DirectWriteClient(dynamodb_table.client, Credentials("testing", "testing", "testing"))
    return RecordRepository(
        dynamodb_table.client, dynamodb_table.name, clock=clock, record_write_client=writer
    )


# Writes ordered by version


def test_upsert_of_a_new_record_stores_it_with_its_index_times(records: RecordRepository) -> None:
    # Given an observation of a record the mirror does not know
    seen = observation(record_id(1), {"fldName": "Ada", "fldAge": 36}, at=10, created_at=5)

    # When it is upserted
    outcome = records.upsert(seen)

    # Then it is written and reads back as observed
    assert outcome.status == "written"
    assert not outcome.compressed
    stored = records.get(BASE_ID, record_id(1))
    assert stored is not None
    assert stored.cells == {"fldName": "Ada", "fldAge": 36}
    assert stored.created_time == seen.created_time
    assert stored.version == seen.version
    assert stored.content_hash == seen.content_hash
    assert stored.changed_at == "2024-05-01T12:00:10.000000Z"
    assert stored.synced_at == "2024-05-01T12:00:00.000000Z"
    assert not stored.deleted


def test_upserting_the_same_observation_twice_changes_nothing(
    records: RecordRepository, clock: FakeClock
) -> None:
    # Given a stored observation
    seen = observation(record_id(1), {"fldName": "Ada"}, at=10)
    records.upsert(seen)
    before = records.get(BASE_ID, record_id(1))

    # When the very same observation arrives again, later
    clock.advance(60)
    outcome = records.upsert(seen)

    # Then it is reported stale and the item is untouched (not even synced_at)
    assert outcome.status == "stale"
    assert records.get(BASE_ID, record_id(1)) == before


def test_newer_observation_of_the_same_content_only_moves_version_forward(
    records: RecordRepository, clock: FakeClock
) -> None:
    # Given a record stored from an observation at t=10
    records.upsert(observation(record_id(1), {"fldName": "Ada"}, at=10))

    # When the same content is observed again at t=20
    clock.advance(60)
    outcome = records.upsert(observation(record_id(1), {"fldName": "Ada"}, at=20))

    # Then version and synced_at move, changed_at keeps the time the content last changed
    assert outcome.status == "unchanged"
    stored = records.get(BASE_ID, record_id(1))
    assert stored is not None
    assert stored.version == version(20)
    assert stored.changed_at == "2024-05-01T12:00:10.000000Z"
    assert stored.synced_at == "2024-05-01T12:01:00.000000Z"


def test_older_observation_never_overwrites_a_newer_one(records: RecordRepository) -> None:
    # Given a record stored from an observation at t=20
    records.upsert(observation(record_id(1), {"fldName": "new"}, at=20))

    # When an observation made earlier (t=10) arrives late
    outcome = records.upsert(observation(record_id(1), {"fldName": "old"}, at=10))

    # Then it is stale and the newer content stays
    assert outcome.status == "stale"
    stored = records.get(BASE_ID, record_id(1))
    assert stored is not None
    assert stored.cells == {"fldName": "new"}
    assert stored.version == version(20)


def test_newer_observation_replaces_an_older_one(records: RecordRepository) -> None:
    # Given a record stored from an observation at t=10
    records.upsert(observation(record_id(1), {"fldName": "old"}, at=10))

    # When a later observation with other content arrives
    outcome = records.upsert(observation(record_id(1), {"fldName": "new", "fldAge": 1}, at=20))

    # Then it replaces the stored content and the change time
    assert outcome.status == "written"
    stored = records.get(BASE_ID, record_id(1))
    assert stored is not None
    assert stored.cells == {"fldName": "new", "fldAge": 1}
    assert stored.changed_at == "2024-05-01T12:00:20.000000Z"


# Tombstones


def test_delete_then_a_late_older_upsert_is_blocked(records: RecordRepository, clock: FakeClock) -> None:
    # Given a record deleted by an observation at t=20
    records.upsert(observation(record_id(1), at=10))
    deleted = records.delete(BASE_ID, TABLE_ID, record_id(1), version(20))

    # When an observation made before the deletion (t=15) arrives late
    outcome = records.upsert(observation(record_id(1), {"fldName": "zombie"}, at=15))

    # Then it is stale: the API sees no record, the tombstone is still there with its TTL
    assert deleted.status == "written"
    assert outcome.status == "stale"
    assert records.get(BASE_ID, record_id(1)) is None
    tombstone = records.get(BASE_ID, record_id(1), include_deleted=True)
    assert tombstone is not None
    assert tombstone.deleted
    assert tombstone.cells == {}
    assert tombstone.version == version(20)
    assert tombstone.expires_at == int(clock()) + 14 * 24 * 3600


def test_delete_then_newer_upsert_brings_the_record_back(records: RecordRepository) -> None:
    # Given a tombstone from an observation at t=20 (Airtable never reuses record ids, so a newer
    # observation of the record means the deletion we saw was the older news)
    records.upsert(observation(record_id(1), at=10))
    records.delete(BASE_ID, TABLE_ID, record_id(1), version(20))

    # When an observation made after it (t=30) arrives
    outcome = records.upsert(observation(record_id(1), {"fldName": "back"}, at=30))

    # Then the record is live again
    assert outcome.status == "written"
    stored = records.get(BASE_ID, record_id(1))
    assert stored is not None
    assert stored.cells == {"fldName": "back"}


def test_delete_of_an_unknown_record_leaves_a_tombstone_that_blocks_a_late_create(
    records: RecordRepository,
) -> None:
    # Given a deletion of a record the mirror never saw
    outcome = records.delete(BASE_ID, TABLE_ID, record_id(7), version(20))

    # When its creation, observed earlier, arrives late
    late = records.upsert(observation(record_id(7), at=5))

    # Then the tombstone holds
    assert outcome.status == "written"
    assert late.status == "stale"
    assert records.get(BASE_ID, record_id(7)) is None


def test_delete_older_than_the_stored_record_is_stale(records: RecordRepository) -> None:
    # Given a record observed at t=20
    records.upsert(observation(record_id(1), at=20))

    # When a deletion observed at t=10 arrives
    outcome = records.delete(BASE_ID, TABLE_ID, record_id(1), version(10))

    # Then the record stays
    assert outcome.status == "stale"
    assert records.get(BASE_ID, record_id(1)) is not None


def test_sweep_deletes_a_record_last_seen_before_the_run(records: RecordRepository) -> None:
    # Given a record last observed before a run that began at t=100
    records.upsert(observation(record_id(1), at=10))

    # When the sweep finds it missing from the run's listing
    outcome = records.sweep_delete(BASE_ID, TABLE_ID, record_id(1), observed_before_version=version(100))

    # Then it becomes a tombstone stamped with the run's start
    assert outcome.status == "written"
    tombstone = records.get(BASE_ID, record_id(1), include_deleted=True)
    assert tombstone is not None
    assert tombstone.deleted
    assert tombstone.version == version(100)


def test_sweep_does_not_touch_a_record_written_after_the_run_began(records: RecordRepository) -> None:
    # Given a record created through a webhook at t=150, after the run began at t=100
    records.upsert(observation(record_id(1), {"fldName": "fresh"}, at=150))

    # When the sweep of that run reaches it
    outcome = records.sweep_delete(BASE_ID, TABLE_ID, record_id(1), observed_before_version=version(100))

    # Then it stays as it is
    assert outcome.status == "stale"
    stored = records.get(BASE_ID, record_id(1))
    assert stored is not None
    assert stored.cells == {"fldName": "fresh"}


def test_sweep_writes_nothing_for_unknown_deleted_or_foreign_records(records: RecordRepository) -> None:
    # Given a tombstone, and a record of another table
    records.delete(BASE_ID, TABLE_ID, record_id(1), version(10))
    records.upsert(observation(record_id(2), at=10, table_id=OTHER_TABLE_ID))

    # When the sweep of TABLE_ID reaches them and an id it never stored
    outcomes = [
        records.sweep_delete(BASE_ID, TABLE_ID, record, observed_before_version=version(100))
        for record in (record_id(1), record_id(2), record_id(3))
    ]

    # Then nothing changes and no tombstone appears for the unknown id
    assert [outcome.status for outcome in outcomes] == ["stale", "stale", "stale"]
    tombstone = records.get(BASE_ID, record_id(1), include_deleted=True)
    assert tombstone is not None
    assert tombstone.version == version(10)
    assert records.get(BASE_ID, record_id(2)) is not None
    assert records.get(BASE_ID, record_id(3), include_deleted=True) is None


# Values


def test_awkward_numbers_round_trip(records: RecordRepository) -> None:
    # Given numbers that binary floats, Decimal and DynamoDB each get wrong in their own way
    cells: dict[str, JsonValue] = {
        "fldTenth": 0.1,
        "fldTiny": 1e-7,
        "fldBigInt": 12345678901234567890,
        "fldNegativeZero": -0.0,
        "fldTrue": True,
        "fldOne": 1,
        "fldThird": 1 / 3,
        "fldNegative": -2.5e-5,
        "fldNested": [0.1, {"fldDeep": [1e-7, -0.0, True, 1]}],
    }

    # When they are stored and read back
    outcome = records.upsert(observation(record_id(1), cells, at=10))
    stored = records.get(BASE_ID, record_id(1))

    # Then floats come back bit-identical, ints stay ints, booleans stay booleans
    assert outcome.status == "written"
    assert not outcome.compressed
    assert stored is not None
    back = stored.cells
    for name in ("fldTenth", "fldTiny", "fldThird", "fldNegative"):
        assert type(back[name]) is float
        assert back[name] == cells[name]
    assert back["fldBigInt"] == 12345678901234567890
    assert type(back["fldBigInt"]) is int
    assert back["fldTrue"] is True
    assert back["fldOne"] == 1
    assert type(back["fldOne"]) is int
    # DynamoDB has a single zero: -0.0 comes back as the (equal) int 0, as JSON from Airtable has it
    assert back["fldNegativeZero"] == 0
    assert type(back["fldNegativeZero"]) is int
    assert back["fldNested"] == [0.1, {"fldDeep": [1e-7, 0, True, 1]}]
    assert json.dumps(back["fldNested"]) == '[0.1, {"fldDeep": [1e-07, 0, true, 1]}]'


def test_numbers_dynamodb_cannot_hold_are_kept_exactly_as_json(records: RecordRepository) -> None:
    # Given numbers outside DynamoDB's range or precision (a formula can produce them)
    cells: dict[str, JsonValue] = {
        "fldHuge": 1.5e300,
        "fldDenormal": 5e-324,
        "fldLong": 10**40 + 1,
        "fldPlain": 0.1,
    }

    # When they are stored
    outcome = records.upsert(observation(record_id(1), cells, at=10))
    stored = records.get(BASE_ID, record_id(1))

    # Then the record goes to the compressed form and reads back exactly
    assert outcome.status == "written"
    assert outcome.compressed
    assert stored is not None
    assert stored.cells == cells
    assert type(stored.cells["fldLong"]) is int


def test_unicode_and_empty_values_round_trip(records: RecordRepository) -> None:
    # Given text in several scripts, astral characters, and empty values
    cells: dict[str, JsonValue] = {
        "fldText": "naïve café ☃ 日本語 𝄞 🙂 \u0000 \u202e",
        "fldEmpty": "",
        "fldEmptyList": [],
        "fldEmptyObject": {},
        "fldNull": None,
        "fldCollaborator": {"id": "usrX", "name": "Zoë Ümlaut", "email": "zoë@example.com"},
        "fldÜnicodeKey": ["ä", "", "𝄞"],
    }

    # When stored and read back
    records.upsert(observation(record_id(1), cells, at=10))
    stored = records.get(BASE_ID, record_id(1))

    # Then every value is identical
    assert stored is not None
    assert stored.cells == cells


def test_a_500_kb_long_text_is_compressed_transparently(records: RecordRepository) -> None:
    # Given a record whose long text alone passes the compression threshold
    words = ["airtable", "mirror", "dynamo", "record", "field", "cell", "sync", "page"]
    rng = random.Random(7)
    text = " ".join(rng.choice(words) for _ in range(70_000))[:500_000]
    assert len(text.encode()) > COMPRESS_ABOVE_BYTES

    # When stored and read back
    outcome = records.upsert(observation(record_id(1), {"fldNotes": text, "fldNumber": 0.1}, at=10))
    stored = records.get(BASE_ID, record_id(1))

    # Then it was compressed, and reads back identical
    assert outcome.status == "written"
    assert outcome.compressed
    assert outcome.item_bytes < COMPRESS_ABOVE_BYTES
    assert stored is not None
    assert stored.cells == {"fldNotes": text, "fldNumber": 0.1}


def test_an_incompressible_oversized_record_is_reported_too_large(records: RecordRepository) -> None:
    # Given a record of 600 KB of random text, which zlib cannot bring under 400 KB
    rng = random.Random(11)
    alphabet = string.ascii_letters + string.digits + string.punctuation
    noise = "".join(rng.choice(alphabet) for _ in range(600_000))

    # When it is upserted
    outcome = records.upsert(observation(record_id(1), {"fldNoise": noise}, at=10))

    # Then the outcome says so, with the size, and nothing is stored
    assert outcome.status == "too_large"
    assert outcome.item_bytes > 400 * 1024
    assert records.get(BASE_ID, record_id(1), include_deleted=True) is None


def test_states_come_back_for_known_records_in_batches(records: RecordRepository) -> None:
    # Given 130 stored records (more than one BatchGetItem) and one tombstone
    stored = [observation(record_id(number), at=10) for number in range(130)]
    records.upsert_many(stored)
    records.delete(BASE_ID, TABLE_ID, record_id(5), version(20))

    # When their states are read together with unknown ids (and a duplicate)
    wanted = [record_id(number) for number in range(140)] + [record_id(1)]
    states = records.get_states(BASE_ID, wanted)

    # Then every known record has its hash and version; the tombstone says deleted
    assert set(states) == {record_id(number) for number in range(130)}
    assert states[record_id(1)].content_hash == stored[1].content_hash
    assert states[record_id(1)].version == version(10)
    assert not states[record_id(1)].deleted
    assert states[record_id(5)].deleted
    assert states[record_id(5)].content_hash is None


def test_upsert_many_returns_outcomes_in_input_order(records: RecordRepository) -> None:
    # Given one record already stored from a newer observation
    records.upsert(observation(record_id(3), {"fldName": "newest"}, at=50))

    # When a batch mixing new records and that stale one is written concurrently
    batch = [observation(record_id(number), at=10) for number in range(6)]
    outcomes = records.upsert_many(batch, max_workers=4)

    # Then outcomes follow the input order
    assert [outcome.record_id for outcome in outcomes] == [record_id(number) for number in range(6)]
    assert [outcome.status for outcome in outcomes] == ["written"] * 3 + ["stale"] + ["written"] * 2


def test_upsert_many_rejects_bad_input_before_writing_anything(records: RecordRepository) -> None:
    # Given a batch whose last observation carries a NaN (not JSON)
    batch = [observation(record_id(1), at=10), observation(record_id(2), {"fldX": float("nan")}, at=10)]

    # When it is written, Then it fails with a typed error and nothing was stored
    with pytest.raises(InvalidObservationError):
        records.upsert_many(batch)
    assert records.get(BASE_ID, record_id(1)) is None


def test_record_writes_go_through_the_record_write_client(
    dynamodb_table: DynamoTable, clock: FakeClock
) -> None:
    # Given a repository whose record writes have a client of their own (as the sync engine's do)
    reads = CallCountingClient(dynamodb_table.client)
    writes = CallCountingClient(dynamodb_table.client)
    records = RecordRepository(
        reads,  # type: ignore[arg-type]
        dynamodb_table.name,
        clock=clock,
        record_write_client=writes,  # type: ignore[arg-type]
    )

    # When records are written, read, deleted and swept
    records.upsert_many([observation(record_id(number), at=10) for number in range(3)], max_workers=2)
    records.upsert(observation(record_id(0), at=20))  # same content, newer: only the version moves
    states = records.get_states(BASE_ID, [record_id(number) for number in range(3)])
    records.delete(BASE_ID, TABLE_ID, record_id(1), version(30))
    records.sweep_delete(BASE_ID, TABLE_ID, record_id(2), observed_before_version=version(40))

    # Then every write went through the write client and every read through the other
    assert writes.calls == {"put_item": 6, "update_item": 1}
    assert set(reads.calls) == {"batch_get_item"}
    assert set(states) == {record_id(number) for number in range(3)}
    assert records.get(BASE_ID, record_id(0)) is not None
    assert records.get(BASE_ID, record_id(1)) is None and records.get(BASE_ID, record_id(2)) is None


def test_a_failed_write_of_a_batch_raises_once_the_other_writes_have_ended(
    dynamodb_table: DynamoTable, clock: FakeClock
) -> None:
    # Given a write client that refuses one record with an error that is not a failed condition
    refused = record_id(2)

    class RefusingOne:
        def __init__(self, client: Any) -> None:
            self._client = client

        def put_item(self, **request: Any) -> Any:
            if request["Item"]["record_id"]["S"] == refused:
                raise ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "PutItem")
            return self._client.put_item(**request)

    records = RecordRepository(
        dynamodb_table.client,
        dynamodb_table.name,
        clock=clock,
        record_write_client=RefusingOne(dynamodb_table.client),  # type: ignore[arg-type]
    )

    # When a batch holding that record is written
    with pytest.raises(ClientError, match="boom"):
        records.upsert_many([observation(record_id(number), at=10) for number in range(12)], max_workers=4)

    # Then every other record of the batch was stored before the error came out
    stored = records.get_states(BASE_ID, [record_id(number) for number in range(12)])
    assert set(stored) == {record_id(number) for number in range(12)} - {refused}


# Index reads


def _fill_table(records: RecordRepository, count: int) -> None:
    # Created times ascend with the number; change times descend, so the two orders differ.
    records.upsert_many(
        [observation(record_id(number), at=1000 - number, created_at=number * 60) for number in range(count)]
    )


def test_query_page_orders_by_created_time_both_ways(records: RecordRepository) -> None:
    # Given five records created one minute apart
    _fill_table(records, 5)

    # When pages are asked for in both directions
    ascending, _ = records.query_page(BASE_ID, TABLE_ID, order="created", descending=False, limit=10)
    descending, last_key = records.query_page(BASE_ID, TABLE_ID, order="created", descending=True, limit=10)

    # Then the orders are the creation order and its reverse
    assert [record.record_id for record in ascending] == [record_id(number) for number in range(5)]
    assert [record.record_id for record in descending] == [record_id(number) for number in reversed(range(5))]
    assert descending[0].cells == {"fldName": record_id(4)}
    assert last_key is None


def test_query_page_orders_by_change_time(records: RecordRepository) -> None:
    # Given five records, the last created changed first
    _fill_table(records, 5)

    # When the most recently changed come first
    page, _ = records.query_page(BASE_ID, TABLE_ID, order="changed", descending=True, limit=10)

    # Then record 0 (changed at t=1000) leads
    assert [record.record_id for record in page] == [record_id(number) for number in range(5)]


def test_query_page_paginates_through_a_few_hundred_records_without_tombstones(
    records: RecordRepository,
) -> None:
    # Given 260 records of which 10 are deleted, and a record of another table
    _fill_table(records, 260)
    for number in range(0, 260, 26):
        records.delete(BASE_ID, TABLE_ID, record_id(number), version(5000))
    records.upsert(observation(record_id(999), at=10, table_id=OTHER_TABLE_ID))

    # When every page of 40 is read, newest created first
    seen: list[str] = []
    start = None
    pages = 0
    while True:
        page, start = records.query_page(
            BASE_ID, TABLE_ID, order="created", descending=True, limit=40, exclusive_start=start
        )
        pages += 1
        seen.extend(record.record_id for record in page)
        if start is None:
            break

    # Then each live record of the table appears once, in order, and no tombstone does
    expected = [record_id(number) for number in reversed(range(260)) if number % 26 != 0]
    assert seen == expected
    assert pages == 7
    assert records.count_table(BASE_ID, TABLE_ID) == 250
    keys = dict(records.iter_table_keys(BASE_ID, TABLE_ID, page_size=64))
    assert set(keys) == set(expected)
    assert keys[record_id(1)] == version(999)


def test_query_page_rejects_a_cursor_of_another_table(records: RecordRepository) -> None:
    # Given a cursor from a page of another table
    records.upsert_many(
        [observation(record_id(number), at=1, table_id=OTHER_TABLE_ID) for number in range(3)]
    )
    _, other_start = records.query_page(BASE_ID, OTHER_TABLE_ID, order="created", descending=False, limit=1)
    assert other_start is not None

    # When it is used for TABLE_ID, Then it is refused
    with pytest.raises(InvalidCursorError):
        records.query_page(
            BASE_ID, TABLE_ID, order="created", descending=False, limit=1, exclusive_start=other_start
        )
    # and a created-order cursor is refused for the changed order
    with pytest.raises(InvalidCursorError):
        records.query_page(
            BASE_ID, OTHER_TABLE_ID, order="changed", descending=False, limit=1, exclusive_start=other_start
        )


# Bad input


def test_bad_identifiers_and_arguments_raise_typed_errors(records: RecordRepository) -> None:
    with pytest.raises(InvalidIdentifierError):
        records.get("app#other", record_id(1))
    with pytest.raises(InvalidIdentifierError):
        observation("rec#1")
    with pytest.raises(InvalidObservationError):
        records.delete(BASE_ID, TABLE_ID, record_id(1), 0)
    with pytest.raises(ValueError, match="limit"):
        records.query_page(BASE_ID, TABLE_ID, order="created", descending=False, limit=0)
    with pytest.raises(ValueError, match="order"):
        records.query_page(BASE_ID, TABLE_ID, order="name", descending=False, limit=1)  # type: ignore[arg-type]


def test_reads_cost_in_proportion_to_what_they_return(dynamodb_table: DynamoTable, clock: FakeClock) -> None:
    # Given 120 records, read through a client that counts calls
    counting = CallCountingClient(dynamodb_table.client)
    records = RecordRepository(counting, dynamodb_table.name, clock=clock)  # type: ignore[arg-type]
    _fill_table(records, 120)
    counting.reset()

    # When one page of 30 is read
    page, start = records.query_page(BASE_ID, TABLE_ID, order="changed", descending=False, limit=30)

    # Then it took one Query and one BatchGetItem, whatever the table's size
    assert len(page) == 30
    assert start is not None
    assert counting.calls == {"query": 1, "batch_get_item": 1}

    # and listing the table's keys for a sweep queries the index page by page, never scans
    counting.reset()
    assert len(list(records.iter_table_keys(BASE_ID, TABLE_ID, page_size=50))) == 120
    assert counting.calls == {"query": 3}
