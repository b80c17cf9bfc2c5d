"""dev_stack.schedules: EventBridge's rate() and cron() expressions, and the rules firing their
functions with the Scheduled Event, on a clock the tests move."""

import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dev_stack.invoker import InvocationResult
from dev_stack.schedules import (
    ScheduleExpressionError,
    ScheduleNotFoundError,
    Scheduler,
    UnsupportedScheduleError,
    parse_cron,
    parse_rate,
    parse_schedule,
)
from dev_stack.template import ScheduleRule

EVENTS = Path(__file__).resolve().parents[3] / "events"
HOUR = 3600.0


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")


# --- rate() ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(6 hours)", 21600),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
    ],
)
def test_rate_expressions_fire_one_period_apart_from_the_start(expression: str, seconds: int) -> None:
    start = at("2026-11-26 10:00:00")
    schedule = parse_rate(expression, start)
    assert schedule.period_seconds == seconds
    assert schedule.next_after(start) == start + seconds
    assert schedule.next_after(start + seconds - 1) == start + seconds
    assert schedule.next_after(start + seconds) == start + 2 * seconds


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 hours)",  # EventBridge wants the singular for 1
        "rate(2 hour)",  # and the plural otherwise
        "rate(0 minutes)",
        "rate(5 seconds)",
        "rate(five minutes)",
        "rate(5)",
        "rate 5 minutes",
    ],
)
def test_rate_expressions_eventbridge_refuses_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_rate(expression, 0.0)


def test_an_expression_that_is_neither_rate_nor_cron_is_refused() -> None:
    with pytest.raises(ScheduleExpressionError, match="neither rate"):
        parse_schedule("every 5 minutes", 0.0)


# --- cron() --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # every day at 12:00 UTC
        ("cron(0 12 * * ? *)", "2026-11-26 10:37:00", "2026-11-26 12:00"),
        ("cron(0 12 * * ? *)", "2026-11-26 12:00:00", "2026-11-27 12:00"),
        # 10:15 on weekdays: Thursday 26 November 2026 at 11:00 → Friday
        ("cron(15 10 ? * MON-FRI *)", "2026-11-26 11:00:00", "2026-11-27 10:15"),
        # … and from Friday evening → Monday
        ("cron(15 10 ? * MON-FRI *)", "2026-11-27 18:00:00", "2026-11-30 10:15"),
        # every 15 minutes
        ("cron(0/15 * * * ? *)", "2026-11-26 10:37:10", "2026-11-26 10:45"),
        # the first of every month at 08:00
        ("cron(0 8 1 * ? *)", "2026-11-26 10:00:00", "2026-12-01 08:00"),
        ("cron(0 8 1 * ? *)", "2026-12-15 10:00:00", "2027-01-01 08:00"),
        # Sundays (1) and Saturdays (7) at 06:30, numbers as EventBridge counts them
        ("cron(30 6 ? * 1,7 *)", "2026-11-26 10:00:00", "2026-11-28 06:30"),
        # names of months, ranges with steps
        ("cron(0 0 29 FEB ? *)", "2026-11-26 10:00:00", "2028-02-29 00:00"),
        ("cron(0 9-17/4 * * ? *)", "2026-11-26 10:00:00", "2026-11-26 13:00"),
        # a year range that has ended fires no more
        ("cron(0 0 1 1 ? 2020-2025)", "2026-11-26 10:00:00", None),
    ],
)
def test_cron_expressions_fire_at_their_next_matching_minute(
    expression: str, after: str, expected: str | None
) -> None:
    assert iso(parse_cron(expression).next_after(at(after))) == expected


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 12 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 12 * *)", "six"),
        ("cron(60 12 * * ? *)", "outside 0-59"),
        ("cron(0 24 * * ? *)", "outside 0-23"),
        ("cron(0 12 * 13 ? *)", "outside 1-12"),
        ("cron(0 12 ? * 8 *)", "outside 1-7"),
        ("cron(0 12 ? * FOO *)", "not a value"),
        ("cron(0 12 5-1 * ? *)", "backwards"),
        ("cron(0/0 12 * * ? *)", "bad step"),
        ("cron(? 12 * * ? *)", "only allowed for the day fields"),
        ("cron(0,,5 12 * * ? *)", "empty item"),
    ],
)
def test_cron_expressions_eventbridge_refuses_are_refused(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleExpressionError, match=reason):
        parse_cron(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 12 L * ? *)",
        "cron(0 12 15W * ? *)",
        "cron(0 12 ? * 6L *)",
        "cron(0 12 ? * 2#1 *)",
        "cron(0 12 LW * ? *)",
    ],
)
def test_cron_wildcards_l_w_and_hash_are_reported_as_not_implemented(expression: str) -> None:
    with pytest.raises(UnsupportedScheduleError):
        parse_cron(expression)


