"""The mirror converges: whatever the interleaving of full-sync pages, webhook drains, pings, crashes
and redeliveries, it ends equal to the emulator's tables.

Hypothesis draws a sequence of steps and runs them against the emulator (Python API and HTTP) and a
mirror table on dynalite:

- mutations: records created, changed (cells set and cleared), deleted; fields renamed, added
  (plain or computed) and deleted; through the Python API (source "client") or HTTP ("publicApi");
- full-sync slices of one page each (hand-over after every page), some with a mutation and a drain
  run between the page's fetch and its write (the race that versions settle);
- drains, some crashing after the apply and before the cursor advance, or in the middle of the apply
  (a hard crash: the lease stays held until it expires), some delivered twice;
- pings through the receiver, some duplicated; sync slices that crash mid-run;
- error payloads, after which the webhook is repaired (recreated, full syncs).

At the end, with no forced full sync: runs still going are finished, the webhook is drained, the full
syncs the webhooks asked for are run; then the mirror's records equal Airtable's exactly (both tables)
and the stored field names are Airtable's.

CI runs 25 examples; a longer local run: ``WEBHOOK_CONVERGENCE_EXAMPLES=500 pytest -k convergence``.
"""

import contextlib
import os
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airtable_emulator.clock import iso_millis
from airtable_mirror.repository import RecordObservation, RecordRepository, WriteOutcome
from airtable_mirror.sync.engine import SliceOutcome, SyncEngine
from airtable_mirror.webhooks.drain import DrainOutcome
from tests.layers.common.airtable_mirror.webhooks.harness import WebhookHarness, webhook_harness
from tests.support.dynamodb import DynaliteServer, dynalite_table

EXAMPLES = int(os.environ.get("WEBHOOK_CONVERGENCE_EXAMPLES", "25"))
LEASE_SECONDS = 60.0
PLAIN_TYPES = ("singleLineText", "number", "checkbox", "singleSelect", "multilineText")


class SimulatedCrash(BaseException):
    """The process dies: nothing may catch it, no lease is released."""


