"""The health verdict from the API's answers (shapes as GET /tables, /webhooks, /sync/runs give them)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from airtable_mirror.operator_cli.health import assess, render

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = 24 * 3600


def at(**delta: float) -> str:
    """An API time `delta` away from NOW (negative: in the past)."""
    return (NOW + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def table(name: str, status: str | None = "succeeded", finished: str | None = None) -> dict[str, Any]:
    last = (
        None
        if status is None
        else {"run_id": f"run_{name}", "status": status, "finished_at": finished or at(hours=-1)}
    )
    return {"id": f"tbl{name}", "name": name, "record_count": 10, "last_sync": last, "fields": []}


def webhook(webhook_id: str = "achOne", health: str = "healthy", **fields: Any) -> dict[str, Any]:
    return {
        "webhook_id": webhook_id,
        "health": health,
        "health_reason": None,
        "cursor": 3,
        "expiration_time": at(days=6),
        "last_ping_at": at(minutes=-5),
        "created_at": at(days=-1),
        **fields,
    }


def run(table_name: str, status: str, **fields: Any) -> dict[str, Any]:
    return {
        "run_id": f"run_{table_name}_{status}",
        "table_id": f"tbl{table_name}",
        "table_name": table_name,
        "status": status,
        "created_at": at(hours=-2),
        "started_at": at(hours=-2),
        "finished_at": None if status in {"queued", "running"} else at(hours=-1),
        "counts": {"fetched": 10},
        "failures_total": 0,
        "error": None,
        **fields,
    }


def verdict(
    tables: list[dict[str, Any]],
    webhooks: list[dict[str, Any]] | None = None,
    runs: list[dict[str, Any]] | None = None,
    pending: list[dict[str, Any]] | None = None,
) -> tuple[list[str], list[str]]:
    hooks = {"base_id": "appX", "webhooks": [webhook()] if webhooks is None else webhooks}
    hooks["pending_full_syncs"] = pending or []
    report = assess(tables, hooks, runs or [], now=NOW.timestamp(), max_sync_age_seconds=DAY)
    assert report.healthy == (not report.problems)
    return report.problems, report.notes


def test_recent_successful_syncs_and_a_healthy_webhook_are_healthy() -> None:
    assert verdict([table("People"), table("Tasks")], runs=[run("People", "succeeded")]) == ([], [])


def test_table_problems_name_the_table_and_the_run() -> None:
    problems, _ = verdict(
        [table("People", "failed"), table("Tasks", finished=at(hours=-30)), table("Notes", status=None)],
        runs=[run("People", "failed", run_id="run_People", error="billing limit")],
    )
    assert problems == [
        "People: last sync failed 1 h ago (run_People): billing limit",
        "Tasks: last successful sync 30 h ago, more than 24 h",
        "Notes: no sync has finished yet",
    ]


def test_no_table_at_all_needs_attention() -> None:
    problems, _ = verdict([])
    assert problems == ["no table has been synced yet (airtable-mirror sync TABLE)"]


def test_stuck_runs_and_unstored_records_need_attention_but_a_superseded_failure_does_not() -> None:
    problems, _ = verdict(
        [table("People"), table("Tasks"), table("Notes")],
        runs=[
            run("Tasks", "queued", created_at=at(minutes=-20)),
            run("People", "running", started_at=at(hours=-4)),
            run("Notes", "succeeded", failures_total=2),
            run("People", "succeeded"),
            run("Tasks", "failed"),  # older than its table's latest run: dealt with
        ],
    )
    assert problems == [
        "Tasks: run run_Tasks_queued queued for 20 min: is the sync worker consuming the queue?",
        "People: run run_People_running running for 4 h: stalled?",
        "Notes: run run_Notes_succeeded could not store 2 records (airtable-mirror runs run_Notes_succeeded)",
    ]


def test_a_run_queued_a_few_minutes_is_normal() -> None:
    problems, notes = verdict(
        [table("Tasks", status=None)], runs=[run("Tasks", "queued", created_at=at(minutes=-3))]
    )
    assert problems == []
    assert notes == ["Tasks: its first sync is under way"]


def test_webhook_problems_unhealthy_expiring_expired_and_a_full_sync_wanted_too_long() -> None:
    problems, notes = verdict(
        [table("Tasks")],
        webhooks=[
            webhook("achSick", "unhealthy", health_reason="notifications disabled"),
            webhook("achSoon", expiration_time=at(hours=5)),
            webhook("achGone", expiration_time=at(hours=-2)),
            webhook("achOld", "replaced", expiration_time=at(days=-3)),
        ],
        pending=[
            {"table_id": "tblTasks", "needed_after": at(hours=-3), "reason": "field deleted"},
            {"table_id": "tblTasks", "needed_after": at(minutes=-10), "reason": "just now"},
        ],
    )
    assert problems == [
        "webhook achSick is unhealthy: notifications disabled",
        "webhook achSoon expires in 5 h (airtable-mirror webhooks refresh)",
        "webhook achGone expired 2 h ago (airtable-mirror webhooks refresh)",
        "Tasks: a full sync has been wanted for 3 h (field deleted)",
    ]
    assert notes == []


def test_no_webhook_is_a_note_not_a_problem() -> None:
    problems, notes = verdict([table("Tasks")], webhooks=[webhook("achOld", "replaced")])
    assert problems == []
    assert notes[0].startswith("no webhook is registered")


def test_the_rendering_lists_every_section_and_ends_with_the_verdict() -> None:
    tables = [table("People", "failed")]
    hooks = {"base_id": "appX", "webhooks": [webhook()], "pending_full_syncs": []}
    runs = [run("People", "failed", error="boom")]
    report = assess(tables, hooks, runs, now=NOW.timestamp(), max_sync_age_seconds=DAY)

    lines = render(report, tables, hooks, runs, api_description="the local stack", now=NOW.timestamp())

    assert lines[0] == "Mirror of base appX at the local stack"
    assert "  People  10       failed 1 h ago" in lines
    assert any(line.startswith("  achOne   healthy  in 6 d") for line in lines)
    assert "  run_People_failed  People  failed 1 h ago: boom" in lines
    assert lines[-2:] == ["Needs attention:", "  - People: last sync failed 1 h ago (run_People)"]
