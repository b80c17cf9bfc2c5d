"""Contract tests of SyncRunRepository (moto and dynalite), plus what only dynalite can show."""

import threading
import uuid
from typing import TYPE_CHECKING

import pytest

from airtable_mirror.repository import (
    Checkpoint,
    InvalidCursorError,
    InvalidIdentifierError,
    RunFailure,
    SyncRunRepository,
    hash_record_id,
    pack_hashes,
)
from airtable_mirror.repository.item_size import WRITE_UNIT_BYTES, item_size
from airtable_mirror.repository.keys import ACTIVE_RUN_SK, active_run_pk
from tests.support.clock import FakeClock
from tests.support.dynamodb import DynamoTable, consumed_capacity
from tests.support.records import BASE_ID, OTHER_TABLE_ID, TABLE_ID, record_id, version

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runs(dynamodb_table: DynamoTable, clock: FakeClock) -> SyncRunRepository:
    return SyncRunRepository(dynamodb_table.client, dynamodb_table.name, clock=clock)


def _run_id() -> str:
    return str(uuid.uuid4())


def _checkpoint(
    page_number: int, ids: range, *, offset: str | None = "itrAbc/rec0", generation: int = 0
) -> Checkpoint:
    return Checkpoint(
        page_number=page_number,
        next_offset=offset,
        counts={"fetched": (page_number + 1) * 100, "written": page_number * 7},
        seen_id_hashes=pack_hashes(hash_record_id(record_id(number)) for number in ids),
        listing_generation=generation,
    )


# Runs and the active-run marker


def test_created_run_is_queued_and_active(runs: SyncRunRepository) -> None:
    # Given no run of the table
    run_id = _run_id()

    # When a run is created
    result = runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))

    # Then it is queued and is the table's active run
    assert result.created
    assert result.run.status == "queued"
    assert result.run.run_id == run_id
    assert result.run.table_name == "Contacts"
    assert result.run.version_at_start == version(0)
    assert runs.get_run(BASE_ID, run_id) == result.run
    assert runs.find_active_run(BASE_ID, TABLE_ID) == result.run
    assert runs.find_active_run(BASE_ID, OTHER_TABLE_ID) is None


def test_second_start_of_a_table_gets_the_active_run(runs: SyncRunRepository) -> None:
    # Given a queued run of the table
    first = runs.create_run(BASE_ID, TABLE_ID, "Contacts", _run_id(), version(0)).run

    # When another start of the same table races in
    second_id = _run_id()
    result = runs.create_run(BASE_ID, TABLE_ID, "Contacts", second_id, version(1))

    # Then it is refused with the existing run, and leaves no run behind
    assert not result.created
    assert result.run.run_id == first.run_id
    assert runs.get_run(BASE_ID, second_id) is None
    # while another table can start at the same time
    assert runs.create_run(BASE_ID, OTHER_TABLE_ID, "Companies", _run_id(), version(1)).created


def test_retrying_the_same_start_is_harmless(runs: SyncRunRepository) -> None:
    # Given a created run
    run_id = _run_id()
    first = runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))

    # When the same start is retried (a client retry of the API call)
    again = runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))

    # Then it reports the same run as created
    assert again.created
    assert again.run == first.run


def test_finishing_a_run_records_totals_caps_failures_and_frees_the_table(
    runs: SyncRunRepository, clock: FakeClock
) -> None:
    # Given a running run
    run_id = _run_id()
    runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))
    clock.advance(5)
    assert runs.mark_running(BASE_ID, run_id)

    # When it finishes with 150 failures
    clock.advance(60)
    failures = [RunFailure(record_id(number), "too_large " * 100) for number in range(150)]
    finished = runs.finish_run(BASE_ID, run_id, "succeeded", {"written": 900, "deleted": 3}, failures)

    # Then the outcome is stored, failures capped, and the table free for the next run
    assert finished
    run = runs.get_run(BASE_ID, run_id)
    assert run is not None
    assert run.status == "succeeded"
    assert run.started_at == "2024-05-01T12:00:05.000000Z"
    assert run.finished_at == "2024-05-01T12:01:05.000000Z"
    assert run.totals == {"written": 900, "deleted": 3}
    assert len(run.failures) == 100
    assert run.failures_total == 150
    assert run.failures[0].record_id == record_id(0)
    assert len(run.failures[0].reason) == 500
    assert runs.find_active_run(BASE_ID, TABLE_ID) is None
    assert runs.create_run(BASE_ID, TABLE_ID, "Contacts", _run_id(), version(100)).created


