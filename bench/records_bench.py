"""The records API benchmark (part of `make bench`), all figures from one run.

    PYTHONPATH=layers/common:local:. .venv/bin/python -m bench.records_bench [--records N] [--quick]
        [--cold-start-runs N]

1. Read units (dynalite's ConsumedCapacity) of page 1 and page 50 of a small table (1,000 records)
   and a large one (`--records`, 100,000), pages of PAGE_FOR_UNITS records, each page requested from
   the records handler in-process as API Gateway would send it (the table lookup included), and the
   ratios between sizes and between depths (target: at most 1.1). Beside them, on the same data:
   - offset: the page read as SQL's OFFSET would, by reading and dropping every record before it;
   - scan and filter: a Scan of the table filtered on the table id, sorted in memory;
   - the API's own `skip` (index entries only, capped at 1,000), to show what it costs.
2. Handler latency in-process, p50 and p99, for pages of 100 records walked with cursors through the
   large table (DynamoDB is dynalite on loopback, so this is the handler's time plus a local round trip).
3. Cold start: importing the records handler with everything it needs, in fresh interpreters, beside
   the bare floor (`import aws_lambda_powertools.event_handler, boto3, pydantic`), target at most 1.3
   times the floor: each interpreter imports the floor, then the handler (whose import loads all of
   the floor), so each gives a ratio, of which the median is reported.
   Both import from the files Lambda would have: the common layer built by its Makefile (the recipe
   `sam build` runs, with wheels for this machine) and the function's code, nothing else on the path.
   Beside them, the baseline: the same files without bytecode, as `BuildMethod: python3.12` ships
   them, so Lambda compiles every module it imports at each cold start.
   Beside it, import + the first GET /records page in another fresh interpreter, and that page again
   warm: whatever the import leaves to the first request (the DynamoDB client, the service, the
   validation models) shows there, so the import figure cannot be bought by moving work. As deployed,
   that page signs its cursor with the key in a Secrets Manager secret (moto's server on loopback).
   Wall-clock times, and the interpreters' own CPU times after them: on a busy shared machine the CPU
   time is the steadier estimate of what the same work takes on an idle one.

Records are loaded with BatchWriteItem straight into the item format the repository writes (the
sync engine is not what is measured here). The report is the output; the exit code is 0 even when a
target is missed (misses are printed loudly).
"""

import argparse
import contextlib
import io
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airtable_mirror import runtime
from airtable_mirror.repository import RecordRepository
from airtable_mirror.repository.attribute_values import JsonValue, map_to_attribute_values
from airtable_mirror.repository.keys import (
    CHANGED_KEY,
    CREATED_KEY,
    PARTITION_KEY,
    RECORD_SK,
    SORT_KEY,
    TABLE_KEY,
    index_sort_key,
    record_pk,
    table_key,
)
from airtable_mirror.repository.models import content_hash
from airtable_mirror.repository.table_schemas import StoredField, TableSchemaRepository
from airtable_mirror.repository.timestamps import iso_from_micros
from tests.support.dynamodb import (
    PROJECT_ROOT,
    TEST_REGION,
    DynaliteServer,
    DynamoTable,
    dynalite_table,
    free_loopback_port,
)
from tests.support.layer import build_layer_for_this_machine
from tests.support.read_units import ReadUnitMeter

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BASE_ID = "appBenchBase00001"
SMALL_TABLE_ID = "tblBenchSmall0001"
LARGE_TABLE_ID = "tblBenchLarge0001"
SMALL_RECORDS = 1_000
PAGE_FOR_UNITS = 20  # page 50 of the small table is its last
DEEP_PAGE = 50
LATENCY_PAGE = 100
UNITS_RATIO_TARGET = 1.1
COLD_START_RATIO_TARGET = 1.3
VERSION_ORIGIN = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z in microseconds
FIELDS = (
    StoredField("fldTitle000000001", "Title", "singleLineText"),
    StoredField("fldStatus00000001", "Status", "singleSelect"),
    StoredField("fldTags0000000001", "Tags", "multipleSelects"),
    StoredField("fldEstimate000001", "Estimate", "number"),
    StoredField("fldNotes000000001", "Notes", "multilineText"),
)
STATUSES = ("Todo", "In progress", "Blocked", "Done")
FLOOR_IMPORT = "import aws_lambda_powertools.event_handler, boto3, pydantic"
CURSOR_SECRET_NAME = "records-bench/cursor-signing"  # noqa: S105 - the name, not the secret
HANDLER_IMPORT = "import app"  # the handler module, as Lambda imports it from /var/task

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchConfig:
    large_records: int = 100_000
    latency_requests: int = 300
    cold_start_runs: int = 9
    load_workers: int = 8


