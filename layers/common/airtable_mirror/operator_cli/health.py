"""The mirror's health from what GET /tables, GET /webhooks and GET /sync/runs answer.

A problem is something an operator should act on (exit code 2); a note is worth knowing but is not
wrong (no webhook registered: the mirror is then only as fresh as its last full sync).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from airtable_mirror.operator_cli.formatting import age, columns, count, duration, parse_time

DEFAULT_MAX_SYNC_AGE_HOURS = 24.0
# The daily maintenance extends a webhook to seven days; one that gets this close was not refreshed.
WEBHOOK_EXPIRY_WARNING_SECONDS = 24 * 3600
# A queued run waits for the worker; this long means nothing consumes the sync queue.
QUEUED_TOO_LONG_SECONDS = 15 * 60
# The sync service abandons a run with no progress after three hours.
RUNNING_TOO_LONG_SECONDS = 3 * 3600
# The maintenance starts the wanted full sync at once; still wanted after this, it did not succeed.
FULL_SYNC_WANTED_TOO_LONG_SECONDS = 2 * 3600
ACTIVE_STATUSES = frozenset({"queued", "running"})


@dataclass
class HealthReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


def assess(
    tables: Sequence[dict[str, Any]],
    webhooks: dict[str, Any],
    runs: Sequence[dict[str, Any]],
    *,
    now: float,
    max_sync_age_seconds: float,
) -> HealthReport:
    """``runs`` newest first (GET /sync/runs)."""
    report = HealthReport()
    _assess_tables(report, tables, runs, now, max_sync_age_seconds)
    _assess_runs(report, runs, now)
    _assess_webhooks(report, webhooks, tables, now)
    return report


def render(
    report: HealthReport,
    tables: Sequence[dict[str, Any]],
    webhooks: dict[str, Any],
    runs: Sequence[dict[str, Any]],
    *,
    api_description: str,
    now: float,
) -> list[str]:
    lines = [f"Mirror of base {webhooks.get('base_id', '?')} at {api_description}", "", "Tables"]
    table_rows = [
        [
            str(table.get("name")),
            count(table.get("record_count")),
            _last_sync_phrase(table.get("last_sync"), now),
        ]
        for table in tables
    ]
    lines += _indented(columns(["TABLE", "RECORDS", "LAST SYNC"], table_rows)) if tables else ["  none"]
    lines += ["", "Webhooks"]
    hook_rows = [
        [
            str(hook.get("webhook_id")),
            str(hook.get("health")),
            age(hook.get("expiration_time"), now),
            age(hook.get("last_ping_received_at") or hook.get("last_ping_at"), now),
            str(hook.get("cursor")),
        ]
        for hook in webhooks.get("webhooks", [])
    ]
    header = ["WEBHOOK", "HEALTH", "EXPIRES", "LAST PING", "CURSOR"]
    lines += _indented(columns(header, hook_rows)) if hook_rows else ["  none"]
    failed = [run for run in runs if run.get("status") in {"failed", "cancelled"}]
    lines += ["", f"Failed runs (of the last {len(runs)})"]
    lines += [
        f"  {run.get('run_id')}  {run.get('table_name')}  {run.get('status')} "
        f"{age(run.get('finished_at'), now)}" + (f": {run['error']}" if run.get("error") else "")
        for run in failed
    ] or ["  none"]
    lines += [""]
    lines += [f"Note: {note}" for note in report.notes]
    if report.healthy:
        lines.append("Healthy.")
    else:
        lines.append("Needs attention:")
        lines += [f"  - {problem}" for problem in report.problems]
    return lines


def _assess_tables(
    report: HealthReport,
    tables: Sequence[dict[str, Any]],
    runs: Sequence[dict[str, Any]],
    now: float,
    max_sync_age_seconds: float,
) -> None:
    if not tables:
        report.problems.append("no table has been synced yet (airtable-mirror sync TABLE)")
    active_tables = {run.get("table_id") for run in runs if run.get("status") in ACTIVE_STATUSES}
    errors = {run.get("run_id"): run.get("error") for run in runs}
    for table in tables:
        name, last = table.get("name"), table.get("last_sync")
        if not last:
            if table.get("id") in active_tables:
                report.notes.append(f"{name}: its first sync is under way")
            else:
                report.problems.append(f"{name}: no sync has finished yet")
            continue
        finished = parse_time(last.get("finished_at"))
        when = age(last.get("finished_at"), now)
        if last.get("status") != "succeeded":
            error = errors.get(last.get("run_id"))
            report.problems.append(
                f"{name}: last sync {last.get('status')} {when} ({last.get('run_id')})"
                + (f": {error}" if error else "")
            )
        elif finished is not None and now - finished > max_sync_age_seconds:
            report.problems.append(
                f"{name}: last successful sync {when}, more than {duration(max_sync_age_seconds)}"
            )


def _assess_runs(report: HealthReport, runs: Sequence[dict[str, Any]], now: float) -> None:
    latest_finished: dict[str, dict[str, Any]] = {}
    for run in runs:
        status, table = run.get("status"), str(run.get("table_name"))
        if status not in ACTIVE_STATUSES:
            latest_finished.setdefault(table, run)
            continue
        since = parse_time(run.get("started_at") if status == "running" else run.get("created_at"))
        limit = RUNNING_TOO_LONG_SECONDS if status == "running" else QUEUED_TOO_LONG_SECONDS
        if since is not None and now - since > limit:
            cause = "stalled?" if status == "running" else "is the sync worker consuming the queue?"
            report.problems.append(
                f"{table}: run {run.get('run_id')} {status} for {duration(now - since)}: {cause}"
            )
    for table, run in latest_finished.items():
        unstored = run.get("failures_total") or 0
        if run.get("status") == "succeeded" and unstored:
            report.problems.append(
                f"{table}: run {run.get('run_id')} could not store {count(unstored)} records "
                f"(airtable-mirror runs {run.get('run_id')})"
            )


def _assess_webhooks(
    report: HealthReport, webhooks: dict[str, Any], tables: Sequence[dict[str, Any]], now: float
) -> None:
    live = [hook for hook in webhooks.get("webhooks", []) if hook.get("health") != "replaced"]
    if not live:
        report.notes.append(
            "no webhook is registered: changes reach the mirror only through full syncs "
            "(airtable-mirror webhooks register)"
        )
    for hook in live:
        webhook_id = hook.get("webhook_id")
        if hook.get("health") != "healthy":
            reason = hook.get("health_reason")
            report.problems.append(
                f"webhook {webhook_id} is {hook.get('health')}" + (f": {reason}" if reason else "")
            )
        expires = parse_time(hook.get("expiration_time"))
        if expires is not None and expires - now < WEBHOOK_EXPIRY_WARNING_SECONDS:
            verb = "expired" if expires <= now else "expires"
            report.problems.append(
                f"webhook {webhook_id} {verb} {age(hook.get('expiration_time'), now)} "
                "(airtable-mirror webhooks refresh)"
            )
    names = {table.get("id"): table.get("name") for table in tables}
    for pending in webhooks.get("pending_full_syncs", []):
        wanted_since = parse_time(pending.get("needed_after"))
        if wanted_since is not None and now - wanted_since > FULL_SYNC_WANTED_TOO_LONG_SECONDS:
            table = names.get(pending.get("table_id")) or pending.get("table_id")
            reason = pending.get("reason")
            report.problems.append(
                f"{table}: a full sync has been wanted for {duration(now - wanted_since)}"
                + (f" ({reason})" if reason else "")
            )


def _last_sync_phrase(last: dict[str, Any] | None, now: float) -> str:
    if not last:
        return "none finished"
    return f"{last.get('status')} {age(last.get('finished_at'), now)}"


def _indented(lines: list[str]) -> list[str]:
    return [f"  {line}" for line in lines]
