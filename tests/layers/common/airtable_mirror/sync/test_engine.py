"""The sync engine against the emulator over HTTP and a real mirror table (moto and dynalite)."""

import threading
from collections.abc import Iterator, Sequence

import pytest

from airtable_emulator.errors import AirtableApiError
from airtable_mirror.repository import Checkpoint, RecordObservation, WriteOutcome
from airtable_mirror.sync.engine import PAGE_SIZE, PAGES_FETCHED_AHEAD, SliceOutcome
from tests.layers.common.airtable_mirror.sync.harness import SyncHarness, sync_harness
from tests.support.dynamodb import DynamoTable


@pytest.fixture
def harness(dynamodb_table: DynamoTable) -> Iterator[SyncHarness]:
    with sync_harness(dynamodb_table) as ready:
        yield ready


@pytest.fixture
def dynalite_harness(dynalite_only_table: DynamoTable) -> Iterator[SyncHarness]:
    with sync_harness(dynalite_only_table, client_timeout=1.0) as ready:
        yield ready


def test_full_sync_mirrors_the_table_exactly(harness: SyncHarness) -> None:
    # Given a table of 250 records of every common type
    harness.add_records(250)

    # When a run goes from start to end
    result = harness.sync()

    # Then the mirror equals the table and the counts say so
    assert result.outcome is SliceOutcome.FINISHED and result.error is None
    assert harness.mirror_state() == harness.airtable_state()
    assert result.counts.pages == 3
    assert result.counts.fetched == result.counts.written == 250
    assert result.counts.failed == result.counts.deleted == 0
    run = harness.runs.get_run(harness.base.id, result.run.run_id if result.run else "")
    assert run is not None and run.status == "succeeded"
    assert run.totals["written"] == 250


def test_resync_of_an_unchanged_table_writes_no_record(harness: SyncHarness) -> None:
    harness.add_records(120)
    harness.sync()

    again = harness.sync()

    assert again.counts.written == 0
    assert again.counts.unchanged == 120
    assert harness.mirror_state() == harness.airtable_state()


def test_changes_deletions_and_new_records_arrive_on_the_next_sync(harness: SyncHarness) -> None:
    ids = harness.add_records(150)
    harness.sync()
    state = harness.emulator.state
    state.update_records(harness.base.id, "Items", [(ids[0], {"Name": "renamed", "Count": None})])
    state.delete_records(harness.base.id, "Items", ids[10:15])
    harness.add_records(3, seed=99)

    result = harness.sync()

    assert result.counts.written == 4
    assert result.counts.deleted == 5
    assert harness.mirror_state() == harness.airtable_state()
    assert harness.records.get(harness.base.id, ids[10]) is None
    tombstone = harness.records.get(harness.base.id, ids[10], include_deleted=True)
    assert tombstone is not None and tombstone.deleted


def test_sweep_spares_records_that_arrived_another_way_after_the_run_began(harness: SyncHarness) -> None:
    harness.add_records(30)
    run_id = harness.start()
    run = harness.runs.get_run(harness.base.id, run_id)
    assert run is not None
    # A webhook stored a record created after the run began (Airtable lists it only later)
    late = RecordObservation(
        base_id=harness.base.id,
        table_id=harness.table_id,
        record_id="recLATE0000000001",
        created_time="2026-11-26T08:00:00.000Z",
        cells={},
        version=run.version_at_start + 1,
    )
    assert harness.records.upsert(late).status == "written"

    harness.run_to_end(run_id)

    assert harness.records.get(harness.base.id, "recLATE0000000001") is not None