def test_a_finished_run_cannot_be_finished_restarted_or_reused(runs: SyncRunRepository) -> None:
    # Given a failed run
    run_id = _run_id()
    runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))
    runs.finish_run(BASE_ID, run_id, "failed", {})

    # When it is finished again, marked running, or its id reused
    # Then nothing changes
    assert not runs.finish_run(BASE_ID, run_id, "succeeded", {"written": 1})
    assert not runs.mark_running(BASE_ID, run_id)
    with pytest.raises(InvalidIdentifierError):
        runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))
    run = runs.get_run(BASE_ID, run_id)
    assert run is not None
    assert run.status == "failed"
    assert not runs.mark_running(BASE_ID, _run_id())


def test_a_marker_left_by_an_interrupted_finish_is_taken_over(
    runs: SyncRunRepository, dynamodb_table: DynamoTable
) -> None:
    # Given a finished run whose marker survived (the process died between the two writes)
    old_id = _run_id()
    runs.create_run(BASE_ID, TABLE_ID, "Contacts", old_id, version(0))
    runs.finish_run(BASE_ID, old_id, "succeeded", {})
    dynamodb_table.client.put_item(
        TableName=dynamodb_table.name,
        Item={
            "pk": {"S": active_run_pk(BASE_ID, TABLE_ID)},
            "sk": {"S": ACTIVE_RUN_SK},
            "run_id": {"S": old_id},
            "created_at": {"S": "2024-05-01T12:00:00.000000Z"},
        },
    )
    assert runs.find_active_run(BASE_ID, TABLE_ID) is None

    # When the next run starts
    result = runs.create_run(BASE_ID, TABLE_ID, "Contacts", _run_id(), version(10))

    # Then it replaces the stale marker
    assert result.created
    assert runs.find_active_run(BASE_ID, TABLE_ID) == result.run


def test_a_marker_naming_a_vanished_run_is_taken_over(
    runs: SyncRunRepository, dynamodb_table: DynamoTable
) -> None:
    # Given a marker whose run item is gone (expired by TTL, say)
    dynamodb_table.client.put_item(
        TableName=dynamodb_table.name,
        Item={
            "pk": {"S": active_run_pk(BASE_ID, TABLE_ID)},
            "sk": {"S": ACTIVE_RUN_SK},
            "run_id": {"S": "gone"},
            "created_at": {"S": "2024-04-01T12:00:00.000000Z"},
        },
    )

    # When a run starts, Then it gets the table
    assert runs.create_run(BASE_ID, TABLE_ID, "Contacts", _run_id(), version(10)).created