# Loading


def record_item(table_id: str, number: int) -> dict[str, Any]:
    """One record item, as RecordRepository writes it (native `cells` map)."""
    record_id = f"rec{table_id[3:8]}{number:09d}"
    created_micros = VERSION_ORIGIN + number * 1_000  # one record a millisecond
    created = iso_from_micros(created_micros)[:23] + "Z"  # Airtable's millisecond format
    version = VERSION_ORIGIN + 10**12 + number * 7_919 % 1_000_003  # changed order differs from created
    cells: dict[str, JsonValue] = {
        "fldTitle000000001": f"Task {number}: review the records API benchmark",
        "fldStatus00000001": STATUSES[number % len(STATUSES)],
        "fldTags0000000001": ["bench", "records"] if number % 2 else ["bench"],
        "fldEstimate000001": (number % 40) / 2,
        "fldNotes000000001": "Notes " + "lorem ipsum dolor sit amet " * 8,
    }
    changed_at = iso_from_micros(version)
    return {
        PARTITION_KEY: {"S": record_pk(BASE_ID, record_id)},
        SORT_KEY: {"S": RECORD_SK},
        "base_id": {"S": BASE_ID},
        "table_id": {"S": table_id},
        "record_id": {"S": record_id},
        "created_time": {"S": created},
        "content_hash": {"S": content_hash(created, cells)},
        "version": {"N": str(version)},
        "changed_at": {"S": changed_at},
        "synced_at": {"S": changed_at},
        TABLE_KEY: {"S": table_key(BASE_ID, table_id)},
        CREATED_KEY: {"S": index_sort_key(created, record_id)},
        CHANGED_KEY: {"S": index_sort_key(changed_at, record_id)},
        "cells": {"M": map_to_attribute_values(cells, 2)},
    }


def load_table(table: DynamoTable, table_id: str, count: int, workers: int) -> float:
    """Write `count` records with BatchWriteItem (25 a request, unprocessed items retried); seconds."""
    schemas = TableSchemaRepository(table.client, table.name)
    schemas.put_table(BASE_ID, table_id, f"Bench {count}", FIELDS[0].id, FIELDS, VERSION_ORIGIN)

    def write(start: int) -> None:
        pending: Sequence[Any] = [
            {"PutRequest": {"Item": record_item(table_id, n)}} for n in range(start, min(start + 25, count))
        ]
        for attempt in range(20):
            response = table.client.batch_write_item(RequestItems={table.name: pending})
            pending = response.get("UnprocessedItems", {}).get(table.name, [])
            if not pending:
                return
            time.sleep(min(0.05 * 2**attempt, 1.0))
        raise RuntimeError(f"{len(pending)} items still unprocessed")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(write, range(0, count, 25)))
    return time.perf_counter() - started


# The handler, in-process


