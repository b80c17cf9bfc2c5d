"""The webhook pieces wired to a real emulator (HTTP) and a real mirror table, as the functions wire them.

Builds on the sync harness (tests/layers/common/airtable_mirror/sync/harness.py): the same Items and
Others tables, the same comparison helpers, the same in-memory run queue, so full syncs and webhook
drains can be interleaved on one mirror.
"""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from airtable_emulator.emulator import Emulator
from airtable_emulator.settings import EmulatorSettings
from airtable_mirror.airtable import AirtableClient, LocalPacer
from airtable_mirror.repository import RecordRepository, SyncRunRepository
from airtable_mirror.repository.table_schemas import TableSchemaRepository
from airtable_mirror.repository.webhooks import WebhookRepository, WebhookState
from airtable_mirror.run_queue import RunMessage
from airtable_mirror.sync.engine import SyncEngine
from airtable_mirror.sync.service import SyncService
from airtable_mirror.webhooks.applier import PayloadApplier
from airtable_mirror.webhooks.drain import DrainResult, WebhookDrainer
from airtable_mirror.webhooks.drain_queue import InMemoryDrainQueue
from airtable_mirror.webhooks.full_syncs import FullSyncRequests
from airtable_mirror.webhooks.lifecycle import WebhookLifecycle
from airtable_mirror.webhooks.push import PushApplier
from airtable_mirror.webhooks.receiver import IncomingRequest, PingReceiver, ReceiverResponse
from airtable_mirror.webhooks.secrets import TableMacSecretStore
from airtable_mirror.webhooks.signature import MAC_HEADER, content_mac, decode_mac_secret
from tests.layers.common.airtable_mirror.sync.harness import (
    ITEMS_TABLE,
    OTHER_TABLE,
    ListQueue,
    SyncHarness,
)
from tests.support.dynamodb import DynamoTable

PUSH_SECRET = b"push-secret-for-tests"


