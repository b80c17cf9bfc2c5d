"""airtable-mirror: the operator's command line, against the local stack or a deployed one.

    airtable-mirror sync Tasks                 start a full sync and follow it to the end
    airtable-mirror runs [RUN_ID]              recent sync runs, or one run in detail
    airtable-mirror tables                     mirrored tables, record counts, last sync
    airtable-mirror webhooks list|register|refresh
    airtable-mirror health                     exit 0 when healthy, 2 when something needs attention

Target: --api-url URL; --stack-name NAME [--region R] (SigV4-signed, or --bearer-token for a JWT
stack); by default the local stack of `make dev` (.local-data/dev-stack.json, else
http://127.0.0.1:3000). Exit codes: 0 done, 1 the sync run failed, 2 an error or an unhealthy mirror.
"""

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from airtable_mirror.operator_cli.api import (
    DEFAULT_READ_TIMEOUT_SECONDS,
    ApiFailure,
    MirrorApi,
    OperatorError,
    path_segment,
)
from airtable_mirror.operator_cli.formatting import age, columns, count, duration, parse_time
from airtable_mirror.operator_cli.health import DEFAULT_MAX_SYNC_AGE_HOURS, assess, render
from airtable_mirror.operator_cli.progress import ProgressDisplay
from airtable_mirror.operator_cli.target import (
    BEARER_TOKEN_VARIABLE,
    DEFAULT_DEV_STACK_FILE,
    DEV_STACK_FILE_VARIABLE,
    Target,
    TargetError,
    resolve_target,
)

PROGRAM = "airtable-mirror"
DEFAULT_POLL_SECONDS = 2.0
HEALTH_RUNS = 100
FAILURES_SHOWN = 10
ACTIVE_STATUSES = frozenset({"queued", "running"})
INTERRUPTED = 130
DEBUG_VARIABLE = "AIRTABLE_MIRROR_DEBUG"
# A worker takes a queued run within seconds, or a minute when another run holds the base.
QUEUED_HINT_SECONDS = 90.0
# As `make dev` runs the functions: its dummy credentials, not a profile or session of the shell.
LOCAL_STACK_CLEARED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
)
COUNT_LINES = (
    ("fetched", "written", "unchanged", "stale", "deleted", "failed"),
    ("pages", "requests", "retries", "rate_limited", "listing_restarts"),
)


@dataclass
class Console:
    out: TextIO
    err: TextIO

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def json(self, document: Any) -> None:
        print(json.dumps(document, indent=2, sort_keys=True), file=self.out)

    def info(self, text: str) -> None:
        print(text, file=self.err)