def test_concurrent_starts_of_one_table_create_exactly_one_run(dynalite_only_table: DynamoTable) -> None:
    # Given eight processes starting the same table at once (dynalite: writes really are atomic)
    runs = SyncRunRepository(dynalite_only_table.client, dynalite_only_table.name)
    run_ids = [_run_id() for _ in range(8)]
    results = {}
    barrier = threading.Barrier(len(run_ids))

    def start(run_id: str) -> None:
        barrier.wait()
        results[run_id] = runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))

    # When they all call create_run
    threads = [threading.Thread(target=start, args=(run_id,)) for run_id in run_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then exactly one run is created and everyone else is told its id
    winners = [run_id for run_id, result in results.items() if result.created]
    assert len(results) == len(run_ids)
    assert len(winners) == 1
    assert {result.run.run_id for result in results.values()} == {winners[0]}
    assert [run_id for run_id in run_ids if runs.get_run(BASE_ID, run_id) is not None] == winners


# Checkpoints


def test_checkpoints_resume_from_the_latest_page_and_yield_every_page_of_hashes(
    runs: SyncRunRepository,
) -> None:
    # Given three saved pages, the first saved twice (a resumed run repeats a page)
    run_id = _run_id()
    assert runs.latest_checkpoint(BASE_ID, run_id) is None
    runs.save_checkpoint(BASE_ID, run_id, _checkpoint(0, range(0, 50)))
    runs.save_checkpoint(BASE_ID, run_id, _checkpoint(0, range(0, 100)))
    runs.save_checkpoint(BASE_ID, run_id, _checkpoint(1, range(100, 200)))
    last = _checkpoint(2, range(200, 230), offset=None)
    runs.save_checkpoint(BASE_ID, run_id, last)

    # When the run resumes
    latest = runs.latest_checkpoint(BASE_ID, run_id)
    pages = list(runs.iter_seen_hashes(BASE_ID, run_id))

    # Then it continues after page 2, and the hashes cover every id once per page
    assert latest == last
    assert pages == [
        _checkpoint(0, range(0, 100)).seen_id_hashes,
        _checkpoint(1, range(100, 200)).seen_id_hashes,
        last.seen_id_hashes,
    ]


def test_seen_hashes_can_be_limited_to_one_listing_generation(runs: SyncRunRepository) -> None:
    # Given pages from a listing that was restarted (generation 1) after its offset expired
    run_id = _run_id()
    runs.save_checkpoint(BASE_ID, run_id, _checkpoint(0, range(0, 100), generation=0))
    runs.save_checkpoint(BASE_ID, run_id, _checkpoint(1, range(0, 100), generation=1))
    runs.save_checkpoint(BASE_ID, run_id, _checkpoint(2, range(100, 150), generation=1))

    # When only the current generation is asked for
    pages = list(runs.iter_seen_hashes(BASE_ID, run_id, listing_generation=1))

    # Then the pages of the abandoned listing are left out
    assert pages == [
        _checkpoint(1, range(0, 100)).seen_id_hashes,
        _checkpoint(2, range(100, 150)).seen_id_hashes,
    ]


def test_checkpoint_with_100_hashes_costs_exactly_one_write_unit(dynalite_only_table: DynamoTable) -> None:
    # Given a checkpoint as large as a real one: 100 hashes, an Airtable offset, a uuid run id,
    # six counters in the millions
    runs = SyncRunRepository(dynalite_only_table.client, dynalite_only_table.name)
    checkpoint = Checkpoint(
        page_number=4321,
        next_offset="itrAbCdEfGhIjKlMn/recAbCdEfGhIjKlMn",
        counts={
            "fetched": 432_200,
            "written": 123_456,
            "unchanged": 308_744,
            "stale": 1_234,
            "too_large": 12,
            "failed": 3,
        },
        seen_id_hashes=pack_hashes(hash_record_id(record_id(number)) for number in range(100)),
        listing_generation=2,
    )

    # When it is saved
    with consumed_capacity(dynalite_only_table.client, "PutItem") as units:
        runs.save_checkpoint(BASE_ID, str(uuid.uuid4()), checkpoint)

    # Then the PutItem cost one write unit
    assert units == [1.0]


def test_checkpoint_estimate_stays_within_one_write_unit() -> None:
    # Given the same realistic checkpoint item as above, built the way save_checkpoint builds it
    item: dict[str, AttributeValueTypeDef] = {
        "pk": {"S": f"B#{BASE_ID}#RUN#{uuid.uuid4()}"},
        "sk": {"S": "PAGE#004321"},
        "c": {
            "M": {name: {"N": "123456"} for name in ("fetched", "written", "unchanged", "stale", "too_large")}
        },
        "h": {"B": bytes(800)},
        "g": {"N": "2"},
        "o": {"S": "itrAbCdEfGhIjKlMn/recAbCdEfGhIjKlMn"},
        "expires_at": {"N": "1717156800"},
    }

    # Then our own (pessimistic) estimate agrees that it fits one write unit
    assert item_size(item) <= WRITE_UNIT_BYTES


def test_bad_checkpoints_are_refused(runs: SyncRunRepository) -> None:
    run_id = _run_id()
    with pytest.raises(ValueError, match="multiple of 8"):
        runs.save_checkpoint(BASE_ID, run_id, Checkpoint(0, None, {}, b"123", 0))
    with pytest.raises(ValueError, match="page_number"):
        runs.save_checkpoint(BASE_ID, run_id, Checkpoint(1_000_000, None, {}, b"", 0))
    with pytest.raises(ValueError, match="counts"):
        runs.save_checkpoint(BASE_ID, run_id, Checkpoint(0, None, {"written": -1}, b"", 0))
    with pytest.raises(ValueError, match="listing_generation"):
        runs.save_checkpoint(BASE_ID, run_id, Checkpoint(0, None, {}, b"", -1))


# Base lock


def test_base_lock_is_exclusive_until_released(runs: SyncRunRepository, clock: FakeClock) -> None:
    # Given run A holding the base
    assert runs.acquire_base_lock(BASE_ID, "run-a", lease_seconds=60, now=clock())

    # When run B tries while the lease runs
    taken = runs.acquire_base_lock(BASE_ID, "run-b", lease_seconds=60, now=clock() + 59)

    # Then B is refused, A may re-acquire, and B gets the base once A releases it
    assert not taken
    assert runs.acquire_base_lock(BASE_ID, "run-a", lease_seconds=60, now=clock() + 1)
    lock = runs.get_base_lock(BASE_ID)
    assert lock is not None
    assert lock.run_id == "run-a"
    assert lock.lease_expires_at == pytest.approx(clock() + 61)
    assert not runs.release_base_lock(BASE_ID, "run-b")
    assert runs.release_base_lock(BASE_ID, "run-a")
    assert runs.get_base_lock(BASE_ID) is None
    assert runs.acquire_base_lock(BASE_ID, "run-b", lease_seconds=60, now=clock() + 2)


def test_an_expired_lease_is_taken_over_and_the_old_holder_loses_it(
    runs: SyncRunRepository, clock: FakeClock
) -> None:
    # Given run A's lease of 60 s, renewed once at +50 s
    start = clock()
    runs.acquire_base_lock(BASE_ID, "run-a", lease_seconds=60, now=start)
    assert runs.renew_base_lock(BASE_ID, "run-a", lease_seconds=60, now=start + 50)

    # When B tries before and after the renewed lease ends (+110 s)
    early = runs.acquire_base_lock(BASE_ID, "run-b", lease_seconds=60, now=start + 100)
    late = runs.acquire_base_lock(BASE_ID, "run-b", lease_seconds=60, now=start + 111)

    # Then B waits for the lease, then takes over, and A can neither renew nor release
    assert not early
    assert late
    assert not runs.renew_base_lock(BASE_ID, "run-a", lease_seconds=60, now=start + 112)
    assert not runs.release_base_lock(BASE_ID, "run-a")
    lock = runs.get_base_lock(BASE_ID)
    assert lock is not None
    assert lock.run_id == "run-b"


def test_lock_leases_must_be_positive(runs: SyncRunRepository, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="lease_seconds"):
        runs.acquire_base_lock(BASE_ID, "run-a", lease_seconds=0, now=clock())
    with pytest.raises(InvalidIdentifierError):
        runs.acquire_base_lock(BASE_ID, "run#a", lease_seconds=5, now=clock())


# Run listing


def _start_runs(runs: SyncRunRepository, clock: FakeClock, tables: list[str]) -> list[str]:
    """One run per entry of ``tables``, a second apart, each finished before the next starts."""
    run_ids: list[str] = []
    for table_id in tables:
        run_id = _run_id()
        assert runs.create_run(BASE_ID, table_id, f"name of {table_id}", run_id, version(0)).created
        runs.finish_run(BASE_ID, run_id, "succeeded", {"fetched": len(run_ids)})
        run_ids.append(run_id)
        clock.advance(1)
    return run_ids


def test_runs_are_listed_newest_first_by_base_or_by_table(runs: SyncRunRepository, clock: FakeClock) -> None:
    # Given five runs of two tables
    run_ids = _start_runs(runs, clock, [TABLE_ID, OTHER_TABLE_ID, TABLE_ID, TABLE_ID, OTHER_TABLE_ID])

    # When the base's runs and one table's runs are listed
    everything = runs.list_runs(BASE_ID)
    of_table = runs.list_runs(BASE_ID, table_id=OTHER_TABLE_ID)

    # Then each comes newest first, with the runs' state, and nothing more to page through
    assert [run.run_id for run in everything.runs] == run_ids[::-1]
    assert [run.run_id for run in of_table.runs] == [run_ids[4], run_ids[1]]
    assert everything.runs[0] == runs.get_run(BASE_ID, run_ids[4])
    assert everything.next_position is None and of_table.next_position is None
    assert runs.list_runs(BASE_ID, table_id="tblNeverSynced001").runs == []


def test_pages_of_runs_follow_each_other_without_gaps_or_repeats(
    runs: SyncRunRepository, clock: FakeClock
) -> None:
    # Given seven runs
    run_ids = _start_runs(runs, clock, [TABLE_ID] * 7)

    # When they are listed three at a time
    pages = [runs.list_runs(BASE_ID, limit=3)]
    while pages[-1].next_position is not None:
        pages.append(runs.list_runs(BASE_ID, limit=3, after=pages[-1].next_position))

    # Then three pages hold every run once, newest first, and the last says there is no more
    assert [len(page.runs) for page in pages] == [3, 3, 1]
    assert [run.run_id for page in pages for run in page.runs] == run_ids[::-1]


def test_a_listing_reads_in_proportion_to_its_page(
    runs: SyncRunRepository, clock: FakeClock, dynamodb_table: DynamoTable
) -> None:
    # Given twelve runs
    _start_runs(runs, clock, [TABLE_ID, OTHER_TABLE_ID] * 6)
    queried: list[int] = []
    fetched: list[int] = []

    def count_query(parsed: dict[str, object], **_: object) -> None:
        queried.append(int(str(parsed["ScannedCount"])))

    def count_batch_get(params: dict[str, dict[str, dict[str, list[object]]]], **_: object) -> None:
        fetched.extend(len(request["Keys"]) for request in params["RequestItems"].values())

    events = dynamodb_table.client.meta.events
    events.register("after-call.dynamodb.Query", count_query)
    events.register("provide-client-params.dynamodb.BatchGetItem", count_batch_get)
    try:
        # When a page of four is listed, of the base and of one table
        runs.list_runs(BASE_ID, limit=4)
        runs.list_runs(BASE_ID, table_id=TABLE_ID, limit=4)
    finally:
        events.unregister("after-call.dynamodb.Query", count_query)
        events.unregister("provide-client-params.dynamodb.BatchGetItem", count_batch_get)

    # Then each read five log entries (one to know more follow) and fetched four runs: never all twelve
    assert queried == [5, 5]
    assert fetched == [4, 4]


def test_a_listed_run_leaves_its_failures_to_its_own_page(runs: SyncRunRepository) -> None:
    # Given a failed run with failures
    run_id = _run_id()
    runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))
    failures = [RunFailure(record_id(number), "too_large") for number in range(3)]
    runs.finish_run(BASE_ID, run_id, "failed", {"fetched": 10}, failures, error="billing limit")

    # When it is listed
    (listed,) = runs.list_runs(BASE_ID).runs

    # Then it carries everything but the failure list itself
    assert listed.status == "failed"
    assert listed.error == "billing limit"
    assert listed.totals == {"fetched": 10}
    assert listed.failures_total == 3
    assert listed.failures == ()