def handler_variables(server: DynaliteServer, table_name: str) -> dict[str, str]:
    """The records function's environment, pointed at the bench's dynalite table."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": TEST_REGION,
        "POWERTOOLS_SERVICE_NAME": "airtable-mirror",
        "POWERTOOLS_METRICS_NAMESPACE": "AirtableMirror",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "MIRROR_TABLE_NAME": table_name,
        "AIRTABLE_BASE_ID": BASE_ID,
        "DYNAMODB_ENDPOINT_URL": server.endpoint_url,
        "TABLE_ALIASES": "",
    }


@contextlib.contextmanager
def handler_environment(server: DynaliteServer, table_name: str) -> Iterator[None]:
    environment = handler_variables(server, table_name)
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    runtime.reset()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        runtime.reset()


def page_event(table_id: str, limit: int, cursor: str | None = None, skip: int = 0) -> dict[str, Any]:
    """GET /records as API Gateway sends it (events/records_list.json with the query replaced)."""
    query: dict[str, str] = {"table_name": table_id, "limit": str(limit)}
    if cursor:
        query["cursor"] = cursor
    if skip:
        query["skip"] = str(skip)
    event: dict[str, Any] = json.loads((PROJECT_ROOT / "events" / "records_list.json").read_text())
    event["rawQueryString"] = urlencode(query)
    event["queryStringParameters"] = query
    return event


class Handler:
    """GET /records through the records Lambda handler, with the event API Gateway would send."""

    def __init__(self) -> None:
        from functions.records import app  # noqa: PLC0415 - after the environment is set

        self._app = app

    def page(self, table_id: str, limit: int, cursor: str | None = None, skip: int = 0) -> dict[str, Any]:
        event = page_event(table_id, limit, cursor, skip)
        # The function's EMF metrics and logs go to stdout in Lambda; here they would drown the report
        with contextlib.redirect_stdout(io.StringIO()):
            response = self._app.lambda_handler(event, _Context())
        if response["statusCode"] != 200:
            raise RuntimeError(f"GET /records answered {response['statusCode']}: {response['body']}")
        page: dict[str, Any] = json.loads(response["body"])
        return page


class _Context:
    function_name = "records-bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:records-bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# Read units


@dataclass(frozen=True)
class UnitFigures:
    approach: str
    small_first: float
    small_deep: float
    large_first: float
    large_deep: float

    @property
    def size_ratio(self) -> float:
        return max(_ratio(self.large_first, self.small_first), _ratio(self.large_deep, self.small_deep))

    @property
    def depth_ratio(self) -> float:
        return max(_ratio(self.small_deep, self.small_first), _ratio(self.large_deep, self.large_first))


def _ratio(a: float, b: float) -> float:
    low, high = sorted((a, b))
    return high / low if low else float("inf")


def api_units(handler: Handler, meter: ReadUnitMeter, table_id: str) -> tuple[float, float]:
    """Units of page 1 and of page DEEP_PAGE (reached by following cursors)."""
    first, first_units = meter.spent_on(lambda: handler.page(table_id, PAGE_FOR_UNITS))
    cursor = first["next_cursor"]
    for _ in range(DEEP_PAGE - 2):
        cursor = handler.page(table_id, PAGE_FOR_UNITS, cursor)["next_cursor"]
    deep, deep_units = meter.spent_on(lambda: handler.page(table_id, PAGE_FOR_UNITS, cursor))
    assert len(deep["records"]) == PAGE_FOR_UNITS
    return first_units, deep_units


def skip_units(handler: Handler, meter: ReadUnitMeter, table_id: str) -> tuple[float, float]:
    """The API's skip: index entries only, up to its cap of 1,000."""
    _, first = meter.spent_on(lambda: handler.page(table_id, PAGE_FOR_UNITS))
    skipped = (DEEP_PAGE - 1) * PAGE_FOR_UNITS
    _, deep = meter.spent_on(lambda: handler.page(table_id, PAGE_FOR_UNITS, skip=skipped))
    return first, deep


def offset_units(client: "DynamoDBClient", table_name: str, table_id: str) -> tuple[float, float]:
    """OFFSET n LIMIT l: read n + l records in order and drop the first n."""
    repository = RecordRepository(client, table_name)
    meter = ReadUnitMeter(client)

    def read(offset: int) -> None:
        wanted, start, kept = offset + PAGE_FOR_UNITS, None, 0
        while kept < wanted:
            records, start = repository.query_page(
                BASE_ID,
                table_id,
                order="created",
                descending=False,
                limit=min(1000, wanted - kept),
                exclusive_start=start,
            )
            kept += len(records)
            if start is None:
                break

    _, first = meter.spent_on(lambda: read(0))
    _, deep = meter.spent_on(lambda: read((DEEP_PAGE - 1) * PAGE_FOR_UNITS))
    return first, deep