@dataclass
class Context:
    arguments: argparse.Namespace
    console: Console
    target: Target
    api: MirrorApi
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    interactive: bool
    cloudformation_factory: Callable[[str | None], Any]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _add_target_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, *, reads: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _add_target_options(sub, suppress=True)
        if reads:
            sub.add_argument("--json", action="store_true", help="print the API's JSON as it is")
        return sub

    sync = command("sync", "start a full sync of a table and follow it (409: follow the run going)")
    sync.add_argument("table", help="a table name, a tbl… id or an alias")
    sync.add_argument("--no-wait", action="store_true", help="start the run and return at once")
    sync.add_argument(
        "--interval", type=_positive_float, default=DEFAULT_POLL_SECONDS, help="seconds between polls"
    )

    runs = command("runs", "recent sync runs, newest first, or one run in detail")
    runs.add_argument("run_id", nargs="?", help="show this run: counts, failures, error")
    runs.add_argument("--table", help="only this table's runs")
    runs.add_argument("--limit", type=int, default=20, help="runs per page, 1..100 (20)")
    runs.add_argument("--cursor", help="next page: the cursor a previous listing printed")

    command("tables", "mirrored tables, their record counts and last sync")

    webhooks = command("webhooks", "Airtable webhooks: list, register, refresh", reads=False)
    actions = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="expiry, cursor, last ping and health of each webhook")
    listing.add_argument("--json", action="store_true", help="print the API's JSON as it is")
    register = actions.add_parser(
        "register", help="create the webhook (notification URL: the stack's webhook function URL)"
    )
    register.add_argument("--tables", help="comma-separated tables in scope (default: SYNC_TABLES)")
    register.add_argument("--no-full-sync", action="store_true", help="do not start full syncs")
    register.add_argument("--force", action="store_true", help="register even if one is healthy")
    refresh = actions.add_parser("refresh", help="the daily maintenance now: extend, re-enable, recreate")
    for action in (listing, register, refresh):
        _add_target_options(action, suppress=True)

    health = command("health", "tables, webhooks and failed runs; exit 2 when something needs attention")
    health.add_argument(
        "--max-sync-age",
        type=_positive_float,
        default=DEFAULT_MAX_SYNC_AGE_HOURS,
        metavar="HOURS",
        help=f"a table not synced successfully for longer needs attention ({DEFAULT_MAX_SYNC_AGE_HOURS:g})",
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    interactive: bool | None = None,
    cloudformation_factory: Callable[[str | None], Any] | None = None,
    botocore_session_factory: Callable[[], Any] | None = None,
) -> int:
    console = Console(out or sys.stdout, err or sys.stderr)
    environ = os.environ if environ is None else environ
    cloudformation_factory = cloudformation_factory or _cloudformation_client
    try:
        arguments = build_parser().parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error argparse has already explained
        return exit_request.code if isinstance(exit_request.code, int) else 2
    try:
        target = resolve_target(
            api_url=arguments.api_url,
            stack_name=arguments.stack_name,
            region=arguments.region,
            bearer_token=arguments.bearer_token,
            dev_stack_file=Path(
                arguments.dev_stack or environ.get(DEV_STACK_FILE_VARIABLE) or DEFAULT_DEV_STACK_FILE
            ),
            environ=environ,
            cloudformation_factory=cloudformation_factory,
            botocore_session_factory=botocore_session_factory or _botocore_session,
        )
        context = Context(
            arguments=arguments,
            console=console,
            target=target,
            api=MirrorApi(target, read_timeout=arguments.timeout),
            sleep=sleep,
            clock=clock,
            interactive=console.err.isatty() if interactive is None else interactive,
            cloudformation_factory=cloudformation_factory,
        )
        return COMMANDS[arguments.command](context)
    except (OperatorError, TargetError) as error:
        console.info(f"error: {error}")
        return 2
    except KeyboardInterrupt:
        console.info("interrupted")
        return INTERRUPTED
    except Exception as error:
        # An answer of an unexpected shape, or a failure deep in the webhook code: still one line
        # for the operator; the traceback only on request.
        if environ.get(DEBUG_VARIABLE):
            raise
        console.info(
            f"error: unexpected {type(error).__name__}: {error} ({DEBUG_VARIABLE}=1 shows the traceback)"
        )
        return 2


