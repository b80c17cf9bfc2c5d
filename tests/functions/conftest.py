"""A deployed stack in miniature: the emulator's demo base, moto's DynamoDB (table from template.yaml)
and SQS, and the environment template.yaml's Globals give every function."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from airtable_emulator.demo import build_demo_base
from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from airtable_emulator.settings import EmulatorSettings
from airtable_mirror import runtime
from tests.support.dynamodb import create_mirror_table

EVENTS = Path(__file__).resolve().parents[2] / "events"
TABLE_NAME = "airtable-mirror-MirrorTable"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


@dataclass
class FakeLambdaContext:
    function_name: str = "airtable-mirror-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:airtable-mirror-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"
    remaining_millis: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@dataclass
class Stack:
    emulator: Emulator
    base: Base
    queue_url: str
    sqs: Any
    dynamodb: Any

    def queued_messages(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        messages = response.get("Messages", [])
        for message in messages:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(message["Body"]) for message in messages]


@pytest.fixture
def stack(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    settings = EmulatorSettings(requests_per_second_per_base=50, rate_limit_penalty_seconds=0.5)
    with Emulator(settings=settings, seed=5) as emulator, mock_aws():
        base = build_demo_base(emulator.state, seed=1)
        dynamodb = boto3.client("dynamodb")
        create_mirror_table(dynamodb, TABLE_NAME)
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="airtable-mirror-SyncQueue")["QueueUrl"]
        environment = {
            "POWERTOOLS_SERVICE_NAME": "airtable-mirror",
            "POWERTOOLS_METRICS_NAMESPACE": "AirtableMirror",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "MIRROR_TABLE_NAME": TABLE_NAME,
            "AIRTABLE_BASE_ID": base.id,
            "AIRTABLE_API_URL": emulator.url,
            "AIRTABLE_API_KEY": emulator.token,
            "AIRTABLE_REQUESTS_PER_SECOND": "40",
            "AIRTABLE_RATE_LIMIT_PENALTY_SECONDS": "0.5",
            "TABLE_ALIASES": "people=People,tasks=Tasks",
            "SYNC_TABLES": "People,Tasks",
            "SYNC_QUEUE_URL": queue_url,
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AIRTABLE_TOKEN_SECRET", raising=False)
        runtime.reset()
        yield Stack(emulator=emulator, base=base, queue_url=queue_url, sqs=sqs, dynamodb=dynamodb)
        runtime.reset()