def scan_units(client: "DynamoDBClient", table_name: str, table_id: str) -> float:
    """Scan the whole table, keep the table's records, sort them, slice the page: any page costs this."""
    meter = ReadUnitMeter(client)

    def scan() -> None:
        items: list[Any] = []
        request: dict[str, Any] = {
            "TableName": table_name,
            "FilterExpression": "#table = :table AND attribute_exists(#created)",
            "ExpressionAttributeNames": {"#table": "table_id", "#created": CREATED_KEY},
            "ExpressionAttributeValues": {":table": {"S": table_id}},
        }
        while True:
            response = client.scan(**request)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        items.sort(key=lambda item: item[CREATED_KEY]["S"])

    _, units = meter.spent_on(scan)
    return units


# Latency and cold start


def latency(handler: Handler, table_id: str, requests: int) -> list[float]:
    """Seconds per GET /records of LATENCY_PAGE records, walking the table with cursors."""
    timings, cursor = [], None
    handler.page(table_id, LATENCY_PAGE)  # warm: the container's first request builds its clients
    for _ in range(requests):
        started = time.perf_counter()
        page = handler.page(table_id, LATENCY_PAGE, cursor)
        timings.append(time.perf_counter() - started)
        cursor = page["next_cursor"]
    return timings


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@contextlib.contextmanager
def cursor_secret() -> Iterator[dict[str, str]]:
    """The cursor signing secret in a Secrets Manager (moto's server, on loopback), as deployed: the
    template gives the records function CURSOR_SIGNING_SECRET, and its first page that carries a
    cursor reads the secret. Yields the variables that point the function at it."""
    import boto3  # noqa: PLC0415 - the bench process only, after the in-process measurements
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line a request would drown the report
    port = free_loopback_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        secrets = boto3.client(
            "secretsmanager",
            endpoint_url=endpoint,
            region_name=TEST_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's
        )
        secrets.create_secret(
            Name=CURSOR_SECRET_NAME, SecretString="records-bench-cursor-signing-key-0123456789"
        )
        yield {"CURSOR_SIGNING_SECRET": CURSOR_SECRET_NAME, "AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint}
    finally:
        server.stop()


# Run in a fresh interpreter: the clock starts before the handler's first import, and the event
# (read after the import) is the same GET /records page the latency section asks for.
FIRST_REQUEST_CODE = """
import time
started, started_cpu = time.perf_counter(), time.process_time()
import app as records
imported, imported_cpu = time.perf_counter(), time.process_time()
import contextlib, io, json, sys
event = json.loads(sys.stdin.read())

class Context:
    function_name = "records-bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:records-bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self):
        return 30_000

requests = []
for _ in range(2):
    began, began_cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        response = records.lambda_handler(event, Context())
    requests.append([time.perf_counter() - began, time.process_time() - began_cpu])
    assert response["statusCode"] == 200, response
print(json.dumps({"import": [imported - started, imported_cpu - started_cpu], "requests": requests}))
"""


@dataclass(frozen=True)
class Elapsed:
    wall: float  # seconds
    cpu: float  # the interpreter's own CPU seconds: other processes' load and I/O waits left out

    def __add__(self, other: "Elapsed") -> "Elapsed":
        return Elapsed(self.wall + other.wall, self.cpu + other.cpu)


@dataclass(frozen=True)
class FirstRequest:
    imported: Elapsed  # from the first import to the handler imported
    first: Elapsed  # the first GET /records page, in the same interpreter
    warm: Elapsed  # the same page again: what the first costs beyond this is cold-start work

    @property
    def total(self) -> Elapsed:
        return self.imported + self.first


def interpreter_environment(code_root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    # Lambda's Python path (/var/task, then the layer's /opt/python); the interpreters run with -S, so
    # nothing installed on this machine is importable: only what the function and the layer ship.
    # Bytecode is never written: each interpreter compiles whatever the layout ships without .pyc.
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(code_root / "task"), str(code_root / "python")]),
        PYTHONDONTWRITEBYTECODE="1",
        POWERTOOLS_SERVICE_NAME="airtable-mirror",
        # As template.yaml's Globals set it for every function (the floor builds no model: no effect)
        PYDANTIC_DISABLE_PLUGINS="__all__",
    )
    environment.update(extra or {})
    return environment