class OffsetClock:
    """Real time plus an offset the test moves (to expire leases without waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class WebhookHarness:
    sync: SyncHarness
    repository: WebhookRepository
    secrets: TableMacSecretStore
    drain_queue: InMemoryDrainQueue
    full_syncs: FullSyncRequests
    applier: PayloadApplier
    drainer: WebhookDrainer
    lifecycle: WebhookLifecycle
    receiver: PingReceiver
    push: PushApplier
    lease_clock: OffsetClock
    webhook_id: str = ""
    runs_done: int = 0
    drains: list[DrainResult] = field(default_factory=list)

    @property
    def emulator(self) -> Emulator:
        return self.sync.emulator

    @property
    def base_id(self) -> str:
        return self.sync.base.id

    def table_id(self, name: str = "Items") -> str:
        return self.sync.base.table(name).id

    def field_id(self, name: str, table: str = "Items") -> str:
        return self.sync.base.table(table).field(name).id

    def register(
        self, url: str | None = None, tables: tuple[str, ...] = (), *, full_syncs: bool = False
    ) -> str:
        state = self.lifecycle.register(url, tables, start_full_syncs=full_syncs)
        self.webhook_id = state.webhook_id
        return state.webhook_id

    def state(self, webhook_id: str | None = None) -> WebhookState:
        found = self.repository.get(self.base_id, webhook_id or self.webhook_id, consistent_read=True)
        assert found is not None
        return found

    def drain(self, webhook_id: str | None = None) -> DrainResult:
        result = self.drainer.drain(webhook_id or self.webhook_id)
        self.drains.append(result)
        return result

    def queued_runs(self) -> list[RunMessage]:
        """Sync runs queued since the last call (by the service: schedule, repairs, full-sync requests)."""
        sent = self.sync.queue.sent[self.runs_done :]
        self.runs_done = len(self.sync.queue.sent)
        return [message for message, _ in sent]

    def run_queued_syncs(self) -> int:
        ran = 0
        for message in self.queued_runs():
            self.sync.run_to_end(message.run_id)
            ran += 1
        return ran

    def settle(self, max_rounds: int = 10) -> None:
        """Drain and run the full syncs the drains asked for until neither has anything left."""
        for _ in range(max_rounds):
            self.drain()
            self.full_syncs.retry_pending()
            if self.run_queued_syncs() == 0 and not self.full_syncs.pending():
                self.drain()
                return
        raise AssertionError("the mirror did not settle")

    def signed_ping(
        self, webhook_id: str | None = None, timestamp: str = "2026-03-01T12:00:00.000Z"
    ) -> IncomingRequest:
        hook = webhook_id or self.webhook_id
        body = json.dumps(
            {"base": {"id": self.base_id}, "webhook": {"id": hook}, "timestamp": timestamp},
            separators=(",", ":"),
        ).encode()
        secret = self.secrets.get(self.base_id, hook)
        assert secret is not None
        return request(body, content_mac(decode_mac_secret(secret), body))

    def receive(self, incoming: IncomingRequest) -> ReceiverResponse:
        return self.receiver.receive(incoming)


def request(
    body: bytes, mac: str | None, content_type: str = "application/json", method: str = "POST"
) -> IncomingRequest:
    headers = {"content-type": content_type}
    if mac is not None:
        headers[MAC_HEADER.lower()] = mac
    return IncomingRequest(method=method, headers=headers, body=body)


def push_request(document: dict[str, Any], key: bytes = PUSH_SECRET) -> IncomingRequest:
    body = json.dumps(document).encode()
    return request(body, content_mac(key, body))


@contextmanager
def webhook_harness(
    dynamo: DynamoTable,
    *,
    emulator_settings: EmulatorSettings | None = None,
    requests_per_second: float = 200.0,
    seed: int = 11,
    lease_seconds: float = 60.0,
) -> Iterator[WebhookHarness]:
    settings = emulator_settings or EmulatorSettings(
        requests_per_second_per_base=requests_per_second * 2,
        requests_per_second_per_token=requests_per_second * 20,
        rate_limit_penalty_seconds=0.2,
    )
    with Emulator(settings=settings, seed=seed) as emulator:
        base = emulator.state.create_base("Webhook test", [ITEMS_TABLE, OTHER_TABLE])
        client = AirtableClient(
            base_id=base.id,
            token_provider=lambda: emulator.token,
            api_url=emulator.url,
            pacer=LocalPacer(requests_per_second=requests_per_second),
            timeout=5.0,
            rate_limit_penalty_seconds=0.2,
        )
        records = RecordRepository(dynamo.client, dynamo.name)
        runs = SyncRunRepository(dynamo.client, dynamo.name)
        schemas = TableSchemaRepository(dynamo.client, dynamo.name)
        run_queue = ListQueue()
        service = SyncService(base_id=base.id, client=client, runs=runs, schemas=schemas, queue=run_queue)
        sync = SyncHarness(
            emulator=emulator,
            base=base,
            dynamo=dynamo,
            client=client,
            records=records,
            runs=runs,
            schemas=schemas,
            engine=SyncEngine(client, records, runs, schemas),
            queue=run_queue,
            service=service,
        )
        repository = WebhookRepository(dynamo.client, dynamo.name)
        secrets = TableMacSecretStore(repository)
        drain_queue = InMemoryDrainQueue()
        full_syncs = FullSyncRequests(
            base_id=base.id, repository=repository, runs=runs, start_run=service.start_run
        )
        applier = PayloadApplier(
            base_id=base.id, client=client, records=records, schemas=schemas, full_syncs=full_syncs
        )
        lease_clock = OffsetClock()
        drainer = WebhookDrainer(
            base_id=base.id,
            client=client,
            repository=repository,
            applier=applier,
            full_syncs=full_syncs,
            lease_seconds=lease_seconds,
            lease_clock=lease_clock,
        )
        lifecycle = WebhookLifecycle(
            base_id=base.id,
            client=client,
            repository=repository,
            secrets=secrets,
            full_syncs=full_syncs,
            drain_queue=drain_queue,
        )
        push = PushApplier(base_id=base.id, records=records, schemas=schemas)
        receiver = PingReceiver(
            base_id=base.id,
            repository=repository,
            secrets=secrets,
            queue=drain_queue,
            push=push,
            push_key=lambda: PUSH_SECRET,
        )
        yield WebhookHarness(
            sync=sync,
            repository=repository,
            secrets=secrets,
            drain_queue=drain_queue,
            full_syncs=full_syncs,
            applier=applier,
            drainer=drainer,
            lifecycle=lifecycle,
            receiver=receiver,
            push=push,
            lease_clock=lease_clock,
        )
        client.close()
