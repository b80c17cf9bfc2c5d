"""Webhook items: state, lease, cursor, pings, health, secrets and full-sync requests."""

import threading
from collections.abc import Callable

import pytest

from airtable_mirror.repository.errors import InvalidIdentifierError
from airtable_mirror.repository.webhooks import ClaimStatus, WebhookRepository, WebhookState
from tests.support.dynamodb import DynamoTable
from tests.support.records import BASE_ID, TABLE_ID, version

HOOK = "achTestHook000001"


def new_state(webhook_id: str = HOOK, **overrides: object) -> WebhookState:
    values: dict[str, object] = {
        "base_id": BASE_ID,
        "webhook_id": webhook_id,
        "cursor": 1,
        "notification_url": "https://example.test/hook",
        "table_ids": (TABLE_ID,),
        "specification": {"options": {"filters": {"dataTypes": ["tableData"]}}},
        "created_at": "2026-03-01T12:00:00.000000Z",
        "expiration_time": "2026-03-08T12:00:00.000Z",
    }
    values.update(overrides)
    return WebhookState(**values)  # type: ignore[arg-type]


@pytest.fixture
def repository(dynamodb_table: DynamoTable) -> WebhookRepository:
    store = WebhookRepository(dynamodb_table.client, dynamodb_table.name)
    assert store.create(new_state())
    return store


def test_a_webhook_is_stored_once_and_read_back(repository: WebhookRepository) -> None:
    assert not repository.create(new_state(cursor=7))
    stored = repository.get(BASE_ID, HOOK, consistent_read=True)
    assert stored == new_state()
    assert stored is not None and stored.covers(TABLE_ID) and not stored.covers("tblOther000000001")
    assert [state.webhook_id for state in repository.list_webhooks(BASE_ID)] == [HOOK]
    assert repository.get(BASE_ID, "achUnknown0000001") is None


def test_an_empty_scope_covers_every_table() -> None:
    assert new_state(table_ids=()).covers("tblAnything000001")


def test_ids_that_could_break_a_key_are_refused(repository: WebhookRepository) -> None:
    with pytest.raises(InvalidIdentifierError):
        repository.get(BASE_ID, "ach#injected")


def test_the_lease_keeps_a_second_drain_out_until_it_expires(repository: WebhookRepository) -> None:
    first = repository.claim(BASE_ID, HOOK, "owner-a", now=1000.0, lease_seconds=60)
    second = repository.claim(BASE_ID, HOOK, "owner-b", now=1030.0, lease_seconds=60)
    after_expiry = repository.claim(BASE_ID, HOOK, "owner-b", now=1061.0, lease_seconds=60)

    assert first.status is ClaimStatus.CLAIMED and first.state is not None
    assert first.state.lease_owner == "owner-a"
    assert second.status is ClaimStatus.BUSY
    assert after_expiry.status is ClaimStatus.CLAIMED
    assert (
        repository.claim(BASE_ID, "achUnknown0000001", "x", now=0, lease_seconds=1).status
        is ClaimStatus.UNKNOWN
    )


def test_the_cursor_moves_only_from_the_value_read_and_only_for_the_lease_holder(
    repository: WebhookRepository,
) -> None:
    repository.claim(BASE_ID, HOOK, "owner-a", now=1000.0, lease_seconds=60)

    def advance(owner: str, start: int, end: int, release: bool = False) -> bool:
        return repository.advance_cursor(
            BASE_ID,
            HOOK,
            owner=owner,
            from_cursor=start,
            to_cursor=end,
            payloads_applied=end - start,
            release=release,
        )

    assert not advance("owner-b", 1, 4)  # not the lease holder
    assert advance("owner-a", 1, 4)
    assert not advance("owner-a", 1, 4)  # already moved
    assert advance("owner-a", 4, 6, release=True)
    state = repository.get(BASE_ID, HOOK, consistent_read=True)
    assert state is not None
    assert (state.cursor, state.payloads_applied, state.lease_owner) == (6, 5, None)
    with pytest.raises(ValueError, match="forward"):
        advance("owner-a", 6, 2)


def test_a_ping_is_recorded_only_if_newer(repository: WebhookRepository) -> None:
    assert repository.record_ping(
        BASE_ID, HOOK, ping_timestamp="2026-03-01T12:00:01.000Z", ping_version=version(1)
    )
    assert not repository.record_ping(
        BASE_ID, HOOK, ping_timestamp="2026-03-01T12:00:01.000Z", ping_version=version(1)
    )
    assert not repository.record_ping(
        BASE_ID, HOOK, ping_timestamp="2026-03-01T12:00:00.000Z", ping_version=version(0)
    )
    assert repository.record_ping(
        BASE_ID, HOOK, ping_timestamp="2026-03-01T12:00:02.000Z", ping_version=version(2)
    )
    assert not repository.record_ping(
        BASE_ID, "achUnknown0000001", ping_timestamp="2026-03-01T12:00:02.000Z", ping_version=version(2)
    )
    state = repository.get(BASE_ID, HOOK, consistent_read=True)
    assert state is not None
    assert (state.last_ping_at, state.last_ping_version, state.pings_accepted) == (
        "2026-03-01T12:00:02.000Z",
        version(2),
        2,
    )


