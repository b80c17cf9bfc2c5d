"""The stack fixture with the webhook parts: the FIFO queue, Secrets Manager (moto) and the settings
template.yaml gives the webhook functions."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from airtable_mirror import runtime
from tests.functions.conftest import Stack

MAC_PREFIX = "airtable-mirror-test/webhooks/"
PUSH_SECRET_NAME = "airtable-mirror-test/push"
PUSH_SECRET = "sample-webhook-secret"  # what events/webhook_push.json is signed with
SAMPLE_BASE_ID = "appDEMO0000000001"
SAMPLE_WEBHOOK_ID = "achDEMO0000000001"
# The MAC secret events/webhook_ping.json is signed with.
SAMPLE_MAC_SECRET = "c2FtcGxlIE1BQyBzZWNyZXQ6IGV2ZW50cy93ZWJob29rX3BpbmcuanNvbg=="


@dataclass
class WebhookStack:
    stack: Stack
    queue_url: str
    secretsmanager: Any

    def drain_messages(self) -> list[dict[str, Any]]:
        """Messages on the webhook queue (taken off it), with their message group."""
        sqs = self.stack.sqs
        found: list[dict[str, Any]] = []
        while True:
            response = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
            )
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                found.append({"body": json.loads(message["Body"]), "attributes": message["Attributes"]})


@pytest.fixture
def webhook_stack(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookStack]:
    queue_url = stack.sqs.create_queue(
        QueueName="airtable-mirror-WebhookQueue.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    secretsmanager = boto3.client("secretsmanager")
    secretsmanager.create_secret(Name=PUSH_SECRET_NAME, SecretString=PUSH_SECRET)
    monkeypatch.setenv("WEBHOOK_QUEUE_URL", queue_url)
    monkeypatch.setenv("WEBHOOK_MAC_STORE", "secretsmanager")
    monkeypatch.setenv("WEBHOOK_MAC_PREFIX", MAC_PREFIX)
    monkeypatch.setenv("WEBHOOK_PUSH_SECRET", PUSH_SECRET_NAME)
    runtime.reset()
    yield WebhookStack(stack=stack, queue_url=queue_url, secretsmanager=secretsmanager)
    runtime.reset()


def use_sample_base(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the mirror the one the sample events were made for, with the sample webhook stored."""
    from airtable_mirror.repository.webhooks import WebhookState

    monkeypatch.setenv("AIRTABLE_BASE_ID", SAMPLE_BASE_ID)
    runtime.reset()
    runtime.webhook_repository().create(
        WebhookState(
            base_id=SAMPLE_BASE_ID,
            webhook_id=SAMPLE_WEBHOOK_ID,
            cursor=1,
            notification_url="https://a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-east-1.on.aws/",
            table_ids=(),
            specification={},
            created_at="2026-11-26T06:00:00.000000Z",
        )
    )
    runtime.mac_secret_store().put(SAMPLE_BASE_ID, SAMPLE_WEBHOOK_ID, SAMPLE_MAC_SECRET)