@dataclass(frozen=True)
class Imports:
    floor: Elapsed
    handler: Elapsed  # the floor's modules included

    @property
    def ratio(self) -> float:
        return self.handler.wall / self.floor.wall

    @property
    def cpu_ratio(self) -> float:
        return self.handler.cpu / self.floor.cpu


IMPORT_TIMES_CODE = f"""
import time
started, started_cpu = time.perf_counter(), time.process_time()
{FLOOR_IMPORT}
floor, floor_cpu = time.perf_counter(), time.process_time()
{HANDLER_IMPORT}
handler, handler_cpu = time.perf_counter(), time.process_time()
print(floor - started, floor_cpu - started_cpu, handler - started, handler_cpu - started_cpu)
"""


def import_times(code_root: Path) -> Imports:
    """The floor, then the handler on top of it, in one fresh interpreter: the handler's import loads
    every module of the floor, so this is the handler's whole import, and the floor beside it was
    measured under the same conditions (separate interpreters for each differ by more, on a shared
    machine, than the difference measured)."""
    result = subprocess.run(  # noqa: S603 - our own interpreter, code we wrote
        [sys.executable, "-S", "-c", IMPORT_TIMES_CODE],
        cwd=code_root / "task",
        env=interpreter_environment(code_root),
        capture_output=True,
        text=True,
        check=True,
    )
    floor_wall, floor_cpu, handler_wall, handler_cpu = map(float, result.stdout.split()[-4:])
    return Imports(Elapsed(floor_wall, floor_cpu), Elapsed(handler_wall, handler_cpu))


