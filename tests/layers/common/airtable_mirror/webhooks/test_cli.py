"""`python -m airtable_mirror.webhooks.cli`: registration from a deployed stack's outputs (CloudFormation
answered by botocore's Stubber, which checks the response against the real API model), the emulator
as Airtable and moto for DynamoDB, SQS and Secrets Manager."""

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from airtable_emulator.demo import build_demo_base
from airtable_emulator.emulator import Emulator
from airtable_emulator.settings import EmulatorSettings
from airtable_mirror import runtime
from airtable_mirror.webhooks import cli
from tests.support.dynamodb import create_mirror_table

STACK = "airtable-mirror-test"
FUNCTION_URL = "https://a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-east-1.on.aws/"


@dataclass
class Deployed:
    emulator: Emulator
    base_id: str
    outputs: dict[str, str]
    parameters: dict[str, str]

    def cloudformation(self, region: str | None) -> Any:
        client = boto3.client("cloudformation", region_name=region or "us-east-1")
        stubber = Stubber(client)
        stubber.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": STACK,
                        "CreationTime": "2026-11-26T07:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()],
                        "Parameters": [
                            {"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()
                        ],
                    }
                ]
            },
            {"StackName": STACK},
        )
        stubber.activate()
        return client


@pytest.fixture
def deployed(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployed]:
    settings = EmulatorSettings(requests_per_second_per_base=50)
    with Emulator(settings=settings, seed=3) as emulator, mock_aws():
        base = build_demo_base(emulator.state, seed=1)
        create_mirror_table(boto3.client("dynamodb"), "mirror-table")
        sqs = boto3.client("sqs")
        sync_queue = sqs.create_queue(QueueName="sync")["QueueUrl"]
        webhook_queue = sqs.create_queue(QueueName="hooks.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        token_arn = boto3.client("secretsmanager").create_secret(
            Name="airtable-token", SecretString=emulator.token
        )["ARN"]
        for name in ("MIRROR_TABLE_NAME", "AIRTABLE_BASE_ID", "AIRTABLE_API_KEY", "AIRTABLE_TOKEN_SECRET"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        yield Deployed(
            emulator=emulator,
            base_id=base.id,
            outputs={
                "WebhookFunctionUrl": FUNCTION_URL,
                "MirrorTableName": "mirror-table",
                "SyncQueueUrl": sync_queue,
                "WebhookQueueUrl": webhook_queue,
                "WebhookMacPrefix": f"{STACK}/webhooks/",
                "HttpApiUrl": "https://api.example.test",
            },
            parameters={
                "AirtableBaseId": base.id,
                "AirtableApiUrl": emulator.url,
                "AirtableTokenSecretArn": token_arn,
                "SyncTables": "People",
            },
        )
        runtime.reset()


def run(deployed: Deployed, *arguments: str) -> tuple[int, dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(arguments), cloudformation_factory=deployed.cloudformation, out=out, err=err)
    return code, json.loads(out.getvalue()) if out.getvalue() else {}, err.getvalue()


def test_register_from_the_stack_outputs_keeps_the_secret_in_secrets_manager(deployed: Deployed) -> None:
    code, result, _ = run(deployed, "register", "--stack-name", STACK)

    assert code == 0 and result["registered"] is True
    webhook = result["webhook"]
    [listed] = deployed.emulator.webhooks.list_webhooks(deployed.base_id)
    assert (listed["id"], listed["notificationUrl"]) == (webhook["webhook_id"], FUNCTION_URL)
    assert webhook["tables"] == [deployed.emulator.state.table(deployed.base_id, "People").id]
    secret = boto3.client("secretsmanager").get_secret_value(
        SecretId=f"{STACK}/webhooks/{deployed.base_id}/{webhook['webhook_id']}"
    )
    assert secret["SecretString"]  # kept, and never printed
    assert secret["SecretString"] not in json.dumps(result)
    # A full sync of People was queued to bring what came before the webhook
    messages = boto3.client("sqs").receive_message(QueueUrl=deployed.outputs["SyncQueueUrl"])["Messages"]
    assert len(messages) == 1


def test_registering_again_is_a_no_op_unless_forced(deployed: Deployed) -> None:
    run(deployed, "register", "--stack-name", STACK, "--no-full-sync")
    code, again, _ = run(deployed, "register", "--stack-name", STACK, "--no-full-sync")
    assert code == 0 and again["registered"] is False
    assert len(deployed.emulator.webhooks.list_webhooks(deployed.base_id)) == 1


def test_list_maintain_and_unregister(deployed: Deployed) -> None:
    _, registered, _ = run(
        deployed, "register", "--stack-name", STACK, "--tables", "People,Tasks", "--no-full-sync"
    )
    webhook_id = registered["webhook"]["webhook_id"]
    assert len(registered["webhook"]["tables"]) == 2

    _, listed, _ = run(deployed, "list", "--stack-name", STACK)
    _, maintained, _ = run(deployed, "maintain", "--stack-name", STACK)
    code, removed, _ = run(deployed, "unregister", webhook_id, "--stack-name", STACK)

    assert [hook["webhook_id"] for hook in listed["webhooks"]] == [webhook_id]
    assert {action["action"] for action in maintained["actions"]} == {"refreshed", "drain_queued"}
    assert code == 0 and removed == {"unregistered": webhook_id}
    assert deployed.emulator.webhooks.list_webhooks(deployed.base_id) == []


def test_without_a_stack_a_notification_url_is_required(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRROR_TABLE_NAME", "mirror-table")
    monkeypatch.setenv("AIRTABLE_BASE_ID", deployed.base_id)
    monkeypatch.setenv("AIRTABLE_API_URL", deployed.emulator.url)
    monkeypatch.setenv("AIRTABLE_API_KEY", deployed.emulator.token)
    monkeypatch.setenv("WEBHOOK_MAC_STORE", "table")

    missing_url = run(deployed, "register")
    code, result, _ = run(
        deployed, "register", "--notification-url", "https://local.test/hook", "--no-full-sync"
    )

    assert missing_url[0] == 2 and "--notification-url" in missing_url[2]
    assert code == 0 and result["webhook"]["notification_url"] == "https://local.test/hook"
    assert runtime.mac_secret_store().get(deployed.base_id, result["webhook"]["webhook_id"]) is not None


def test_an_unknown_table_or_stack_is_a_clear_error(deployed: Deployed) -> None:
    code, _, error = run(deployed, "register", "--stack-name", STACK, "--tables", "Nope")
    assert code == 1 and "Nope" in error

    def no_stack(region: str | None) -> Any:
        client = boto3.client("cloudformation", region_name="us-east-1")
        stubber = Stubber(client)
        stubber.add_client_error("describe_stacks", "ValidationError", "Stack with id x does not exist")
        stubber.activate()
        return client

    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["list", "--stack-name", "x"], cloudformation_factory=no_stack, out=out, err=err) == 2
    assert "does not exist" in err.getvalue()