def test_health_repair_and_replacement(repository: WebhookRepository) -> None:
    assert repository.mark_unhealthy(BASE_ID, HOOK, "INVALID_HOOK")
    assert repository.begin_repair(BASE_ID, HOOK, now=1000.0, stale_after_seconds=900)
    # A second repairer stays out until the first one is presumed dead
    assert not repository.begin_repair(BASE_ID, HOOK, now=1100.0, stale_after_seconds=900)
    assert repository.begin_repair(BASE_ID, HOOK, now=1901.0, stale_after_seconds=900)
    assert repository.mark_replaced(BASE_ID, HOOK, "achTestHook000002", "INVALID_HOOK")
    state = repository.get(BASE_ID, HOOK, consistent_read=True)
    assert state is not None
    assert (state.health, state.replaced_by, state.repair_started_at) == (
        "replaced",
        "achTestHook000002",
        None,
    )
    # A replaced webhook stays replaced
    assert not repository.mark_healthy(BASE_ID, HOOK)
    assert not repository.begin_repair(BASE_ID, HOOK, now=9999.0, stale_after_seconds=1)


def test_secrets_are_kept_apart_from_the_listing(repository: WebhookRepository) -> None:
    repository.put_secret(BASE_ID, HOOK, "c2VjcmV0")
    assert repository.get_secret(BASE_ID, HOOK) == "c2VjcmV0"
    assert len(repository.list_webhooks(BASE_ID)) == 1
    repository.delete_secret(BASE_ID, HOOK)
    assert repository.get_secret(BASE_ID, HOOK) is None


def test_a_full_sync_request_keeps_the_latest_version_and_clears_only_if_unchanged(
    repository: WebhookRepository,
) -> None:
    assert repository.request_full_sync(BASE_ID, TABLE_ID, version(5), "a field was deleted")
    assert not repository.request_full_sync(BASE_ID, TABLE_ID, version(3), "older")
    assert repository.attach_full_sync_run(BASE_ID, TABLE_ID, version(5), "run_1")
    assert repository.request_full_sync(BASE_ID, TABLE_ID, version(8), "webhook recreated")
    [pending] = repository.pending_full_syncs(BASE_ID)
    assert (pending.after_version, pending.run_id, pending.reason) == (version(8), None, "webhook recreated")
    assert not repository.attach_full_sync_run(BASE_ID, TABLE_ID, version(5), "run_1")
    assert not repository.clear_full_sync(BASE_ID, TABLE_ID, version(5))
    assert repository.clear_full_sync(BASE_ID, TABLE_ID, version(8))
    assert repository.pending_full_syncs(BASE_ID) == []


def concurrently(actions: list[Callable[[], bool]]) -> list[bool]:
    barrier = threading.Barrier(len(actions))
    results: list[bool] = [False] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = actions[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.dynalite
def test_concurrent_claims_and_advances_let_exactly_one_through(dynalite_only_table: DynamoTable) -> None:
    repository = WebhookRepository(dynalite_only_table.client, dynalite_only_table.name)
    repository.create(new_state())

    def claimer(owner: str, now: float) -> Callable[[], bool]:
        return lambda: (
            repository.claim(BASE_ID, HOOK, owner, now=now, lease_seconds=60).status is ClaimStatus.CLAIMED
        )

    def advancer(owner: str, start: int) -> Callable[[], bool]:
        return lambda: repository.advance_cursor(
            BASE_ID,
            HOOK,
            owner=owner,
            from_cursor=start,
            to_cursor=start + 3,
            payloads_applied=3,
            release=True,
        )

    for round_number in range(5):
        owners = [f"round{round_number}-worker{n}" for n in range(6)]
        claims = concurrently([claimer(owner, 1000.0 + 100 * round_number) for owner in owners])
        assert claims.count(True) == 1
        winner = owners[claims.index(True)]
        state = repository.get(BASE_ID, HOOK, consistent_read=True)
        assert state is not None
        # Every worker believes it holds the webhook and moves the cursor from the same value
        advances = concurrently([advancer(owner, state.cursor) for owner in [winner, winner, *owners]])
        assert advances.count(True) == 1

    final = repository.get(BASE_ID, HOOK, consistent_read=True)
    assert final is not None and (final.cursor, final.payloads_applied) == (16, 15)