def _count_index_walks(harness: SyncHarness, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    walks: list[str] = []
    walk = harness.records.iter_table_keys

    def counted(base_id: str, table_id: str, page_size: int = 500) -> Iterator[tuple[str, int]]:
        walks.append(table_id)
        return walk(base_id, table_id, page_size)

    monkeypatch.setattr(harness.records, "iter_table_keys", counted)
    return walks


def test_a_run_that_deletes_nothing_walks_the_index_once(
    harness: SyncHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a mirrored table that has not changed since
    harness.add_records(150)
    harness.sync()
    walks = _count_index_walks(harness, monkeypatch)

    # When it is synced again
    result = harness.sync()

    # Then the index walk made while the listing ran found every record in the listing: no second walk
    assert result.counts.unchanged == 150 and result.counts.deleted == 0
    assert walks == [harness.table_id]


def test_a_record_missing_from_the_listing_makes_the_sweep_walk_again_and_tombstone_it(
    harness: SyncHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = harness.add_records(150)
    harness.sync()
    harness.emulator.state.delete_records(harness.base.id, "Items", [ids[70]])
    walks = _count_index_walks(harness, monkeypatch)

    result = harness.sync()

    assert result.counts.deleted == 1
    assert walks == [harness.table_id, harness.table_id]
    assert harness.records.get(harness.base.id, ids[70]) is None
    assert harness.mirror_state() == harness.airtable_state()


def test_the_next_page_is_written_while_a_page_finishes_and_checkpoints_keep_page_order(
    harness: SyncHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.add_records(350)
    run_id = harness.start()
    write = harness.records.upsert_many
    save = harness.runs.save_checkpoint
    lock = threading.Lock()
    events: list[str] = []
    second_page_started = threading.Event()
    first_page_saw_the_second: list[bool] = []

    def upsert_many(observations: Sequence[RecordObservation], *, max_workers: int = 8) -> list[WriteOutcome]:
        with lock:
            page = sum(event.startswith("writing") for event in events) + 1
            events.append(f"writing {page}")
        if page == 2:
            second_page_started.set()
        if page == 1:
            # The first page's writes cannot end before the second page's have begun
            first_page_saw_the_second.append(second_page_started.wait(timeout=60))
        outcomes = write(observations, max_workers=max_workers)
        with lock:
            events.append(f"wrote {page}")
        return outcomes

    def save_checkpoint(base_id: str, run_id: str, checkpoint: Checkpoint) -> None:
        with lock:
            events.append(f"checkpoint {checkpoint.page_number}")
        save(base_id, run_id, checkpoint)

    monkeypatch.setattr(harness.records, "upsert_many", upsert_many)
    monkeypatch.setattr(harness.runs, "save_checkpoint", save_checkpoint)

    result = harness.run_to_end(run_id)[-1]

    assert first_page_saw_the_second == [True]
    checkpoints = [event for event in events if event.startswith("checkpoint")]
    assert checkpoints == [f"checkpoint {page}" for page in range(1, 5)]
    for page in range(1, 5):
        assert events.index(f"wrote {page}") < events.index(f"checkpoint {page}")
    assert result.counts.written == 350 and result.counts.pages == 4
    assert harness.mirror_state() == harness.airtable_state()


def test_a_run_hands_over_between_pages_and_resumes_from_its_checkpoint(harness: SyncHarness) -> None:
    harness.add_records(1020)  # 11 pages
    run_id = harness.start()

    # Every slice is told to hand over after its first page, as when the Lambda's time runs short
    results = harness.run_to_end(run_id, hand_over=lambda: True)

    # Each slice writes the pages it had already asked the fetcher for, then hands over
    assert PAGES_FETCHED_AHEAD == 2
    assert [r.outcome for r in results] == [SliceOutcome.HANDOVER] * 5 + [SliceOutcome.FINISHED]
    assert [r.counts.pages for r in results if r.counts] == [2, 4, 6, 8, 10, 11]
    assert results[-1].counts.written == 1020
    # and no page was fetched twice: one listing request a page, across the six slices
    assert results[-1].counts.requests == 11
    assert harness.mirror_state() == harness.airtable_state()


def test_a_crashed_slice_is_resumed_idempotently(
    harness: SyncHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.add_records(300)
    run_id = harness.start()
    original = harness.records.upsert_many
    calls = {"n": 0}

    def crash_on_third_page(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("the Lambda was killed")  # not an error the engine may catch
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(harness.records, "upsert_many", crash_on_third_page)
    with pytest.raises(SystemExit):
        harness.engine.run_slice(harness.base.id, run_id, should_hand_over=lambda: False)
    monkeypatch.setattr(harness.records, "upsert_many", original)

    # The message comes back (same run); the run resumes from page 2's checkpoint
    result = harness.run_to_end(run_id)[-1]

    assert result.outcome is SliceOutcome.FINISHED and result.error is None
    assert harness.mirror_state() == harness.airtable_state()
    assert result.counts.written == 300


def test_a_second_run_of_a_busy_base_waits(harness: SyncHarness) -> None:
    harness.add_records(5)
    harness.add_records(5, table="Others")
    first = harness.start("Items")
    second = harness.start("Others")
    assert harness.runs.acquire_base_lock(harness.base.id, first, 900, harness.engine._clock())

    result = harness.engine.run_slice(harness.base.id, second, should_hand_over=lambda: False)

    assert result.outcome is SliceOutcome.BASE_BUSY
    harness.runs.release_base_lock(harness.base.id, first)
    assert harness.run_to_end(second)[-1].outcome is SliceOutcome.FINISHED


def test_a_finished_run_ignores_a_duplicate_message(harness: SyncHarness) -> None:
    harness.add_records(5)
    run_id = harness.start()
    harness.run_to_end(run_id)

    again = harness.engine.run_slice(harness.base.id, run_id, should_hand_over=lambda: False)

    assert again.outcome is SliceOutcome.NOT_ACTIVE


def test_a_record_too_large_for_dynamodb_is_reported_and_the_run_goes_on(harness: SyncHarness) -> None:
    import base64
    import os

    harness.add_records(20)
    # 600 KB of random text: about 480 KB even compressed, past DynamoDB's 400 KB item limit
    noise = base64.b85encode(os.urandom(480_000)).decode()
    big = harness.emulator.state.create_records(harness.base.id, "Items", [{"Name": "big", "Notes": noise}])[
        0
    ]

    result = harness.sync()

    assert result.outcome is SliceOutcome.FINISHED and result.error is None
    assert result.counts.failed == 1
    assert result.counts.written == 20
    run = harness.runs.get_run(harness.base.id, result.run.run_id if result.run else "")
    assert run is not None and run.status == "succeeded"
    assert [f.record_id for f in run.failures] == [big.id]
    assert "too large" in run.failures[0].reason


@pytest.mark.dynalite
@pytest.mark.parametrize(
    ("kind", "count"),
    [("500", 3), ("502", 2), ("503", 3), ("drop", 2), ("delay", 1)],
)
def test_a_run_survives_injected_faults(dynalite_harness: SyncHarness, kind: str, count: int) -> None:
    harness = dynalite_harness
    harness.add_records(350)
    prefix = f"/v0/{harness.base.id}/"
    harness.emulator.faults.fail_next(count, kind, path_prefix=prefix, delay_seconds=1.5)
    # and more faults in the middle of the listing
    harness.emulator.faults.set_rate(kind, 0.2, seed=3, path_prefix=prefix, delay_seconds=1.5)

    result = harness.sync()
    harness.emulator.faults.clear()

    assert result.outcome is SliceOutcome.FINISHED and result.error is None
    assert result.counts.retries >= count
    assert harness.mirror_state() == harness.airtable_state()


@pytest.mark.dynalite
def test_a_run_survives_rate_limiting(dynalite_harness: SyncHarness) -> None:
    harness = dynalite_harness
    harness.add_records(250)
    run_id = harness.start()
    # Another sender spends the base's budget: Airtable answers 429 and holds the base for the penalty
    with pytest.raises(AirtableApiError) as refused:
        for _ in range(1000):
            harness.emulator.rate_limiter.check(token=harness.emulator.token, base_id=harness.base.id)
    assert refused.value.status == 429

    result = harness.run_to_end(run_id)[-1]

    assert result.outcome is SliceOutcome.FINISHED and result.error is None
    assert result.counts.rate_limited >= 1
    assert harness.mirror_state() == harness.airtable_state()


@pytest.mark.dynalite
def test_a_run_survives_iterator_expiry(dynalite_harness: SyncHarness) -> None:
    harness = dynalite_harness
    harness.add_records(450)
    run_id = harness.start()
    pages = {"n": 0}

    def expire_after_second_page() -> bool:
        pages["n"] += 1
        if pages["n"] == 2:
            harness.emulator.expire_iterators()
        return False

    result = harness.run_to_end(run_id, hand_over=expire_after_second_page)[-1]

    assert result.outcome is SliceOutcome.FINISHED and result.error is None
    assert result.counts.listing_restarts == 1
    assert harness.mirror_state() == harness.airtable_state()


@pytest.mark.dynalite
def test_iterator_expiry_does_not_hide_deletions(dynalite_harness: SyncHarness) -> None:
    harness = dynalite_harness
    # Enough pages that some are still to be asked for when page 2 reaches the writers
    ids = harness.add_records((PAGES_FETCHED_AHEAD + 3) * PAGE_SIZE)
    harness.sync()
    run_id = harness.start()
    pages = {"n": 0}

    def delete_then_expire() -> bool:
        pages["n"] += 1
        if pages["n"] == 2:
            # page 1 listed ids[0]; it is deleted before the listing restarts
            harness.emulator.state.delete_records(harness.base.id, "Items", [ids[0]])
            harness.emulator.expire_iterators()
        return False

    result = harness.run_to_end(run_id, hand_over=delete_then_expire)[-1]

    assert result.counts.deleted == 1
    assert harness.mirror_state() == harness.airtable_state()


def test_the_table_schema_and_last_sync_are_kept_for_the_api(harness: SyncHarness) -> None:
    harness.add_records(3)
    result = harness.sync()

    stored = harness.schemas.get_table(harness.base.id, harness.table_id)

    assert stored is not None
    assert stored.name == "Items"
    assert [f.name for f in stored.fields] == [f.name for f in harness.base.table("Items").fields.values()]
    assert stored.last_sync is not None
    assert stored.last_sync.status == "succeeded"
    assert stored.last_sync.run_id == (result.run.run_id if result.run else None)
    assert stored.last_sync.counts["written"] == 3


def test_a_rejected_token_fails_the_run_without_the_token_in_its_result(harness: SyncHarness) -> None:
    harness.add_records(5)
    run_id = harness.start()
    harness.emulator.app.token = "patSomeOtherToken.rotated"  # Airtable now rejects the configured token

    result = harness.run_to_end(run_id)[-1]

    assert result.outcome is SliceOutcome.FINISHED
    run = harness.runs.get_run(harness.base.id, run_id)
    assert run is not None and run.status == "failed"
    assert run.error is not None and "401" in run.error
    assert "patEmulatorLocalToken" not in repr(run) + str(result)
    # The base is free again for the next run
    assert harness.runs.get_base_lock(harness.base.id) is None


def test_a_stalled_run_is_abandoned_so_the_table_can_sync_again(harness: SyncHarness) -> None:
    harness.add_records(5)
    stalled = harness.start()  # its message is lost: nobody ever runs it
    harness.service._clock = lambda: harness.engine._clock() + 4 * 3600  # four hours later

    fresh = harness.service.start_run("Items")

    assert fresh.created and fresh.run.run_id != stalled
    old = harness.runs.get_run(harness.base.id, stalled)
    assert old is not None and old.status == "failed"
    assert old.error is not None and old.error.startswith("abandoned")


def test_a_run_holding_the_base_is_never_abandoned(harness: SyncHarness) -> None:
    harness.add_records(5)
    running = harness.start()
    later = harness.engine._clock() + 4 * 3600
    assert harness.runs.acquire_base_lock(harness.base.id, running, 900, later)
    harness.service._clock = lambda: later

    again = harness.service.start_run("Items")

    assert not again.created and again.run.run_id == running


def test_a_message_delivered_twice_cannot_run_the_same_slice_twice(harness: SyncHarness) -> None:
    harness.add_records(250)
    run_id = harness.start()
    now = harness.engine._clock()
    # Invocation A holds slice 0 (it is copying pages right now)
    assert harness.runs.claim_slice(harness.base.id, run_id, 0, "invocation-a", 900, now)

    duplicate = harness.engine.run_slice(
        harness.base.id, run_id, should_hand_over=lambda: False, slice_number=0, owner="invocation-b"
    )

    assert duplicate.outcome is SliceOutcome.DUPLICATE
    # A hands over: slice 1 goes on; a late copy of slice 0's message is dropped
    first = harness.engine.run_slice(
        harness.base.id, run_id, should_hand_over=lambda: True, slice_number=0, owner="invocation-a"
    )
    assert first.outcome is SliceOutcome.HANDOVER
    second = harness.engine.run_slice(
        harness.base.id, run_id, should_hand_over=lambda: False, slice_number=1, owner="invocation-c"
    )
    assert second.outcome is SliceOutcome.FINISHED
    late = harness.runs.claim_slice(harness.base.id, run_id, 0, "invocation-d", 900, now)
    assert not late
    assert harness.mirror_state() == harness.airtable_state()


def test_the_redelivered_message_of_a_crashed_slice_takes_it_over(harness: SyncHarness) -> None:
    harness.add_records(20)
    run_id = harness.start()
    long_ago = harness.engine._clock() - 3600
    # Invocation A claimed slice 0 an hour ago and died; its lease has run out
    assert harness.runs.claim_slice(harness.base.id, run_id, 0, "invocation-a", 900, long_ago)

    result = harness.engine.run_slice(
        harness.base.id, run_id, should_hand_over=lambda: False, slice_number=0, owner="invocation-b"
    )

    assert result.outcome is SliceOutcome.FINISHED