def sync_table(context: Context) -> int:
    api, console, arguments = context.api, context.console, context.arguments
    status, body = api.post(f"/sync/{path_segment(arguments.table)}", accept=frozenset({409}))
    if status == 409:
        run_id = body.get("error", {}).get("run_id") if isinstance(body, dict) else None
        if not isinstance(run_id, str):
            raise OperatorError(f"HTTP 409 without the id of the run going: {body}")
        console.info(f"a sync run of {arguments.table} is already going: following {run_id}")
        run = api.get(f"/sync/runs/{path_segment(run_id)}")
    else:
        run = body
    run_id = str(run["run_id"])
    if arguments.no_wait:
        if arguments.json:
            console.json(run)
        else:
            console.print(
                f"{run_id} {run['table_name']}: {run['status']} (follow it: {PROGRAM} runs {run_id})"
            )
        return 0
    estimate = _record_count_estimate(api, str(run["table_id"]))
    display = ProgressDisplay(console.err, interactive=context.interactive)
    following_since, hinted = context.clock(), False
    try:
        while run["status"] in ACTIVE_STATUSES:
            display.show(run, estimate)
            if (
                run["status"] == "queued"
                and not hinted
                and context.clock() - following_since >= QUEUED_HINT_SECONDS
            ):
                display.close()
                console.info(
                    f"{run_id} is still queued after {duration(context.clock() - following_since)}: "
                    "is the sync worker running? (another run may also hold the base)"
                )
                hinted = True
            context.sleep(arguments.interval)
            run = api.get(f"/sync/runs/{path_segment(run_id)}")
    except KeyboardInterrupt:
        display.close()
        console.info(f"stopped following {run_id}; the run goes on ({PROGRAM} runs {run_id})")
        return INTERRUPTED
    display.show(run, estimate)
    display.close()
    if arguments.json:
        console.json(run)
    else:
        for line in _run_lines(run, context.clock()):
            console.print(line)
    return 0 if run["status"] == "succeeded" else 1


def show_runs(context: Context) -> int:
    api, console, arguments = context.api, context.console, context.arguments
    now = context.clock()
    if arguments.run_id:
        run = api.get(f"/sync/runs/{path_segment(arguments.run_id)}")
        if arguments.json:
            console.json(run)
        else:
            for line in _run_lines(run, now):
                console.print(line)
        return 0
    parameters: dict[str, str | int] = {"limit": arguments.limit}
    if arguments.table:
        parameters["table"] = arguments.table
    if arguments.cursor:
        parameters["cursor"] = arguments.cursor
    listing = api.get("/sync/runs", parameters)
    if arguments.json:
        console.json(listing)
        return 0
    rows = [
        [
            str(run["run_id"]),
            str(run["table_name"]),
            str(run["status"]),
            age(run.get("created_at"), now),
            _took(run, now),
            *(count(run["counts"].get(name)) for name in ("fetched", "written", "deleted")),
            count(run.get("failures_total")),
        ]
        for run in listing.get("runs", [])
    ]
    header = ["RUN", "TABLE", "STATUS", "CREATED", "TOOK", "FETCHED", "WRITTEN", "DELETED", "FAILED"]
    for line in columns(header, rows) if rows else ["no sync runs"]:
        console.print(line)
    if listing.get("next_cursor"):
        more = f"{PROGRAM} runs --limit {arguments.limit} --cursor {listing['next_cursor']}"
        if arguments.table:
            more += f" --table {arguments.table}"
        console.info(f"older runs: {more}")
    return 0


def show_tables(context: Context) -> int:
    listing = context.api.get("/tables")
    if context.arguments.json:
        context.console.json(listing)
        return 0
    now = context.clock()
    rows = []
    for table in listing.get("tables", []):
        last = table.get("last_sync") or {}
        rows.append(
            [
                str(table.get("name")),
                str(table.get("id")),
                count(table.get("record_count")),
                f"{last.get('status')} {age(last.get('finished_at'), now)}" if last else "none finished",
                str(last.get("run_id", "")),
            ]
        )
    for line in columns(["TABLE", "ID", "RECORDS", "LAST SYNC", "RUN"], rows) if rows else ["no tables"]:
        context.console.print(line)
    return 0


def webhooks(context: Context) -> int:
    if context.arguments.webhooks_command == "list":
        return _list_webhooks(context)
    return _change_webhooks(context)