# --- the scheduler -------------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordingInvoke:
    def __init__(self, error: str | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error = error
        self.called = threading.Event()

    def __call__(self, function: str, event: Mapping[str, Any]) -> InvocationResult:
        self.calls.append((function, dict(event)))
        self.called.set()
        return InvocationResult(function, {"started": ["run_1"]}, self.error, 1.5)


def rule(name: str, expression: str, *, function: str = "SyncScheduleFunction", **extra: Any) -> ScheduleRule:
    settings: dict[str, Any] = {"enabled": True, "description": f"{name} rule", **extra}
    return ScheduleRule(function=function, name=name, expression=expression, **settings)


def scheduler(rules: list[ScheduleRule], invoke: RecordingInvoke, clock: Clock) -> Scheduler:
    return Scheduler(
        rules,
        invoke,
        region="us-east-1",
        account="123456789012",
        stack_name="airtable-mirror-local",
        clock=clock,
    )


def test_a_rate_rule_fires_its_function_with_the_scheduled_event_once_per_period() -> None:
    start = at("2026-11-26 10:00:00")
    clock, invoke = Clock(start), RecordingInvoke()
    rules = scheduler([rule("FullSync", "rate(6 hours)")], invoke, clock)

    assert rules.run_pending() == []
    clock.now = start + 6 * HOUR - 1
    assert rules.run_pending() == []
    clock.now = start + 6 * HOUR + 2
    assert rules.run_pending() == ["FullSync"]
    assert rules.run_pending() == [], "one firing per due time"

    function, event = invoke.calls[0]
    assert function == "SyncScheduleFunction"
    sample = json.loads((EVENTS / "sync_schedule.json").read_text())
    assert set(event) == set(sample)
    assert {
        key: event[key] for key in ("version", "detail-type", "source", "account", "region", "detail")
    } == {key: sample[key] for key in ("version", "detail-type", "source", "account", "region", "detail")}
    assert event["time"] == "2026-11-26T16:00:00Z", "the scheduled time, not the moment it ran"
    assert event["resources"] == [
        "arn:aws:events:us-east-1:123456789012:rule/airtable-mirror-local-SyncScheduleFunctionFullSync"
    ]
    assert rules.describe()[0]["next_run"] == "2026-11-26T22:00:00Z"
    assert rules.describe()[0]["last_run"] == "2026-11-26T16:00:00Z"


def test_runs_missed_while_the_machine_slept_are_not_caught_up() -> None:
    start = at("2026-11-26 10:00:00")
    clock, invoke = Clock(start), RecordingInvoke()
    rules = scheduler([rule("Often", "rate(1 hour)")], invoke, clock)

    clock.now = start + 5.5 * HOUR
    assert rules.run_pending() == ["Often"]
    assert rules.run_pending() == []
    assert len(invoke.calls) == 1
    assert rules.describe()[0]["next_run"] == "2026-11-26T16:00:00Z", "back on the rule's own phase"


def test_a_cron_rule_fires_at_its_minute() -> None:
    clock, invoke = Clock(at("2026-11-26 11:59:30")), RecordingInvoke()
    rules = scheduler([rule("Noon", "cron(0 12 * * ? *)")], invoke, clock)
    assert rules.run_pending() == []
    clock.now = at("2026-11-26 12:00:00")
    assert rules.run_pending() == ["Noon"]
    assert invoke.calls[0][1]["time"] == "2026-11-26T12:00:00Z"
    assert rules.describe()[0]["next_run"] == "2026-11-27T12:00:00Z"


def test_disabled_and_unsupported_rules_fire_only_on_demand() -> None:
    start = at("2026-11-26 10:00:00")
    clock, invoke = Clock(start), RecordingInvoke()
    rules = scheduler(
        [rule("Off", "rate(1 minute)", enabled=False), rule("LastDay", "cron(0 0 L * ? *)")], invoke, clock
    )
    clock.now = start + 400 * 86400
    assert rules.run_pending() == []
    described = {entry["name"]: entry for entry in rules.describe()}
    assert described["Off"]["next_run"] is None
    assert "disabled" in described["Off"]["note"]
    assert described["LastDay"]["next_run"] is None
    assert "L" in described["LastDay"]["note"]

    entry, outcome = rules.trigger("lastday")
    assert entry.rule.name == "LastDay"
    assert outcome.error is None
    assert [function for function, _ in invoke.calls] == ["SyncScheduleFunction"]


def test_trigger_fires_now_and_leaves_the_schedule_alone() -> None:
    start = at("2026-11-26 10:00:00")
    clock, invoke = Clock(start), RecordingInvoke(error="RuntimeError: boom")
    rules = scheduler([rule("FullSync", "rate(6 hours)")], invoke, clock)
    clock.now = start + 60

    entry, outcome = rules.trigger("FullSync")

    assert outcome.error == "RuntimeError: boom"
    assert entry.last_error == "RuntimeError: boom"
    assert invoke.calls[0][1]["time"] == "2026-11-26T10:01:00Z"
    assert rules.describe()[0]["next_run"] == "2026-11-26T16:00:00Z"


def test_unknown_and_ambiguous_names_are_refused_with_the_known_names() -> None:
    clock, invoke = Clock(0.0), RecordingInvoke()
    rules = scheduler(
        [rule("Daily", "rate(1 day)"), rule("Daily", "rate(1 day)", function="WebhookMaintenanceFunction")],
        invoke,
        clock,
    )
    with pytest.raises(ScheduleNotFoundError, match="the schedules are: Daily, Daily"):
        rules.trigger("Weekly")
    with pytest.raises(ScheduleNotFoundError, match=r"WebhookMaintenanceFunction\.Daily"):
        rules.trigger("Daily")
    entry, _ = rules.trigger("WebhookMaintenanceFunction.Daily")
    assert entry.rule.function == "WebhookMaintenanceFunction"
    assert invoke.calls[0][0] == "WebhookMaintenanceFunction"


def test_a_rule_with_input_sends_that_json_instead_of_the_scheduled_event() -> None:
    clock, invoke = Clock(0.0), RecordingInvoke()
    rules = scheduler([rule("Custom", "rate(1 day)", input='{"tables": ["People"]}')], invoke, clock)
    rules.trigger("Custom")
    assert invoke.calls[0][1] == {"tables": ["People"]}


def test_an_input_that_is_not_json_is_refused_at_start() -> None:
    with pytest.raises(ScheduleExpressionError, match="Input is not JSON"):
        scheduler([rule("Broken", "rate(1 day)", input="{not json")], RecordingInvoke(), Clock(0.0))


def test_the_thread_fires_a_due_rule_and_stops_promptly() -> None:
    start = at("2026-11-26 10:00:00")
    clock, invoke = Clock(start), RecordingInvoke()
    rules = Scheduler(
        [rule("Soon", "rate(1 minute)")],
        invoke,
        region="us-east-1",
        account="123456789012",
        stack_name="airtable-mirror-local",
        clock=clock,
        max_wait_seconds=0.01,
    )
    rules.start()
    try:
        assert not invoke.called.wait(0.1)
        clock.now = start + 61
        assert invoke.called.wait(10), "the due rule did not fire"
    finally:
        rules.stop(timeout=10)
    assert len(invoke.calls) == 1