def first_request(variables: dict[str, str], event: dict[str, Any], code_root: Path) -> FirstRequest:
    result = subprocess.run(  # noqa: S603 - our own interpreter, code we wrote
        [sys.executable, "-S", "-c", FIRST_REQUEST_CODE],
        cwd=code_root / "task",
        env=interpreter_environment(code_root, variables),
        input=json.dumps(event),
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    first, warm = (Elapsed(*request) for request in figures["requests"])
    return FirstRequest(Elapsed(*figures["import"]), first, warm)


@dataclass(frozen=True)
class ColdStart:
    imports: list[Imports]
    first_requests: list[FirstRequest]
    # The same layout without any .pyc: what `BuildMethod: python3.12` ships (the baseline)
    imports_from_sources: list[Imports]


def cold_start(runs: int, variables: dict[str, str], event: dict[str, Any], say: Progress) -> ColdStart:
    """Fresh interpreters, each figure in turn, so all see the same load."""
    imports, first_requests, imports_from_sources = [], [], []
    with shipped_code(say) as (built, sources_only):
        for _ in range(runs):
            imports.append(import_times(built))
            first_requests.append(first_request(variables, event, built))
            imports_from_sources.append(import_times(sources_only))
    return ColdStart(imports, first_requests, imports_from_sources)


@contextlib.contextmanager
def shipped_code(say: Progress) -> Iterator[tuple[Path, Path]]:
    """The records function as Lambda lays it out: its code in task/ (as `sam build` copies it, no
    .pyc) and the common layer in python/, built by the layer's own Makefile, the recipe `sam build`
    runs, with wheels for this machine instead of arm64 ones. Beside it, the same files without
    bytecode, as `BuildMethod: python3.12` built the layer."""
    with tempfile.TemporaryDirectory(prefix="records-bench-code-") as folder:
        built, sources_only = Path(folder) / "built", Path(folder) / "sources-only"
        say("building the common layer as sam build does (layers/common/Makefile, pip)")
        build_layer_for_this_machine(built)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(PROJECT_ROOT / "functions" / "records", built / "task", ignore=ignore)
        shutil.copytree(built, sources_only, ignore=ignore)
        yield built, sources_only


# The run


def run(config: BenchConfig, say: Progress) -> None:
    with DynaliteServer() as server, dynalite_table(server) as small, dynalite_table(server) as large:
        say(f"loading {SMALL_RECORDS:,} and {config.large_records:,} records into dynalite (BatchWriteItem)")
        seconds = load_table(small, SMALL_TABLE_ID, SMALL_RECORDS, config.load_workers)
        seconds += load_table(large, LARGE_TABLE_ID, config.large_records, config.load_workers)
        say(f"  loaded in {seconds:.0f} s")

        figures: list[UnitFigures] = []
        timings: list[float] = []
        api: dict[str, tuple[float, float]] = {}
        skip: dict[str, tuple[float, float]] = {}
        for table, table_id in ((small, SMALL_TABLE_ID), (large, LARGE_TABLE_ID)):
            with handler_environment(server, table.name):
                handler = Handler()
                meter = ReadUnitMeter(runtime.dynamodb_client())
                api[table_id] = api_units(handler, meter, table_id)
                skip[table_id] = skip_units(handler, meter, table_id)
                if table_id == LARGE_TABLE_ID:
                    say(f"handler latency: {config.latency_requests} pages of {LATENCY_PAGE} records")
                    timings = latency(handler, table_id, config.latency_requests)
        figures.append(UnitFigures("records API (cursor)", *api[SMALL_TABLE_ID], *api[LARGE_TABLE_ID]))
        figures.append(
            UnitFigures("records API (skip, capped at 1,000)", *skip[SMALL_TABLE_ID], *skip[LARGE_TABLE_ID])
        )
        offset_small = offset_units(small.client, small.name, SMALL_TABLE_ID)
        offset_large = offset_units(large.client, large.name, LARGE_TABLE_ID)
        figures.append(UnitFigures("offset (read and drop)", *offset_small, *offset_large))
        say("scan and filter (reads each whole table)")
        scanned_small = scan_units(small.client, small.name, SMALL_TABLE_ID)
        scanned_large = scan_units(large.client, large.name, LARGE_TABLE_ID)
        figures.append(
            UnitFigures("scan and filter", scanned_small, scanned_small, scanned_large, scanned_large)
        )

        say(f"cold start: {config.cold_start_runs} fresh interpreters each")
        with cursor_secret() as secret_variables:
            cold = cold_start(
                config.cold_start_runs,
                handler_variables(server, large.name) | secret_variables,
                page_event(LARGE_TABLE_ID, LATENCY_PAGE),
                say,
            )
    sys.stdout.write(format_report(config, figures, timings, cold) + "\n")


def format_report(
    config: BenchConfig,
    figures: Sequence[UnitFigures],
    timings: Sequence[float],
    cold: ColdStart,
) -> str:
    large = f"{config.large_records:,}"
    lines = [
        "",
        f"== Read units of one page of {PAGE_FOR_UNITS} records (dynalite ConsumedCapacity, eventually "
        "consistent reads)",
        f"{'approach':38} {'1,000 p1':>10} {'1,000 p50':>10} {large + ' p1':>12} {large + ' p50':>12}"
        f" {'sizes':>7} {'depths':>7}",
    ]
    for row in figures:
        lines.append(
            f"{row.approach:38} {row.small_first:10.1f} {row.small_deep:10.1f} {row.large_first:12.1f}"
            f" {row.large_deep:12.1f} {row.size_ratio:7.2f} {row.depth_ratio:7.2f}"
        )
    cursor, offset, scan = figures[0], figures[2], figures[3]
    verdict = "met" if max(cursor.size_ratio, cursor.depth_ratio) <= UNITS_RATIO_TARGET else "MISSED"
    lines.append(
        f"records API: {cursor.size_ratio:.2f}x between sizes, {cursor.depth_ratio:.2f}x between depths"
        f" (target <= {UNITS_RATIO_TARGET}x: {verdict})"
    )
    lines.append(
        f"page {DEEP_PAGE} of {large}: offset costs {offset.large_deep / cursor.large_deep:.0f}x the cursor,"
        f" scan and filter {scan.large_deep / cursor.large_deep:.0f}x"
    )

    p50, p99 = percentile(timings, 0.50), percentile(timings, 0.99)
    lines += [
        "",
        f"== Handler latency, in-process, pages of {LATENCY_PAGE} records ({len(timings)} requests, "
        "DynamoDB is dynalite on loopback)",
        f"p50 {p50 * 1000:.1f} ms   p99 {p99 * 1000:.1f} ms   p99/p50 {p99 / p50:.2f}",
    ]

    median = statistics.median
    floor = median(i.floor.wall for i in cold.imports)
    handler = median(i.handler.wall for i in cold.imports)
    ratios = sorted(i.ratio for i in cold.imports)
    ratio = median(ratios)
    verdict = "met" if ratio <= COLD_START_RATIO_TARGET else "MISSED"
    total = median(request.total.wall for request in cold.first_requests)
    first = median(request.first.wall for request in cold.first_requests)
    warm = median(request.warm.wall for request in cold.first_requests)
    floor_cpu = median(i.floor.cpu for i in cold.imports)
    handler_cpu = median(i.handler.cpu for i in cold.imports)
    total_cpu = median(request.total.cpu for request in cold.first_requests)
    source_floor = median(i.floor.wall for i in cold.imports_from_sources)
    source_handler = median(i.handler.wall for i in cold.imports_from_sources)
    source_handler_cpu = median(i.handler.cpu for i in cold.imports_from_sources)
    source_ratio = median(i.ratio for i in cold.imports_from_sources)
    lines += [
        "",
        f"== Cold start: {len(ratios)} fresh interpreters for each figure, in turn; the records function and"
        " the common layer laid out as Lambda sees them (the layer as layers/common/Makefile builds it for"
        " sam build: hash-based .pyc; the function's own module compiled from source)",
        f"floor ({FLOOR_IMPORT}): median {floor * 1000:.0f} ms",
        f"records handler ({HANDLER_IMPORT}, the floor's modules included; the same interpreters):"
        f" median {handler * 1000:.0f} ms",
        f"ratio, each interpreter's handler over its floor: median {ratio:.2f}x"
        f" (from {ratios[0]:.2f}x to {ratios[-1]:.2f}x; target <= {COLD_START_RATIO_TARGET}x: {verdict});"
        f" CPU time: median {median(i.cpu_ratio for i in cold.imports):.2f}x",
        f"import + first GET /records page ({LATENCY_PAGE} records from dynalite, the cursor key from"
        f" Secrets Manager as deployed), in other fresh interpreters: median {total * 1000:.0f} ms,"
        f" {total / floor:.2f}x the floor's median (CPU time {total_cpu * 1000:.0f} ms,"
        f" {total_cpu / floor_cpu:.2f}x)",
        f"  the first request: median {first * 1000:.0f} ms; the same request warm: median"
        f" {warm * 1000:.0f} ms (the difference: the DynamoDB client, and what the import left to it)",
        "baseline, the same files without bytecode (what `BuildMethod: python3.12` ships; Lambda compiles"
        f" each imported module at every cold start): floor median {source_floor * 1000:.0f} ms,"
        f" handler median {source_handler * 1000:.0f} ms (ratio {source_ratio:.2f}x)",
        f"  the records handler's import with bytecode takes {handler / source_handler:.2f}x the"
        f" time it takes from sources (CPU time: {handler_cpu / source_handler_cpu:.2f}x)",
    ]
    return "\n".join(lines)


def say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--records", type=int, default=BenchConfig.large_records, help="records in the large table"
    )
    parser.add_argument("--quick", action="store_true", help="10,000 records, fewer samples (a smoke run)")
    parser.add_argument(
        "--cold-start-runs",
        type=int,
        help="fresh interpreters for each cold-start figure (9; 3 with --quick): more on a busy machine",
    )
    arguments = parser.parse_args(argv)
    config = BenchConfig(large_records=arguments.records)
    if arguments.quick:
        config = BenchConfig(large_records=10_000, latency_requests=60, cold_start_runs=3)
    if arguments.cold_start_runs is not None:
        if arguments.cold_start_runs < 1:
            parser.error("--cold-start-runs must be at least 1")
        config = replace(config, cold_start_runs=arguments.cold_start_runs)
    if config.large_records < DEEP_PAGE * PAGE_FOR_UNITS:
        parser.error(f"--records must be at least {DEEP_PAGE * PAGE_FOR_UNITS}")
    started = time.perf_counter()
    run(config, say)
    sys.stdout.write(f"\n(records benchmark: {time.perf_counter() - started:.0f} s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