def health(context: Context) -> int:
    api = context.api
    tables = api.get("/tables")
    hooks = api.get("/webhooks")
    runs = api.get("/sync/runs", {"limit": HEALTH_RUNS})
    now = context.clock()
    report = assess(
        tables.get("tables", []),
        hooks,
        runs.get("runs", []),
        now=now,
        max_sync_age_seconds=context.arguments.max_sync_age * 3600,
    )
    if context.arguments.json:
        context.console.json(
            {
                "healthy": report.healthy,
                "problems": report.problems,
                "notes": report.notes,
                "tables": tables,
                "webhooks": hooks,
                "runs": runs,
            }
        )
    else:
        lines = render(
            report,
            tables.get("tables", []),
            hooks,
            runs.get("runs", []),
            api_description=context.target.description,
            now=now,
        )
        for line in lines:
            context.console.print(line)
    return 0 if report.healthy else 2


COMMANDS: dict[str, Callable[[Context], int]] = {
    "sync": sync_table,
    "runs": show_runs,
    "tables": show_tables,
    "webhooks": webhooks,
    "health": health,
}


def _list_webhooks(context: Context) -> int:
    listing = context.api.get("/webhooks")
    if context.arguments.json:
        context.console.json(listing)
        return 0
    now = context.clock()
    rows = [
        [
            str(hook.get("webhook_id")),
            str(hook.get("health")),
            age(hook.get("expiration_time"), now),
            age(hook.get("last_ping_received_at") or hook.get("last_ping_at"), now),
            str(hook.get("cursor")),
            count(hook.get("payloads_applied")),
            str(hook.get("notification_url") or ""),
        ]
        for hook in listing.get("webhooks", [])
    ]
    header = ["WEBHOOK", "HEALTH", "EXPIRES", "LAST PING", "CURSOR", "APPLIED", "NOTIFICATION URL"]
    for line in columns(header, rows) if rows else ["no webhooks"]:
        context.console.print(line)
    for hook in listing.get("webhooks", []):
        if hook.get("health_reason"):
            context.console.print(f"{hook['webhook_id']}: {hook['health_reason']}")
    for pending in listing.get("pending_full_syncs", []):
        context.console.print(
            f"full sync wanted: {pending.get('table_id')} (since {pending.get('needed_after')})"
            + (f": {pending['reason']}" if pending.get("reason") else "")
        )
    return 0


def _change_webhooks(context: Context) -> int:
    """register / refresh run the webhook CLI's own code (airtable_mirror.webhooks.cli), configured
    from the deployed stack or from the local stack's environment, in this process."""
    from airtable_mirror.webhooks import cli as webhook_cli  # noqa: PLC0415 - only these two need it

    arguments, target = context.arguments, context.target
    action = "register" if arguments.webhooks_command == "register" else "maintain"
    argv = [action]
    overrides: dict[str, str] = {}
    cleared: tuple[str, ...] = ()
    if target.stack_name:
        argv += ["--stack-name", target.stack_name]
        if target.region:
            argv += ["--region", target.region]
    elif target.dev_stack is not None:
        # A value `make dev` keeps out of its file ("<from your environment>": a real Airtable
        # token) is left to this process's environment.
        overrides = {
            name: value
            for name, value in target.dev_stack.environment.items()
            if not (value.startswith("<") and value.endswith(">"))
        }
        cleared = LOCAL_STACK_CLEARED_VARIABLES
        if action == "register":
            if not target.dev_stack.function_url:
                raise OperatorError("the local stack's dev-stack.json has no function_url to register")
            argv += ["--notification-url", target.dev_stack.function_url]
    else:
        raise OperatorError(
            f"webhooks {arguments.webhooks_command} needs --stack-name, or the local stack "
            "(`make dev` writes .local-data/dev-stack.json with its configuration)"
        )
    if action == "register":
        if arguments.tables:
            argv += ["--tables", arguments.tables]
        if arguments.no_full_sync:
            argv.append("--no-full-sync")
        if arguments.force:
            argv.append("--force")
    with _process_environment(overrides, cleared):
        return webhook_cli.main(
            argv,
            cloudformation_factory=context.cloudformation_factory,
            out=context.console.out,
            err=context.console.err,
        )