class HookedRecords(RecordRepository):
    """The record repository with a seam before each batch of writes: run queued actions (a race) or
    crash."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_write: list[Callable[[], None]] = []
        self.crash_next_write = False

    def upsert_many(
        self, observations: Sequence[RecordObservation], *, max_workers: int = 8
    ) -> list[WriteOutcome]:
        while self.before_write:
            self.before_write.pop(0)()
        if self.crash_next_write:
            self.crash_next_write = False
            raise SimulatedCrash("killed between fetching and writing")
        return super().upsert_many(observations, max_workers=max_workers)


# --- steps ------------------------------------------------------------------------------------

via = st.sampled_from(["python", "http"])
seeds = st.integers(0, 2**16)
picks = st.integers(0, 1000)
steps = st.one_of(
    st.tuples(st.just("create"), st.integers(1, 3), seeds, via),
    st.tuples(st.just("update"), picks, seeds, via),
    st.tuples(st.just("delete"), picks, via),
    st.tuples(st.just("create_other"), seeds),
    st.tuples(st.just("rename_field"), picks),
    st.tuples(st.just("add_field"), st.booleans()),
    st.tuples(st.just("delete_field"), picks),
    st.tuples(st.just("sync_slice"), st.booleans(), seeds),
    st.tuples(st.just("sync_crash")),
    st.tuples(st.just("drain"), st.sampled_from([None, None, "before_advance", "mid_apply"]), st.booleans()),
    st.tuples(st.just("ping"), st.booleans()),
    st.tuples(st.just("error_payload")),
)


class World:
    """One example: the harness, and the moves the steps make on it."""

    def __init__(self, hooks: WebhookHarness) -> None:
        self.hooks = hooks
        self.state = hooks.emulator.state
        self.base_id = hooks.base_id
        self.field_counter = 0
        client = hooks.sync.dynamo.client
        name = hooks.sync.dynamo.name
        # The sync engine and the webhook applier write through seams of their own
        self.sync_records = HookedRecords(client, name)
        self.hooks.sync.engine = SyncEngine(
            hooks.sync.client, self.sync_records, hooks.sync.runs, hooks.sync.schemas
        )
        self.apply_records = HookedRecords(client, name)
        hooks.applier._records = self.apply_records
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {hooks.emulator.token}"
        self.current_run: str | None = None

    # mutations

    def items(self) -> Any:
        return self.hooks.sync.base.table("Items")

    def value(self, field_type: str, rng: random.Random) -> Any:
        if field_type == "number":
            return rng.choice([1, 2.5, -3, 1e-7, None])
        if field_type == "checkbox":
            return rng.choice([True, False, None])
        if field_type == "singleSelect":
            return rng.choice(["red", "blue", None])
        return rng.choice(["a", "b", "\u03b1 \U0001f4a1", "", None])

    def random_fields(self, seed: int) -> dict[str, Any]:
        rng = random.Random(seed)
        table = self.items()
        writable = [f for f in table.fields.values() if f.type in PLAIN_TYPES]
        chosen = rng.sample(writable, k=rng.randint(1, len(writable)))
        return {f.name: self.value(f.type, rng) for f in chosen}

    def live_ids(self) -> list[str]:
        with self.state.lock:
            return sorted(self.items().records)

    def records_url(self, table: str = "Items") -> str:
        return f"{self.hooks.emulator.url}/v0/{self.base_id}/{table}"

    def create(self, count: int, seed: int, how: str) -> None:
        batch = [self.random_fields(seed + n) for n in range(count)]
        if how == "python":
            self.state.create_records(self.base_id, "Items", batch, typecast=True)
        else:
            response = self.http.post(
                self.records_url(),
                json={"records": [{"fields": f} for f in batch], "typecast": True},
                timeout=10,
            )
            response.raise_for_status()

    def update(self, pick: int, seed: int, how: str) -> None:
        ids = self.live_ids()
        if not ids:
            return
        target, fields = ids[pick % len(ids)], self.random_fields(seed)
        if how == "python":
            self.state.update_records(self.base_id, "Items", [(target, fields)], typecast=True)
        else:
            body = {"records": [{"id": target, "fields": fields}], "typecast": True}
            self.http.patch(self.records_url(), json=body, timeout=10).raise_for_status()

    def delete(self, pick: int, how: str) -> None:
        ids = self.live_ids()
        if not ids:
            return
        target = ids[pick % len(ids)]
        if how == "python":
            self.state.delete_records(self.base_id, "Items", [target])
        else:
            self.http.delete(
                self.records_url(), params=[("records[]", target)], timeout=10
            ).raise_for_status()

    def create_other(self, seed: int) -> None:
        self.state.create_records(self.base_id, "Others", [{"Title": f"other {seed}"}])

    def non_primary_fields(self) -> list[Any]:
        table = self.items()
        return [f for f in table.fields.values() if f.id != table.primary_field_id]

    def rename_field(self, pick: int) -> None:
        fields = self.non_primary_fields()
        if fields:
            target = fields[pick % len(fields)]
            self.field_counter += 1
            self.state.rename_field(
                self.base_id, "Items", target.id, f"{target.name.split('~')[0]}~{self.field_counter}"
            )

    def add_field(self, computed: bool) -> None:
        self.field_counter += 1
        self.state.add_field(
            self.base_id,
            "Items",
            f"Extra{self.field_counter}",
            "autoNumber" if computed else "singleLineText",
        )

    def delete_field(self, pick: int) -> None:
        fields = self.non_primary_fields()
        if len(fields) > 2:  # keep something to write
            self.state.delete_field(self.base_id, "Items", fields[pick % len(fields)].id)

    # full syncs

    def active_run(self) -> str:
        if self.current_run is not None:
            run = self.hooks.sync.runs.get_run(self.base_id, self.current_run)
            if run is not None and run.active:
                return self.current_run
        self.current_run = self.hooks.sync.service.start_run("Items").run.run_id
        return self.current_run

    def sync_slice(self, interleave: bool, seed: int) -> None:
        run_id = self.active_run()
        if interleave:

            def race() -> None:
                # Between this page's fetch and its write: Airtable changes, and a drain stores it
                self.update(seed, seed, "python")
                self.drain(None, False)

            self.sync_records.before_write.append(race)
        self.hooks.sync.engine.run_slice(self.base_id, run_id, should_hand_over=lambda: True)
        self.sync_records.before_write.clear()

    def sync_crash(self) -> None:
        run_id = self.active_run()
        self.sync_records.crash_next_write = True
        with contextlib.suppress(SimulatedCrash):
            self.hooks.sync.engine.run_slice(self.base_id, run_id, should_hand_over=lambda: True)
        self.sync_records.crash_next_write = False

    # webhooks

    def drain(self, crash: str | None, twice: bool) -> None:
        hooks = self.hooks
        original = hooks.repository.advance_cursor
        if crash == "before_advance":

            def crash_instead(*args: Any, **kwargs: Any) -> bool:
                raise SimulatedCrash("killed after applying, before advancing the cursor")

            hooks.repository.advance_cursor = crash_instead  # type: ignore[method-assign]
        elif crash == "mid_apply":
            self.apply_records.crash_next_write = True
        try:
            self.drain_once()
        except SimulatedCrash:
            pass
        finally:
            if crash == "before_advance":
                del hooks.repository.advance_cursor
            self.apply_records.crash_next_write = False
        assert hooks.repository.advance_cursor == original
        if twice:  # the same message delivered again
            self.drain_once()

    def drain_once(self) -> None:
        hooks = self.hooks
        result = hooks.drain()
        if result.outcome is DrainOutcome.BUSY:
            # A crashed drain holds the webhook: its lease expires, the message comes back
            hooks.lease_clock.advance(LEASE_SECONDS + 1)
            result = hooks.drain()
        if result.outcome is DrainOutcome.HOOK_ERROR:
            replacement = hooks.lifecycle.repair(hooks.webhook_id, f"error payload {result.error_code}")
            assert replacement is not None
            hooks.webhook_id = replacement.webhook_id

    def ping(self, duplicate: bool) -> None:
        hooks = self.hooks
        ping = hooks.signed_ping(timestamp=iso_millis(datetime.now(UTC)))
        for _ in range(2 if duplicate else 1):
            assert hooks.receive(ping).status in (200, 204)
        for message in hooks.drain_queue.take_all():
            assert message.webhook_id == hooks.webhook_id
            self.drain_once()

    def error_payload(self) -> None:
        self.hooks.emulator.webhooks.inject_error_payload(self.hooks.webhook_id, "INVALID_HOOK")

    # the end

    def finish(self) -> None:
        hooks = self.hooks
        hooks.lease_clock.advance(10 * LEASE_SECONDS)
        for _ in range(30):
            self.drain_once()
            hooks.full_syncs.retry_pending()
            unfinished = False
            for message, _ in list(hooks.sync.queue.sent):
                results = hooks.sync.run_to_end(message.run_id)
                unfinished |= results[-1].outcome is SliceOutcome.BASE_BUSY
            if not unfinished and not hooks.full_syncs.pending():
                self.drain_once()
                return
        raise AssertionError("the mirror did not settle")

    def run(self, plan: Sequence[tuple[Any, ...]]) -> None:
        for step in plan:
            kind, *arguments = step
            getattr(self, kind)(*arguments)
        self.finish()


def assert_converged(world: World) -> None:
    hooks = world.hooks
    for table in ("Items", "Others"):
        assert hooks.sync.mirror_state(table) == hooks.sync.airtable_state(table), table
    stored = hooks.sync.schemas.get_table(hooks.base_id, hooks.table_id("Items"))
    if stored is None:  # nothing ever reached the mirror for this table
        assert hooks.sync.mirror_state("Items") == {}
    else:
        assert stored.field_names() == {f.id: f.name for f in world.items().fields.values()}


@pytest.fixture
def server(aws_credentials: None, dynalite: DynaliteServer) -> Iterator[DynaliteServer]:
    yield dynalite


@pytest.mark.dynalite
def test_the_mirror_converges_for_any_interleaving(server: DynaliteServer) -> None:
    examples = {"count": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=os.environ.get("CI") == "true",
    )
    @given(plan=st.lists(steps, min_size=1, max_size=24), seed=st.integers(0, 10_000))
    def converges(plan: list[tuple[Any, ...]], seed: int) -> None:
        examples["count"] += 1
        with (
            dynalite_table(server) as table,
            webhook_harness(table, seed=seed, lease_seconds=LEASE_SECONDS) as hooks,
        ):
            hooks.register()
            world = World(hooks)
            world.run(plan)
            assert_converged(world)

    converges()
    print(f"\nconvergence: {examples['count']} examples")  # noqa: T201 - the count the report quotes