def test_refused_or_expired_runs_are_not_listed(runs: SyncRunRepository, dynamodb_table: DynamoTable) -> None:
    # Given a queued run, a second start refused by it, and an older run whose item has expired
    expired_id = _run_id()
    runs.create_run(BASE_ID, OTHER_TABLE_ID, "Companies", expired_id, version(0))
    runs.finish_run(BASE_ID, expired_id, "succeeded", {})
    dynamodb_table.client.delete_item(
        TableName=dynamodb_table.name, Key={"pk": {"S": f"B#{BASE_ID}#RUN#{expired_id}"}, "sk": {"S": "RUN"}}
    )
    queued = runs.create_run(BASE_ID, TABLE_ID, "Contacts", _run_id(), version(1)).run
    refused_id = _run_id()
    assert not runs.create_run(BASE_ID, TABLE_ID, "Contacts", refused_id, version(2)).created

    # When the base's runs are listed, Then only the queued run is there
    assert [run.run_id for run in runs.list_runs(BASE_ID).runs] == [queued.run_id]


def test_a_retried_start_is_listed_once(runs: SyncRunRepository) -> None:
    run_id = _run_id()
    runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))
    runs.create_run(BASE_ID, TABLE_ID, "Contacts", run_id, version(0))
    assert [run.run_id for run in runs.list_runs(BASE_ID).runs] == [run_id]


@pytest.mark.parametrize("limit", [0, 101, True, 2.5])
def test_a_listing_limit_outside_1_to_100_is_refused(runs: SyncRunRepository, limit: object) -> None:
    with pytest.raises(ValueError, match="limit"):
        runs.list_runs(BASE_ID, limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "position",
    [
        "",
        "garbage",
        "2024-05-01T12:00:00.000000Z",
        "2024-05-01T12:00:00Z#run",
        "2024-05-01T12:00:00.000000Z#a#b",
    ],
)
def test_a_position_no_listing_gave_is_refused(runs: SyncRunRepository, position: str) -> None:
    with pytest.raises(InvalidCursorError):
        runs.list_runs(BASE_ID, after=position)