@contextlib.contextmanager
def _process_environment(overrides: Mapping[str, str], cleared: Sequence[str]) -> Iterator[None]:
    """The functions' code reads its configuration from os.environ; put it back afterwards (the
    webhook CLI adds a stack's configuration there too) so nothing leaks into what runs next."""
    from airtable_mirror import runtime  # noqa: PLC0415 - only the webhook actions build services

    saved = dict(os.environ)
    for name in cleared:
        os.environ.pop(name, None)
    os.environ.update(overrides)
    runtime.reset()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        runtime.reset()


def _record_count_estimate(api: MirrorApi, table_id: str) -> int | None:
    """The table's record count at its last sync (None before one): the progress bar's 100 %."""
    try:
        listing = api.get("/tables")
    except ApiFailure:
        return None  # the bar is a nicety: without an estimate, the count alone is shown
    for table in listing.get("tables", []):
        if table.get("id") == table_id and isinstance(table.get("record_count"), int):
            return int(table["record_count"])
    return None


def _run_lines(run: dict[str, Any], now: float) -> list[str]:
    counts = run.get("counts", {})
    lines = [
        f"{run['run_id']} {run['table_name']} ({run['table_id']}): {run['status']}{_took_phrase(run, now)}"
    ]
    lines.append(f"  created {run.get('created_at')} ({age(run.get('created_at'), now)})")
    for names in COUNT_LINES:
        lines.append(
            "  " + "  ".join(f"{name.replace('_', ' ')} {count(counts.get(name))}" for name in names)
        )
    if run.get("error"):
        lines.append(f"  error: {run['error']}")
    failures = run.get("failures", [])
    total = run.get("failures_total") or 0
    if total:
        lines.append(f"  {count(total)} records not stored:")
        lines += [f"    {item.get('record_id')}: {item.get('reason')}" for item in failures[:FAILURES_SHOWN]]
        if total > min(len(failures), FAILURES_SHOWN):
            lines.append(f"    … and {count(total - min(len(failures), FAILURES_SHOWN))} more")
    return lines


def _took(run: dict[str, Any], now: float) -> str:
    start = parse_time(run.get("started_at") or run.get("created_at"))
    end = parse_time(run.get("finished_at")) or now
    return "" if start is None else duration(end - start)


def _took_phrase(run: dict[str, Any], now: float) -> str:
    took = _took(run, now)
    if not took:
        return ""
    return f" in {took}" if run.get("finished_at") else f" for {took}"


def _add_target_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """On the program and on every command, so `airtable-mirror sync Tasks --stack-name X` works
    too; the commands' copies leave a value given before the command alone (SUPPRESS)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("target")
    group.add_argument("--api-url", default=default(None), help="the HTTP API's base URL")
    group.add_argument(
        "--stack-name", default=default(None), help="a deployed stack: its HttpApiUrl, SigV4-signed"
    )
    group.add_argument("--region", default=default(None), help="the stack's AWS region")
    group.add_argument(
        "--bearer-token",
        default=default(None),
        help=f"a JWT for a stack with AuthMode=JWT (or {BEARER_TOKEN_VARIABLE})",
    )
    group.add_argument(
        "--dev-stack",
        default=default(None),
        metavar="PATH",
        help=f"the local stack's file (default: {DEV_STACK_FILE_VARIABLE} or {DEFAULT_DEV_STACK_FILE})",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        default=default(DEFAULT_READ_TIMEOUT_SECONDS),
        metavar="SECONDS",
        help=f"longest wait for one answer ({DEFAULT_READ_TIMEOUT_SECONDS:g})",
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _cloudformation_client(region: str | None) -> Any:
    import boto3  # noqa: PLC0415 - only --stack-name needs it

    return boto3.client("cloudformation", region_name=region)


def _botocore_session() -> Any:
    import botocore.session  # noqa: PLC0415 - only SigV4 signing needs it

    return botocore.session.get_session()
