"""Draining a webhook against the emulator over HTTP and a real mirror table (moto and dynalite)."""

from collections.abc import Iterator

import pytest

from airtable_mirror.webhooks.drain import DrainOutcome
from tests.layers.common.airtable_mirror.webhooks.harness import WebhookHarness, webhook_harness
from tests.support.dynamodb import DynamoTable


@pytest.fixture
def hooks(dynamodb_table: DynamoTable) -> Iterator[WebhookHarness]:
    with webhook_harness(dynamodb_table) as ready:
        ready.register()
        yield ready


def test_created_changed_and_deleted_records_reach_the_mirror(hooks: WebhookHarness) -> None:
    # Given records created, changed and deleted after the webhook was registered
    ids = hooks.sync.add_records(30)
    state = hooks.emulator.state
    state.update_records(hooks.base_id, "Items", [(ids[0], {"Name": "renamed", "Count": None})])
    state.delete_records(hooks.base_id, "Items", ids[5:8])

    # When the webhook is drained
    result = hooks.drain()

    # Then the mirror equals Airtable, and the cursor moved past every payload
    assert result.outcome is DrainOutcome.DRAINED
    assert hooks.sync.mirror_state() == hooks.sync.airtable_state()
    assert result.cursor_from == 1 and result.cursor_to == hooks.state().cursor == 4
    assert hooks.sync.records.get(hooks.base_id, ids[5]) is None
    tombstone = hooks.sync.records.get(hooks.base_id, ids[5], include_deleted=True)
    assert tombstone is not None and tombstone.deleted


def test_a_record_stored_from_a_webhook_is_the_one_a_full_sync_stores(hooks: WebhookHarness) -> None:
    hooks.sync.add_records(40)
    hooks.drain()

    # A full sync afterwards finds every record identical (same cells, keys and created time)
    result = hooks.sync.sync()

    assert result.counts.fetched == 40
    assert result.counts.unchanged == 40 and result.counts.written == 0


def test_100_changed_records_cost_two_airtable_requests(hooks: WebhookHarness) -> None:
    ids = hooks.sync.add_records(100)
    hooks.drain()
    hooks.emulator.state.update_records(
        hooks.base_id, "Items", [(record_id, {"Name": f"changed {n}"}) for n, record_id in enumerate(ids)]
    )

    result = hooks.drain()

    # One payloads request (one transaction, one payload) and one re-read of 100 ids
    assert result.requests == 2
    assert result.counts.reread == 100 and result.counts.written == 100


def test_a_second_drain_and_a_spurious_one_change_nothing(hooks: WebhookHarness) -> None:
    hooks.sync.add_records(5)
    first = hooks.drain()

    again = hooks.drain()

    assert again.outcome is DrainOutcome.DRAINED
    assert again.cursor_from == again.cursor_to == first.cursor_to
    assert again.counts.payloads == 0 and again.requests == 1
    assert hooks.state().payloads_applied == 1


def test_a_drain_of_an_unknown_webhook_is_harmless(hooks: WebhookHarness) -> None:
    result = hooks.drain("achUnknownHook123")
    assert result.outcome is DrainOutcome.UNKNOWN
    assert result.requests == 0


