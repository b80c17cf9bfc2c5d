"""EventBridge scheduled rules, locally: each rule of template.yaml fires its function on its schedule
with the event EventBridge sends (``events/sync_schedule.json`` is one), and on demand.

Expressions: ``rate(N minute|minutes|hour|hours|day|days)`` exactly as EventBridge reads it (the first
firing one period after the stack starts, then every period; runs missed while the machine slept are
skipped, not caught up), and ``cron(minutes hours day-of-month month day-of-week year)`` in UTC with
``*``, ``?``, values, names (JAN-DEC, SUN-SAT), lists, ranges and ``/`` steps. The ``L``, ``W`` and
``#`` wildcards are not implemented: such a rule never fires by itself (a note says so at start-up),
and can still be fired on demand.
"""

import calendar
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from dev_stack.template import ScheduleRule

logger = logging.getLogger("dev_stack.schedules")

# The scheduler thread looks at the clock at least this often, so a stop or a changed clock is seen soon.
MAX_WAIT_SECONDS = 1.0


class ScheduleExpressionError(ValueError):
    """The expression is not one EventBridge accepts (a deployment would fail on it too)."""


class UnsupportedScheduleError(ValueError):
    """A valid EventBridge expression whose wildcards the local scheduler does not implement."""


class Schedule(Protocol):
    def next_after(self, moment: float) -> float | None:
        """The first firing time strictly after ``moment`` (epoch seconds), None if there is none."""
        ...


