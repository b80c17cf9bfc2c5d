"""The scheduled sync handler, fed events/sync_schedule.json."""

import pytest

from airtable_mirror import runtime
from functions.sync_schedule import app
from tests.functions.conftest import FakeLambdaContext, Stack, load_event


def test_the_schedule_starts_a_run_per_configured_table(stack: Stack) -> None:
    result = app.lambda_handler(load_event("sync_schedule.json"), FakeLambdaContext())

    assert len(result["started"]) == 2
    assert result["already_active"] == []
    runs = [runtime.sync_run_repository().get_run(stack.base.id, run_id) for run_id in result["started"]]
    tables = {run.table_name for run in runs if run is not None}
    assert tables == {"People", "Tasks"}
    assert sorted(m["run_id"] for m in stack.queued_messages()) == sorted(result["started"])


def test_a_table_whose_run_is_still_going_is_left_to_it(stack: Stack) -> None:
    first = app.lambda_handler(load_event("sync_schedule.json"), FakeLambdaContext())

    second = app.lambda_handler(load_event("sync_schedule.json"), FakeLambdaContext())

    assert second["started"] == []
    assert sorted(second["already_active"]) == sorted(first["started"])


def test_a_table_that_cannot_start_does_not_stop_the_others(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNC_TABLES", "People,Gone,Tasks")
    runtime.reset()

    result = app.lambda_handler(load_event("sync_schedule.json"), FakeLambdaContext())

    assert len(result["started"]) == 2
    assert list(result["failed"]) == ["Gone"]
