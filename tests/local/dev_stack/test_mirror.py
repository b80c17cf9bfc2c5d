"""dev_stack.mirror: at start-up, one live webhook pinging the function URL, runs a stop interrupted
finished and restarted, and a first sync only of the tables never synced. Against the emulator and
moto's DynamoDB and SQS, through the shared package as the stack uses it."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from airtable_emulator.demo import build_demo_base
from airtable_emulator.emulator import Emulator
from airtable_emulator.settings import EmulatorSettings
from airtable_mirror import runtime
from airtable_mirror.repository.table_schemas import LastSync
from dev_stack.mirror import (
    INTERRUPTED_RUN_ERROR,
    fail_interrupted_runs,
    reconcile_webhook,
    start_first_syncs,
    wait_for_runs,
)
from tests.support.dynamodb import create_mirror_table

TABLE_NAME = "airtable-mirror-local-MirrorTable"
FUNCTION_URL = "http://127.0.0.1:3001/"


@dataclass
class Mirror:
    emulator: Emulator
    base_id: str
    sqs: Any
    sync_queue_url: str

    def airtable_webhooks(self) -> list[dict[str, Any]]:
        answer = requests.get(
            f"{self.emulator.url}/v0/bases/{self.base_id}/webhooks",
            headers={"Authorization": f"Bearer {self.emulator.token}"},
            timeout=10,
        )
        webhooks: list[dict[str, Any]] = answer.json()["webhooks"]
        return webhooks

    def forget_in_airtable(self, webhook_id: str) -> None:
        """What a restart of the emulator does to the webhooks it had."""
        requests.delete(
            f"{self.emulator.url}/v0/bases/{self.base_id}/webhooks/{webhook_id}",
            headers={"Authorization": f"Bearer {self.emulator.token}"},
            timeout=10,
        ).raise_for_status()

    def queued_runs(self) -> list[str]:
        messages = self.sqs.receive_message(
            QueueUrl=self.sync_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        ).get("Messages", [])
        return sorted(json.loads(message["Body"])["run_id"] for message in messages)


@pytest.fixture
def mirror(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    settings = EmulatorSettings(requests_per_second_per_base=50, rate_limit_penalty_seconds=0.5)
    with Emulator(settings=settings, seed=3) as emulator, mock_aws():
        base = build_demo_base(emulator.state, seed=1)
        create_mirror_table(boto3.client("dynamodb"), TABLE_NAME)
        sqs = boto3.client("sqs")
        sync_queue_url = sqs.create_queue(QueueName="airtable-mirror-local-SyncQueue")["QueueUrl"]
        webhook_queue_url = sqs.create_queue(
            QueueName="airtable-mirror-local-WebhookQueue.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        environment = {
            "POWERTOOLS_SERVICE_NAME": "airtable-mirror",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "MIRROR_TABLE_NAME": TABLE_NAME,
            "AIRTABLE_BASE_ID": base.id,
            "AIRTABLE_API_URL": emulator.url,
            "AIRTABLE_API_KEY": emulator.token,
            "AIRTABLE_REQUESTS_PER_SECOND": "40",
            "TABLE_ALIASES": "people=People,tasks=Tasks",
            "SYNC_TABLES": "people,Tasks",
            "SYNC_QUEUE_URL": sync_queue_url,
            "WEBHOOK_QUEUE_URL": webhook_queue_url,
            "WEBHOOK_MAC_STORE": "table",
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AIRTABLE_TOKEN_SECRET", raising=False)
        runtime.reset()
        yield Mirror(emulator, base.id, sqs, sync_queue_url)
        runtime.reset()


def test_the_first_start_registers_a_webhook_and_a_restart_keeps_it(mirror: Mirror) -> None:
    first = reconcile_webhook(FUNCTION_URL)
    assert first.registered
    listed = mirror.airtable_webhooks()
    assert [(hook["id"], hook["notificationUrl"]) for hook in listed] == [(first.webhook_id, FUNCTION_URL)]
    state = runtime.webhook_repository().get(mirror.base_id, first.webhook_id)
    assert state is not None and len(state.table_ids) == 2, "scoped to SYNC_TABLES"
    assert runtime.mac_secret_store().get(mirror.base_id, first.webhook_id)

    again = reconcile_webhook(FUNCTION_URL)
    assert (again.registered, again.webhook_id, again.removed) == (False, first.webhook_id, ())
    assert mirror.queued_runs() == [], "no full sync asked for"


def test_a_webhook_airtable_forgot_is_replaced(mirror: Mirror) -> None:
    old = reconcile_webhook(FUNCTION_URL)
    mirror.forget_in_airtable(old.webhook_id)

    new = reconcile_webhook(FUNCTION_URL)

    assert new.registered and new.removed == (old.webhook_id,)
    assert [hook["id"] for hook in mirror.airtable_webhooks()] == [new.webhook_id]
    known = [state.webhook_id for state in runtime.webhook_repository().list_webhooks(mirror.base_id)]
    assert known == [new.webhook_id]
    assert mirror.queued_runs() == [], "the data on disk is kept: no full sync"


def test_a_webhook_pinging_another_url_is_deleted_in_airtable_too(mirror: Mirror) -> None:
    old = reconcile_webhook("http://127.0.0.1:4001/")
    new = reconcile_webhook(FUNCTION_URL)
    assert new.removed == (old.webhook_id,)
    assert [(hook["id"], hook["notificationUrl"]) for hook in mirror.airtable_webhooks()] == [
        (new.webhook_id, FUNCTION_URL)
    ]


def test_only_tables_never_synced_get_a_first_sync(mirror: Mirror) -> None:
    tables, started = start_first_syncs(restart_table_ids=())
    assert [table["name"] for table in tables] == ["People", "Tasks"]
    assert sorted(run.run_id for run in started) == mirror.queued_runs()
    assert len(started) == 2

    # People's run finishes; Tasks's is still queued when the stack stops.
    people, tasks = started
    runs = runtime.sync_run_repository()
    runs.finish_run(mirror.base_id, people.run_id, "succeeded", {})
    runtime.table_schema_repository().record_sync(
        mirror.base_id, people.table_id, LastSync(people.run_id, "succeeded", "2026-11-26T10:00:00Z")
    )

    interrupted = fail_interrupted_runs()
    assert [run.run_id for run in interrupted] == [tasks.run_id]
    failed = runs.get_run(mirror.base_id, tasks.run_id)
    assert failed is not None and (failed.status, failed.error) == ("failed", INTERRUPTED_RUN_ERROR)

    _, restarted = start_first_syncs(restart_table_ids={run.table_id for run in interrupted})
    assert [run.table_name for run in restarted] == ["Tasks"]
    assert restarted[0].run_id != tasks.run_id
    assert wait_for_runs(restarted, timeout=0) == restarted, "nobody works the queue here"

    _, nothing = start_first_syncs(restart_table_ids=(), start=False)
    assert nothing == []


def test_a_sync_table_the_base_does_not_have_is_skipped_with_a_warning(
    mirror: Mirror, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SYNC_TABLES", "People,Invoices")
    runtime.reset()

    tables, started = start_first_syncs(restart_table_ids=())
    hook = reconcile_webhook(FUNCTION_URL)

    assert [table["name"] for table in tables] == ["People"]
    assert [run.table_name for run in started] == ["People"]
    state = runtime.webhook_repository().get(mirror.base_id, hook.webhook_id)
    assert state is not None and state.table_ids == (tables[0]["id"],)
    assert any(
        "Invoices" in record.getMessage() for record in caplog.records if record.levelname == "WARNING"
    )
