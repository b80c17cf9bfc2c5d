"""A sync engine wired to a real emulator (HTTP) and a real mirror table, as in production."""

import copy
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from airtable_emulator.clock import iso_millis
from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from airtable_emulator.settings import EmulatorSettings
from airtable_mirror.airtable import AirtableClient, LocalPacer
from airtable_mirror.repository import RecordRepository, SyncRunRepository
from airtable_mirror.repository.table_schemas import TableSchemaRepository
from airtable_mirror.run_queue import RunMessage
from airtable_mirror.sync.engine import SliceOutcome, SliceResult, SyncEngine
from airtable_mirror.sync.service import SyncService
from tests.support.dynamodb import DynamoTable

ITEMS_TABLE: dict[str, Any] = {
    "name": "Items",
    "fields": [
        {"name": "Name", "type": "singleLineText"},
        {"name": "Count", "type": "number", "options": {"precision": 2}},
        {"name": "Done", "type": "checkbox"},
        {
            "name": "Color",
            "type": "singleSelect",
            "options": {"choices": [{"name": "red"}, {"name": "blue"}]},
        },
        {"name": "Tags", "type": "multipleSelects", "options": {"choices": [{"name": "a"}, {"name": "b"}]}},
        {"name": "Notes", "type": "multilineText"},
        {"name": "Due", "type": "date"},
        {"name": "Files", "type": "multipleAttachments"},
    ],
}
OTHER_TABLE: dict[str, Any] = {"name": "Others", "fields": [{"name": "Title", "type": "singleLineText"}]}

# Scaled so the suite runs in seconds: the emulator enforces 50 requests/s and a 0.4 s penalty;
# the client paces itself at 40/s and waits out the same penalty.
EMULATOR_RATE = 50.0
CLIENT_RATE = 40.0
PENALTY_SECONDS = 0.4


def random_fields(rng: random.Random, index: int) -> dict[str, Any]:
    fields: dict[str, Any] = {"Name": f"item {index} {rng.choice(['\u03b1', 'b', '\U0001f4a1', ''])}"}
    if rng.random() < 0.7:
        fields["Count"] = rng.choice([0.1, 1e-7, 42, -3.25, 12345678901234567])
    if rng.random() < 0.5:
        fields["Done"] = True
    if rng.random() < 0.6:
        fields["Color"] = rng.choice(["red", "blue"])
    if rng.random() < 0.5:
        fields["Tags"] = rng.sample(["a", "b"], rng.randint(1, 2))
    if rng.random() < 0.3:
        fields["Notes"] = "line one\nline two " * rng.randint(1, 5)
    if rng.random() < 0.3:
        fields["Due"] = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if rng.random() < 0.1:
        fields["Files"] = [{"url": f"https://example.com/file-{index}.pdf"}]
    return fields


@dataclass
class ListQueue:
    """The run queue, in memory: what the sync functions would have sent to SQS."""

    sent: list[tuple[RunMessage, int]] = field(default_factory=list)

    def send(self, message: RunMessage, *, delay_seconds: int = 0) -> None:
        self.sent.append((message, delay_seconds))


def without_attachment_urls(value: Any) -> Any:
    """Attachment URLs are signed per response; compare what they point at, not the URL."""
    if isinstance(value, list):
        return [without_attachment_urls(item) for item in value]
    if isinstance(value, dict):
        if str(value.get("id", "")).startswith("att"):
            return {key: item for key, item in value.items() if key not in {"url", "thumbnails"}}
        return {key: without_attachment_urls(item) for key, item in value.items()}
    return value


@dataclass
class SyncHarness:
    emulator: Emulator
    base: Base
    dynamo: DynamoTable
    client: AirtableClient
    records: RecordRepository
    runs: SyncRunRepository
    schemas: TableSchemaRepository
    engine: SyncEngine
    queue: ListQueue
    service: SyncService

    @property
    def table_id(self) -> str:
        return self.base.table("Items").id

    def add_records(self, count: int, seed: int = 1, table: str = "Items") -> list[str]:
        rng = random.Random(seed)
        ids: list[str] = []
        for start in range(0, count, 500):
            batch = [random_fields(rng, start + i) for i in range(min(500, count - start))]
            if table != "Items":
                batch = [{"Title": item["Name"]} for item in batch]
            ids += [record.id for record in self.emulator.state.create_records(self.base.id, table, batch)]
        return ids

    def start(self, table: str = "Items") -> str:
        return self.service.start_run(table).run.run_id

    def run_to_end(
        self, run_id: str, *, hand_over: Callable[[], bool] = lambda: False, max_slices: int = 1000
    ) -> list[SliceResult]:
        results: list[SliceResult] = []
        for _ in range(max_slices):
            result = self.engine.run_slice(self.base.id, run_id, should_hand_over=hand_over)
            results.append(result)
            if result.outcome is not SliceOutcome.HANDOVER:
                return results
        raise AssertionError("the run did not finish")

    def sync(self, table: str = "Items") -> SliceResult:
        return self.run_to_end(self.start(table))[-1]

    def airtable_state(self, table: str = "Items") -> dict[str, tuple[str, dict[str, Any]]]:
        """The emulator's table as a REST reader sees it: record id -> (createdTime, cells by field id)."""
        emulated = self.base.table(table)
        with self.emulator.state.lock:
            return {
                record.id: (
                    iso_millis(record.created_time),
                    without_attachment_urls(copy.deepcopy(emulated.read_cells(record))),
                )
                for record in emulated.records.values()
            }

    def mirror_state(self, table: str = "Items") -> dict[str, tuple[str, dict[str, Any]]]:
        table_id = self.base.table(table).id
        state: dict[str, tuple[str, dict[str, Any]]] = {}
        for record_id, _ in self.records.iter_table_keys(self.base.id, table_id):
            stored = self.records.get(self.base.id, record_id)
            assert stored is not None and stored.created_time is not None
            state[record_id] = (stored.created_time, without_attachment_urls(stored.cells))
        return state


@contextmanager
def sync_harness(
    dynamo: DynamoTable,
    *,
    emulator_settings: EmulatorSettings | None = None,
    client_timeout: float = 5.0,
    max_attempts: int = 6,
) -> Iterator[SyncHarness]:
    settings = emulator_settings or EmulatorSettings(
        requests_per_second_per_base=EMULATOR_RATE,
        requests_per_second_per_token=EMULATOR_RATE * 10,
        rate_limit_penalty_seconds=PENALTY_SECONDS,
    )
    with Emulator(settings=settings, seed=11) as emulator:
        base = emulator.state.create_base("Sync test", [ITEMS_TABLE, OTHER_TABLE])
        client = AirtableClient(
            base_id=base.id,
            token_provider=lambda: emulator.token,
            api_url=emulator.url,
            pacer=LocalPacer(requests_per_second=CLIENT_RATE),
            timeout=client_timeout,
            rate_limit_penalty_seconds=PENALTY_SECONDS,
            max_attempts=max_attempts,
        )
        records = RecordRepository(dynamo.client, dynamo.name)
        runs = SyncRunRepository(dynamo.client, dynamo.name)
        schemas = TableSchemaRepository(dynamo.client, dynamo.name)
        queue = ListQueue()
        yield SyncHarness(
            emulator=emulator,
            base=base,
            dynamo=dynamo,
            client=client,
            records=records,
            runs=runs,
            engine=SyncEngine(client, records, runs, schemas),
            schemas=schemas,
            queue=queue,
            service=SyncService(
                base_id=base.id,
                client=client,
                runs=runs,
                schemas=schemas,
                queue=queue,
                aliases={"things": "Items"},
            ),
        )
        client.close()
