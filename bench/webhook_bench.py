"""The webhook benchmark: from a change in Airtable to the change readable in the mirror.

    PYTHONPATH=layers/common:local:. .venv/bin/python -m bench.webhook_bench [--changes 200] [--quick]

The Airtable emulator runs at Airtable's real limits (5 requests/s per base, 30 s penalty) and pings
like Airtable (changes within 0.1 s share one ping). Its pings go over HTTP to a small in-process
server that turns each request into a Lambda function URL event and hands it to the receiver through
the same adapter the webhook function uses (`airtable_mirror.webhooks.function_url`); the receiver
checks the MAC and queues the drain on an in-memory queue (SQS in AWS); a worker thread drains it
with the worker's code, writing to dynalite; the Airtable client paces itself at 5 requests/s.

1. Latency: `--changes` records (200) are changed one by one, `--interval` seconds apart (0.25 s,
   faster than one drain's two paced requests, so drains coalesce as they would under load); each
   change is timed from the mutation in the emulator to the moment `RecordRepository.get` returns
   the new value. p50 and p99, target p99 ≤ 1 s; and the Airtable requests that took.
2. Requests per 100 changed records: `--bulk` records (1000) changed by writes of 10 records (the
   most one Airtable write request takes), then drained; target ≤ 3 requests per 100 records.

The report is the output; the exit code is 0 even when a target is missed (misses are printed loudly).
"""

import argparse
import json
import queue
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from airtable_emulator.emulator import Emulator
from airtable_emulator.settings import EmulatorSettings
from airtable_mirror.airtable import AirtableClient, LocalPacer
from airtable_mirror.repository import RecordRepository
from airtable_mirror.repository.table_schemas import TableSchemaRepository
from airtable_mirror.repository.webhooks import WebhookRepository
from airtable_mirror.webhooks.applier import PayloadApplier
from airtable_mirror.webhooks.drain import WebhookDrainer
from airtable_mirror.webhooks.drain_queue import DrainMessage, InMemoryDrainQueue
from airtable_mirror.webhooks.function_url import event_response, request_from_event
from airtable_mirror.webhooks.lifecycle import WebhookLifecycle
from airtable_mirror.webhooks.receiver import PingReceiver
from airtable_mirror.webhooks.secrets import TableMacSecretStore
from tests.layers.common.airtable_mirror.sync.harness import ITEMS_TABLE
from tests.support.dynamodb import DynaliteServer, DynamoTable, dynalite_table

P99_TARGET_SECONDS = 1.0
REQUESTS_PER_100_TARGET = 3.0
AIRTABLE_REQUESTS_PER_SECOND = 5.0
POLL_SECONDS = 0.005
SETTLE_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class BenchConfig:
    changes: int = 200
    interval_seconds: float = 0.25
    bulk_records: int = 1000
    records: int = 300


@dataclass
class LatencyResult:
    changes: int
    p50_seconds: float
    p99_seconds: float
    max_seconds: float
    airtable_requests: int
    pings_received: int
    drains: int

    @property
    def requests_per_change(self) -> float:
        return self.airtable_requests / self.changes


@dataclass
class BulkResult:
    records_changed: int
    airtable_requests: int
    payload_requests: int
    reread_requests: int
    seconds: float

    @property
    def requests_per_100(self) -> float:
        return 100 * self.airtable_requests / self.records_changed


@dataclass
class BenchReport:
    config: BenchConfig
    latency: LatencyResult
    bulk: BulkResult
    receiver_answer_ms_p50: float
    receiver_answer_ms_p99: float
    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "latency": {**asdict(self.latency), "requests_per_change": self.latency.requests_per_change},
            "bulk": {**asdict(self.bulk), "requests_per_100_records": self.bulk.requests_per_100},
            "receiver_answer_ms": {"p50": self.receiver_answer_ms_p50, "p99": self.receiver_answer_ms_p99},
            "checks": [{"target": name, "met": met, "detail": detail} for name, met, detail in self.checks],
        }


