"""Fields and tables: renames, deletions and additions seen through the schema repository; scope."""

from collections.abc import Iterator

import pytest

from airtable_mirror.repository.webhooks import WebhookState
from tests.layers.common.airtable_mirror.webhooks.harness import WebhookHarness, webhook_harness
from tests.support.dynamodb import DynamoTable


@pytest.fixture
def hooks(moto_dynamo: DynamoTable) -> Iterator[WebhookHarness]:
    with webhook_harness(moto_dynamo) as ready:
        ready.register()
        yield ready


def names(hooks: WebhookHarness, table: str = "Items") -> dict[str, str]:
    stored = hooks.sync.schemas.get_table(hooks.base_id, hooks.table_id(table))
    assert stored is not None
    return stored.field_names()


def test_a_renamed_field_shows_its_new_name_and_rewrites_no_record(hooks: WebhookHarness) -> None:
    ids = hooks.sync.add_records(20)
    hooks.drain()
    versions = {
        record_id: version
        for record_id, version in hooks.sync.records.iter_table_keys(hooks.base_id, hooks.table_id())
    }
    name_field = hooks.field_id("Name")

    hooks.emulator.state.rename_field(hooks.base_id, "Items", "Name", "Title")
    result = hooks.drain()

    assert names(hooks)[name_field] == "Title"
    assert result.counts.full_syncs == 0 and result.counts.reread == 0
    after = dict(hooks.sync.records.iter_table_keys(hooks.base_id, hooks.table_id()))
    assert after == versions
    stored = hooks.sync.records.get(hooks.base_id, ids[0])
    assert stored is not None and name_field in stored.cells


def test_a_deleted_field_disappears_from_the_schema_and_every_record(hooks: WebhookHarness) -> None:
    hooks.sync.add_records(30)
    hooks.drain()
    notes = hooks.field_id("Count")

    hooks.emulator.state.delete_field(hooks.base_id, "Items", "Count")
    result = hooks.drain()

    # The name is gone at once; the values go with the full sync the drain asked for
    assert notes not in names(hooks)
    assert result.counts.full_syncs == 1
    # (started while applying; still running when the drain ended)
    [outcome] = result.full_syncs
    assert outcome.status == "running" and outcome.run_id is not None
    hooks.settle()
    assert hooks.full_syncs.pending() == []
    assert hooks.sync.mirror_state() == hooks.sync.airtable_state()
    assert all(notes not in cells for _, cells in hooks.sync.mirror_state().values())


def test_a_new_plain_field_appears_without_a_full_sync(hooks: WebhookHarness) -> None:
    ids = hooks.sync.add_records(5)
    hooks.drain()

    created = hooks.emulator.state.add_field(hooks.base_id, "Items", "Owner", "singleLineText")
    hooks.emulator.state.update_records(hooks.base_id, "Items", [(ids[0], {"Owner": "Ada"})])
    result = hooks.drain()

    assert names(hooks)[created.id] == "Owner"
    assert result.counts.full_syncs == 0
    assert hooks.sync.mirror_state() == hooks.sync.airtable_state()


def test_a_new_computed_field_asks_for_a_full_sync(hooks: WebhookHarness) -> None:
    hooks.sync.add_records(5)
    hooks.drain()

    number = hooks.emulator.state.add_field(hooks.base_id, "Items", "Number", "autoNumber")
    result = hooks.drain()
    hooks.settle()

    assert result.counts.full_syncs == 1
    assert all(number.id in cells for _, cells in hooks.sync.mirror_state().values())
    assert hooks.sync.mirror_state() == hooks.sync.airtable_state()


def test_a_renamed_and_a_new_table_reach_the_schema(hooks: WebhookHarness) -> None:
    hooks.emulator.state.update_table(hooks.base_id, "Items", name="Things")
    table = hooks.emulator.state.add_table(
        hooks.base_id, {"name": "Later", "fields": [{"name": "Label", "type": "singleLineText"}]}
    )
    hooks.emulator.state.create_records(hooks.base_id, "Later", [{"Label": "one"}, {"Label": "two"}])

    hooks.drain()

    things = hooks.sync.schemas.get_table(hooks.base_id, hooks.table_id("Things"))
    later = hooks.sync.schemas.get_table(hooks.base_id, table.id)
    assert things is not None and things.name == "Things"
    assert later is not None and later.field_names() == {table.field("Label").id: "Label"}
    assert hooks.sync.mirror_state("Later") == hooks.sync.airtable_state("Later")


def test_tables_outside_the_scope_are_ignored(moto_dynamo: DynamoTable) -> None:
    with webhook_harness(moto_dynamo) as hooks:
        hooks.register(tables=(hooks.table_id("Others"),))
        hooks.sync.add_records(3, table="Items")
        hooks.sync.add_records(2, table="Others")

        result = hooks.drain()

        assert result.counts.ignored_tables == 1
        assert hooks.sync.mirror_state("Items") == {}
        assert hooks.sync.mirror_state("Others") == hooks.sync.airtable_state("Others")


def test_a_deleted_table_has_its_records_tombstoned(hooks: WebhookHarness) -> None:
    # The emulator cannot delete a table; the payload Airtable sends then is applied directly
    ids = hooks.sync.add_records(4)
    hooks.drain()
    state: WebhookState = hooks.state()

    counts = hooks.applier.apply(
        state,
        [
            {
                "timestamp": "2026-03-01T12:00:00.000Z",
                "baseTransactionNumber": 9,
                "destroyedTableIds": [hooks.table_id()],
            }
        ],
    )

    assert counts.deleted == 4
    assert hooks.sync.mirror_state() == {}
    assert all(hooks.sync.records.get(hooks.base_id, record_id) is None for record_id in ids)


def test_invalid_ids_in_a_payload_are_skipped(hooks: WebhookHarness) -> None:
    state = hooks.state()
    counts = hooks.applier.apply(
        state,
        [
            {
                "changedTablesById": {
                    "not-a-table": {"destroyedRecordIds": ["recAAAAAAAAAAAAAA"]},
                    hooks.table_id(): {"destroyedRecordIds": ["rec#bad", 7], "changedRecordsById": {"x": {}}},
                }
            }
        ],
    )
    assert counts.deleted == 0 and counts.reread == 0