def test_a_crash_between_apply_and_cursor_advance_reapplies_harmlessly(
    hooks: WebhookHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = hooks.sync.add_records(10)
    original = hooks.repository.advance_cursor

    def crash(*args: object, **kwargs: object) -> bool:
        raise SystemExit("the Lambda was killed")

    monkeypatch.setattr(hooks.repository, "advance_cursor", crash)
    with pytest.raises(SystemExit):
        hooks.drain()
    monkeypatch.setattr(hooks.repository, "advance_cursor", original)
    # The records were written, the cursor was not moved, and the lease is still held
    assert hooks.state().cursor == 1
    assert hooks.drain().outcome is DrainOutcome.BUSY
    hooks.emulator.state.update_records(hooks.base_id, "Items", [(ids[0], {"Name": "after the crash"})])

    # Once the lease expired, the next drain applies the same payloads again, then the new one
    hooks.lease_clock.advance(61)
    result = hooks.drain()

    assert result.outcome is DrainOutcome.DRAINED
    assert (result.cursor_from, result.cursor_to) == (1, 3)
    assert result.counts.unchanged == 9 and result.counts.written == 1
    assert hooks.sync.mirror_state() == hooks.sync.airtable_state()


def test_an_ordinary_error_frees_the_webhook_at_once(
    hooks: WebhookHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks.sync.add_records(3)

    def fail(*args: object, **kwargs: object) -> object:
        raise RuntimeError("DynamoDB is unwell")

    monkeypatch.setattr(hooks.sync.records, "upsert_many", fail)
    with pytest.raises(RuntimeError):
        hooks.drain()
    monkeypatch.undo()

    assert hooks.state().lease_owner is None
    assert hooks.drain().outcome is DrainOutcome.DRAINED
    assert hooks.sync.mirror_state() == hooks.sync.airtable_state()


@pytest.mark.dynalite
def test_two_concurrent_workers_apply_and_advance_each_payload_once(dynalite_only_table: DynamoTable) -> None:
    import threading

    with webhook_harness(dynalite_only_table) as hooks:
        hooks.register()
        for n in range(30):
            hooks.emulator.state.create_records(hooks.base_id, "Items", [{"Name": f"item {n}"}])
        barrier = threading.Barrier(2)
        results = []

        def worker() -> None:
            barrier.wait()
            results.append(hooks.drainer.drain(hooks.webhook_id))

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Whichever way they met (one busy, or one after the other), every payload was applied and
        # the cursor advanced past it exactly once
        assert {result.outcome for result in results} <= {DrainOutcome.BUSY, DrainOutcome.DRAINED}
        assert sum(result.counts.payloads for result in results) == 30
        state = hooks.state()
        assert (state.cursor, state.payloads_applied, state.lease_owner) == (31, 30, None)
        assert hooks.sync.mirror_state() == hooks.sync.airtable_state()


def test_a_drain_whose_lease_expired_cannot_move_the_cursor(
    hooks: WebhookHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks.sync.add_records(4)
    original_apply = hooks.applier.apply
    takeover: list[DrainOutcome] = []
    stalled_once: list[bool] = []

    def apply_then_stall(*args: object, **kwargs: object) -> object:
        counts = original_apply(*args, **kwargs)  # type: ignore[arg-type]
        if not stalled_once:
            stalled_once.append(True)
            # This drain stalls past its lease; another worker takes the webhook over meanwhile
            hooks.lease_clock.advance(61)
            takeover.append(hooks.drainer.drain(hooks.webhook_id).outcome)
        return counts

    monkeypatch.setattr(hooks.applier, "apply", apply_then_stall)
    stalled = hooks.drain()

    assert takeover == [DrainOutcome.DRAINED]
    assert stalled.outcome is DrainOutcome.LOST_LEASE
    state = hooks.state()
    assert (state.cursor, state.payloads_applied) == (2, 1)


def test_payloads_that_expired_unread_ask_for_full_syncs(moto_dynamo: DynamoTable) -> None:
    from airtable_emulator.settings import EmulatorSettings

    settings = EmulatorSettings(
        requests_per_second_per_base=400,
        requests_per_second_per_token=4000,
        webhook_payload_retention_seconds=3600,
    )
    with webhook_harness(moto_dynamo, emulator_settings=settings) as hooks:
        hooks.register()
        hooks.sync.add_records(3)
        hooks.emulator.clock.advance(7200)  # the payload of those three records is gone
        hooks.sync.add_records(1, seed=5)

        result = hooks.drain()

        assert result.counts.reread == 1
        assert {request.table_id for request in hooks.full_syncs.pending()} == {
            hooks.table_id("Items"),
            hooks.table_id("Others"),
        }
        hooks.settle()
        assert hooks.sync.mirror_state() == hooks.sync.airtable_state()