class CountingClient(AirtableClient):
    """The Airtable client, counting payload listings apart from record re-reads."""

    payload_requests = 0

    def list_webhook_payloads(self, webhook_id: str, cursor: int, limit: int = 50) -> Any:
        self.payload_requests += 1
        return super().list_webhook_payloads(webhook_id, cursor, limit)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def receiver_server(receiver: PingReceiver) -> Iterator[str]:
    """An HTTP endpoint in front of the receiver: each POST becomes a function URL event."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            event = {
                "version": "2.0",
                "rawPath": self.path,
                "headers": {key.lower(): value for key, value in self.headers.items()},
                "requestContext": {"http": {"method": "POST", "path": self.path}},
                "body": body.decode("utf-8", errors="surrogateescape"),
                "isBase64Encoded": False,
            }
            response = event_response(receiver.receive(request_from_event(event)))
            payload = str(response["body"]).encode()
            self.send_response(int(response["statusCode"]))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Worker:
    """The webhook worker in a thread: takes drain messages, coalesces what is waiting, drains."""

    def __init__(self, drainer: WebhookDrainer, messages: "queue.Queue[DrainMessage]") -> None:
        self._drainer = drainer
        self._messages = messages
        self._stop = threading.Event()
        self.drains = 0
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="webhook-worker", daemon=True)

    def __enter__(self) -> "Worker":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._messages.get(timeout=0.05)
            except queue.Empty:
                continue
            waiting = {first.webhook_id}
            while True:
                try:
                    waiting.add(self._messages.get_nowait().webhook_id)
                except queue.Empty:
                    break
            for webhook_id in waiting:
                try:
                    self._drainer.drain(webhook_id)
                    self.drains += 1
                except Exception as error:  # reported, and the next ping drains again
                    self.errors.append(f"{type(error).__name__}: {error}")


def run_benchmark(config: BenchConfig, say: Callable[[str], None]) -> BenchReport:
    settings = EmulatorSettings(
        requests_per_second_per_base=AIRTABLE_REQUESTS_PER_SECOND,
        rate_limit_penalty_seconds=30.0,
        ping_coalesce_seconds=0.1,
    )
    with (
        DynaliteServer() as server,
        dynalite_table(server) as table,
        Emulator(settings=settings, seed=21) as emulator,
    ):
        return _run(config, emulator, table, say)


def _run(
    config: BenchConfig, emulator: Emulator, table: DynamoTable, say: Callable[[str], None]
) -> BenchReport:
    base = emulator.state.create_base("Webhook bench", [ITEMS_TABLE])
    client = CountingClient(
        base_id=base.id,
        token_provider=lambda: emulator.token,
        api_url=emulator.url,
        pacer=LocalPacer(requests_per_second=AIRTABLE_REQUESTS_PER_SECOND),
    )
    records = RecordRepository(table.client, table.name)
    schemas = TableSchemaRepository(table.client, table.name)
    repository = WebhookRepository(table.client, table.name)
    secrets = TableMacSecretStore(repository)
    drain_queue = InMemoryDrainQueue()
    applier = PayloadApplier(base_id=base.id, client=client, records=records, schemas=schemas)
    drainer = WebhookDrainer(base_id=base.id, client=client, repository=repository, applier=applier)
    lifecycle = WebhookLifecycle(base_id=base.id, client=client, repository=repository, secrets=secrets)
    receiver = PingReceiver(base_id=base.id, repository=repository, secrets=secrets, queue=drain_queue)
    items = base.table("Items")
    name_field = items.field("Name").id
    with receiver_server(receiver) as url, Worker(drainer, drain_queue.messages) as worker:
        webhook_id = lifecycle.register(url, start_full_syncs=False).webhook_id
        say(f"webhook {webhook_id} pings {url}")
        ids = [
            record.id
            for start in range(0, config.records, 100)
            for record in emulator.state.create_records(
                base.id,
                "Items",
                [{"Name": f"seed {n}"} for n in range(start, min(config.records, start + 100))],
            )
        ]
        _wait_until(lambda: _visible(records, base.id, ids[-1], name_field, f"seed {config.records - 1}"))
        say(f"{len(ids)} records mirrored through the webhook; measuring {config.changes} changes")
        latency = _latency(config, emulator, base.id, ids, records, name_field, client, worker)
        say(f"latency: p50 {latency.p50_seconds * 1000:.0f} ms, p99 {latency.p99_seconds * 1000:.0f} ms")
        bulk = _bulk(config, emulator, base.id, ids, records, name_field, client)
        say(f"bulk: {bulk.airtable_requests} requests for {bulk.records_changed} changed records")
        if worker.errors:
            say(f"worker errors: {worker.errors[:3]}")
    attempts = [a.duration_ms for a in emulator.webhooks.delivery_attempts(webhook_id) if a.success]
    report = BenchReport(
        config=config,
        latency=latency,
        bulk=bulk,
        receiver_answer_ms_p50=percentile(attempts, 0.5),
        receiver_answer_ms_p99=percentile(attempts, 0.99),
    )
    report.checks = [
        (
            f"p99 change → readable ≤ {P99_TARGET_SECONDS:g} s",
            latency.p99_seconds <= P99_TARGET_SECONDS,
            f"{latency.p99_seconds:.3f} s",
        ),
        (
            f"Airtable requests per 100 changed records ≤ {REQUESTS_PER_100_TARGET:g}",
            bulk.requests_per_100 <= REQUESTS_PER_100_TARGET,
            f"{bulk.requests_per_100:.2f}",
        ),
    ]
    client.close()
    return report


def _visible(records: RecordRepository, base_id: str, record_id: str, field_id: str, value: str) -> bool:
    stored = records.get(base_id, record_id)
    return stored is not None and stored.cells.get(field_id) == value


def _wait_until(condition: Callable[[], bool], timeout: float = SETTLE_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the change never became readable")
        time.sleep(POLL_SECONDS)


def _latency(
    config: BenchConfig,
    emulator: Emulator,
    base_id: str,
    ids: list[str],
    records: RecordRepository,
    name_field: str,
    client: CountingClient,
    worker: Worker,
) -> LatencyResult:
    pending: dict[str, tuple[str, float]] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() or pending:
            with lock:
                waiting = list(pending.items())
            for record_id, (value, started) in waiting:
                if _visible(records, base_id, record_id, name_field, value):
                    with lock:
                        latencies.append(time.perf_counter() - started)
                        pending.pop(record_id, None)
            time.sleep(POLL_SECONDS)

    requests_before = client.stats.requests
    pings_before = len(emulator.webhooks.delivery_attempts())
    drains_before = worker.drains
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    next_at = time.perf_counter()
    for n in range(config.changes):
        record_id = ids[n % len(ids)]
        while True:
            with lock:
                if record_id not in pending:
                    break
            time.sleep(POLL_SECONDS)
        value = f"change {n}"
        time.sleep(max(0.0, next_at - time.perf_counter()))
        with lock:
            pending[record_id] = (value, time.perf_counter())
        emulator.state.update_records(base_id, "Items", [(record_id, {"Name": value})])
        next_at += config.interval_seconds
    done.set()
    watcher.join(timeout=SETTLE_TIMEOUT_SECONDS)
    return LatencyResult(
        changes=len(latencies),
        p50_seconds=statistics.median(latencies),
        p99_seconds=percentile(latencies, 0.99),
        max_seconds=max(latencies),
        airtable_requests=client.stats.requests - requests_before,
        pings_received=len(emulator.webhooks.delivery_attempts()) - pings_before,
        drains=worker.drains - drains_before,
    )


def _bulk(
    config: BenchConfig,
    emulator: Emulator,
    base_id: str,
    ids: list[str],
    records: RecordRepository,
    name_field: str,
    client: CountingClient,
) -> BulkResult:
    targets = [ids[n % len(ids)] for n in range(config.bulk_records)]
    # Distinct records per round of len(ids), so every write changes a record
    rounds = [targets[start : start + len(ids)] for start in range(0, len(targets), len(ids))]
    requests_before = client.stats.requests
    payloads_before = client.payload_requests
    started = time.perf_counter()
    last: tuple[str, str] = ("", "")
    for round_number, round_ids in enumerate(rounds):
        for start in range(0, len(round_ids), 10):
            batch = round_ids[start : start + 10]
            updates = [(record_id, {"Name": f"bulk {round_number} {record_id}"}) for record_id in batch]
            emulator.state.update_records(base_id, "Items", updates)
            last = (batch[-1], f"bulk {round_number} {batch[-1]}")
        # Wait for the round so the next one changes the records again
        record_id, value = last
        _wait_until(lambda: _visible(records, base_id, record_id, name_field, value))  # noqa: B023 - called here
    seconds = time.perf_counter() - started
    requests = client.stats.requests - requests_before
    payload_requests = client.payload_requests - payloads_before
    return BulkResult(
        records_changed=len(targets),
        airtable_requests=requests,
        payload_requests=payload_requests,
        reread_requests=requests - payload_requests,
        seconds=seconds,
    )


def format_report(report: BenchReport) -> str:
    latency, bulk = report.latency, report.bulk
    lines = [
        "webhook benchmark (emulator at 5 requests/s per base, client paced at 5/s, dynalite)",
        f"  latency over {latency.changes} changes {report.config.interval_seconds:g} s apart "
        f"(mutation → readable via RecordRepository.get):",
        f"    p50 {latency.p50_seconds * 1000:.0f} ms   p99 {latency.p99_seconds * 1000:.0f} ms   "
        f"max {latency.max_seconds * 1000:.0f} ms",
        f"    {latency.pings_received} pings, {latency.drains} drains, {latency.airtable_requests} Airtable "
        f"requests ({latency.requests_per_change:.2f} per change)",
        f"  bulk: {bulk.records_changed} records changed in writes of 10: {bulk.airtable_requests} Airtable "
        f"requests ({bulk.payload_requests} payload listings, {bulk.reread_requests} re-reads) = "
        f"{bulk.requests_per_100:.2f} per 100 changed records, in {bulk.seconds:.1f} s",
        f"  receiver answer (as the emulator timed its pings): p50 {report.receiver_answer_ms_p50:.1f} ms, "
        f"p99 {report.receiver_answer_ms_p99:.1f} ms",
        "  targets:",
    ]
    for name, met, detail in report.checks:
        lines.append(f"    [{'met' if met else 'MISSED'}] {name}: {detail}")
    return "\n".join(lines)


def parse_arguments(argv: Sequence[str]) -> tuple[BenchConfig, str | None]:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_bench", description=__doc__)
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between two changes")
    parser.add_argument("--bulk", type=int, default=1000, help="records changed for the requests figure")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 changes, 200 bulk records")
    parser.add_argument("--json", help="also write the report as JSON to this file")
    arguments = parser.parse_args(argv)
    if arguments.quick:
        return BenchConfig(changes=20, interval_seconds=0.25, bulk_records=200, records=100), arguments.json
    return (
        BenchConfig(
            changes=arguments.changes, interval_seconds=arguments.interval, bulk_records=arguments.bulk
        ),
        arguments.json,
    )


def main(argv: Sequence[str] | None = None) -> int:
    config, json_path = parse_arguments(sys.argv[1:] if argv is None else argv)
    report = run_benchmark(config, lambda line: print(f"... {line}", file=sys.stderr))  # noqa: T201
    sys.stdout.write(format_report(report) + "\n")
    if json_path is not None:
        with open(json_path, "w", encoding="utf-8") as stream:
            stream.write(json.dumps(report.as_dict(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