_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RateSchedule:
    period_seconds: int
    # Firings fall on start + k * period, as EventBridge's do on the rule's creation time.
    start: float

    def next_after(self, moment: float) -> float:
        if moment < self.start:
            return self.start + self.period_seconds
        periods = int((moment - self.start) // self.period_seconds) + 1
        return self.start + periods * self.period_seconds


def parse_rate(expression: str, start: float) -> RateSchedule:
    match = _RATE.match(expression.strip())
    if match is None:
        raise ScheduleExpressionError(f"{expression!r} is not rate(<value> <unit>)")
    value, unit = int(match.group(1)), match.group(2)
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNITS:
        raise ScheduleExpressionError(f"{expression!r}: the unit is minute(s), hour(s) or day(s)")
    if value < 1:
        raise ScheduleExpressionError(f"{expression!r}: the value must be a positive whole number")
    # EventBridge insists on the singular for 1 and the plural otherwise.
    expected = singular if value == 1 else f"{singular}s"
    if unit != expected:
        raise ScheduleExpressionError(f"{expression!r}: write rate({value} {expected})")
    return RateSchedule(period_seconds=value * _RATE_UNITS[singular], start=start)


_MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
# "L" (last), "5L" (last Thursday), "15W" (nearest weekday), "LW": valid, not implemented here.
_LAST_OR_WEEKDAY = re.compile(r"^(\d*L|\d+W|LW)$")
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: Mapping[str, int]


_FIELDS = (
    _CronField("minutes", 0, 59, {}),
    _CronField("hours", 0, 23, {}),
    _CronField("day-of-month", 1, 31, {}),
    _CronField("month", 1, 12, _MONTH_NAMES),
    _CronField("day-of-week", 1, 7, _DAY_NAMES),
    _CronField("year", 1970, 2199, {}),
)


def _field_values(text: str, spec: _CronField) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleExpressionError(f"empty item in the {spec.name} field {text!r}")
        if "#" in part:
            raise UnsupportedScheduleError(f"the {spec.name} field {text!r} uses #")
        range_text, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ScheduleExpressionError(f"bad step {step_text!r} in the {spec.name} field")
            step = int(step_text)
        if range_text == "*":
            low, high = spec.low, spec.high
        else:
            first, dash, last = range_text.partition("-")
            low = _field_number(first, spec)
            high = _field_number(last, spec) if dash else (spec.high if slash else low)
            if high < low:
                raise ScheduleExpressionError(f"range {range_text!r} of the {spec.name} field runs backwards")
        values.update(range(low, high + 1, step))
    return frozenset(values)


def _field_number(text: str, spec: _CronField) -> int:
    upper = text.upper()
    if upper in spec.names:
        return spec.names[upper]
    if _LAST_OR_WEEKDAY.match(upper):
        raise UnsupportedScheduleError(f"the {spec.name} field uses {text!r} (L or W)")
    if not text.isdigit():
        raise ScheduleExpressionError(f"{text!r} is not a value of the {spec.name} field")
    number = int(text)
    if not spec.low <= number <= spec.high:
        raise ScheduleExpressionError(f"{number} is outside {spec.low}-{spec.high} in the {spec.name} field")
    return number


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: "?", the day is chosen by the day of the week
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # 1 = Sunday … 7 = Saturday, as EventBridge counts
    years: frozenset[int]

    def next_after(self, moment: float) -> float | None:
        current = datetime.fromtimestamp(moment, UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        last_year = max(self.years)
        while current.year <= last_year:
            if current.year not in self.years:
                current = datetime(current.year + 1, 1, 1, tzinfo=UTC)
            elif current.month not in self.months:
                current = _first_of_next_month(current)
            elif not self._day_matches(current):
                current = (current + timedelta(days=1)).replace(hour=0, minute=0)
            elif current.hour not in self.hours:
                current = (current + timedelta(hours=1)).replace(minute=0)
            elif current.minute not in self.minutes:
                current += timedelta(minutes=1)
            else:
                return current.timestamp()
        return None

    def _day_matches(self, moment: datetime) -> bool:
        if self.days_of_month is not None:
            return moment.day in self.days_of_month
        assert self.days_of_week is not None
        return (moment.weekday() + 1) % 7 + 1 in self.days_of_week


def _first_of_next_month(moment: datetime) -> datetime:
    if moment.month == 12:
        return datetime(moment.year + 1, 1, 1, tzinfo=UTC)
    return datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)


def parse_cron(expression: str) -> CronSchedule:
    text = expression.strip()
    if not (text.startswith("cron(") and text.endswith(")")):
        raise ScheduleExpressionError(f"{expression!r} is not cron(<six fields>)")
    fields = text[len("cron(") : -1].split()
    if len(fields) != len(_FIELDS):
        raise ScheduleExpressionError(
            f"{expression!r} has {len(fields)} fields; EventBridge's cron has six: "
            "minutes hours day-of-month month day-of-week year"
        )
    minute_text, hour_text, day_text, month_text, weekday_text, year_text = fields
    if (day_text == "?") == (weekday_text == "?"):
        raise ScheduleExpressionError(
            f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'"
        )
    for position in (0, 1, 3, 5):
        if fields[position] == "?":
            raise ScheduleExpressionError(
                f"'?' is only allowed for the day fields, not {_FIELDS[position].name}"
            )
    return CronSchedule(
        minutes=_field_values(minute_text, _FIELDS[0]),
        hours=_field_values(hour_text, _FIELDS[1]),
        days_of_month=None if day_text == "?" else _field_values(day_text, _FIELDS[2]),
        months=_field_values(month_text, _FIELDS[3]),
        days_of_week=None if weekday_text == "?" else _field_values(weekday_text, _FIELDS[4]),
        years=_field_values(year_text, _FIELDS[5]),
    )


def parse_schedule(expression: str, start: float) -> Schedule:
    """A rate() or cron() expression; raises ScheduleExpressionError or UnsupportedScheduleError."""
    text = expression.strip()
    if text.startswith("rate("):
        return parse_rate(text, start)
    if text.startswith("cron("):
        return parse_cron(text)
    raise ScheduleExpressionError(f"{expression!r} is neither rate(...) nor cron(...)")


def iso_seconds(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rule_arn(rule: ScheduleRule, *, region: str, account: str, stack_name: str) -> str:
    # SAM names a function's schedule rule <stack>-<function><event key>-<suffix>.
    return f"arn:aws:events:{region}:{account}:rule/{stack_name}-{rule.function}{rule.name}"


def scheduled_event(
    rule: ScheduleRule, moment: float, *, region: str, account: str, stack_name: str
) -> dict[str, Any]:
    """The event EventBridge sends a scheduled rule's target (time: the scheduled time, to the second)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso_seconds(moment),
        "region": region,
        "resources": [rule_arn(rule, region=region, account=account, stack_name=stack_name)],
        "detail": {},
    }


class InvocationOutcome(Protocol):
    @property
    def payload(self) -> Any: ...

    @property
    def error(self) -> str | None: ...

    @property
    def duration_ms(self) -> float: ...


InvokeFunction = Callable[[str, Mapping[str, Any]], InvocationOutcome]


class ScheduleNotFoundError(LookupError):
    pass


@dataclass
class ScheduledRule:
    rule: ScheduleRule
    schedule: Schedule | None
    note: str | None  # why the rule does not fire by itself, if it does not
    next_run: float | None
    last_run: float | None = None
    last_error: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.rule.function}.{self.rule.name}"


class Scheduler:
    """Fires each rule's function when its time comes (one thread), or at once on demand.

    ``clock`` is injectable: tests move time and call ``run_pending()`` themselves.
    """

    def __init__(
        self,
        rules: Sequence[ScheduleRule],
        invoke: InvokeFunction,
        *,
        region: str,
        account: str,
        stack_name: str,
        clock: Callable[[], float] = time.time,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
    ) -> None:
        self._invoke = invoke
        self._max_wait_seconds = max_wait_seconds
        self._region = region
        self._account = account
        self._stack_name = stack_name
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        now = clock()
        self._entries = [self._schedule(rule, now) for rule in rules]

    def _schedule(self, rule: ScheduleRule, now: float) -> ScheduledRule:
        if rule.input is not None:
            try:
                json.loads(rule.input)
            except json.JSONDecodeError as error:
                raise ScheduleExpressionError(
                    f"{rule.function}.{rule.name}: Input is not JSON: {error}"
                ) from None
        try:
            schedule = parse_schedule(rule.expression, now)
        except UnsupportedScheduleError as error:
            return ScheduledRule(rule, None, f"fires only on demand: {error}", None)
        if not rule.enabled:
            return ScheduledRule(rule, schedule, "disabled in the template: fires only on demand", None)
        return ScheduledRule(rule, schedule, None, schedule.next_after(now))

    @property
    def entries(self) -> list[ScheduledRule]:
        with self._lock:
            return list(self._entries)

    def find(self, name: str) -> ScheduledRule:
        """By the event's key (``FullSync``), case-insensitively, or ``Function.Key`` when keys repeat."""
        wanted = name.strip().lower()
        matches = [
            entry
            for entry in self._entries
            if wanted in (entry.rule.name.lower(), entry.qualified_name.lower())
        ]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(entry.rule.name for entry in self._entries) or "none"
        if matches:
            choices = ", ".join(entry.qualified_name for entry in matches)
            raise ScheduleNotFoundError(f"{name!r} names several schedules; use one of {choices}")
        raise ScheduleNotFoundError(f"no schedule named {name!r}; the schedules are: {known}")

    def run_pending(self) -> list[str]:
        """Fire every rule whose time has come; returns their names."""
        fired = []
        now = self._clock()
        for entry in self.entries:
            due = entry.next_run
            if due is None or due > now or entry.schedule is None:
                continue
            # One firing for a due time, however late: EventBridge does not catch missed runs up.
            with self._lock:
                entry.next_run = entry.schedule.next_after(max(now, due))
            self._fire(entry, due, reason="schedule")
            fired.append(entry.rule.name)
        return fired

    def trigger(self, name: str) -> tuple[ScheduledRule, InvocationOutcome]:
        """Fire a rule now, whatever its schedule (the next scheduled run is unchanged)."""
        entry = self.find(name)
        return entry, self._fire(entry, self._clock(), reason="on demand")

    def _fire(self, entry: ScheduledRule, moment: float, *, reason: str) -> InvocationOutcome:
        event: Any
        if entry.rule.input is not None:
            # A rule with Input sends that JSON instead of the Scheduled Event.
            event = json.loads(entry.rule.input)
        else:
            event = scheduled_event(
                entry.rule, moment, region=self._region, account=self._account, stack_name=self._stack_name
            )
        logger.info("%s fires %s (%s)", entry.rule.name, entry.rule.function, reason)
        outcome = self._invoke(entry.rule.function, event)
        with self._lock:
            entry.last_run = moment
            entry.last_error = outcome.error
        if outcome.error:
            logger.warning("%s: %s failed: %s", entry.rule.name, entry.rule.function, outcome.error)
        return outcome

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "name": entry.rule.name,
                "function": entry.rule.function,
                "expression": entry.rule.expression,
                "enabled": entry.rule.enabled,
                "description": entry.rule.description,
                "next_run": iso_seconds(entry.next_run) if entry.next_run is not None else None,
                "last_run": iso_seconds(entry.last_run) if entry.last_run is not None else None,
                "last_error": entry.last_error,
                "note": entry.note,
            }
            for entry in self.entries
        ]

    def seconds_until_next(self) -> float | None:
        pending = [entry.next_run for entry in self.entries if entry.next_run is not None]
        return None if not pending else max(0.0, min(pending) - self._clock())

    # --- thread --------------------------------------------------------------------------

    def start(self) -> None:
        for entry in self.entries:
            if entry.note:
                logger.warning("%s (%s): %s", entry.rule.name, entry.rule.expression, entry.note)
            elif entry.next_run is not None:
                logger.info(
                    "%s (%s) fires %s next at %s",
                    entry.rule.name,
                    entry.rule.expression,
                    entry.rule.function,
                    iso_seconds(entry.next_run),
                )
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="dev-stack-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("a scheduled invocation is still running; leaving it")
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
            except Exception:
                logger.exception("the scheduler failed to fire a rule")
            wait = self.seconds_until_next()
            limit = self._max_wait_seconds
            self._stop.wait(limit if wait is None else min(wait, limit))
