"""Target selection: a deployed stack found through CloudFormation (moto) and its requests signed
with SigV4 for execute-api, or carrying a JWT; the local stack's file; explicit URLs."""

import json
import os
import re
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from airtable_mirror.operator_cli.target import DevStack, Target, TargetError, resolve_target
from tests.layers.common.airtable_mirror.operator_cli.conftest import Harness
from tests.layers.common.airtable_mirror.operator_cli.http_gateway import ReceivedRequest

STACK_NAME = "airtable-mirror-test"
REGION = "us-east-1"  # the aws_credentials fixture's
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<day>\d{8})/us-east-1/execute-api/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def deploy_stack(api_url: str, name: str = STACK_NAME) -> None:
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"HttpApiUrl": {"Value": api_url}, "MirrorTableName": {"Value": "mirror"}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )


def expected_signature(request: ReceivedRequest, url: str) -> str:
    """The signature of what the server received, computed independently of what the CLI sent."""
    signed = AUTHORIZATION.fullmatch(request.headers["authorization"])
    assert signed is not None
    names = signed["signed"].split(";")
    aws_request = AWSRequest(
        method=request.method, url=url + request.path, headers={name: request.headers[name] for name in names}
    )
    aws_request.context["timestamp"] = request.headers["x-amz-date"]
    # The credentials botocore finds in this process (moto's, while it mocks AWS)
    credentials = Credentials(
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_SESSION_TOKEN"]
    )
    signer = SigV4Auth(credentials, "execute-api", REGION)
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def test_a_stack_name_finds_the_api_and_signs_every_request_with_sigv4(harness: Harness) -> None:
    deploy_stack(harness.gateway.url)

    result = harness.cli("--stack-name", STACK_NAME, "runs", "--table", "People Table", "--limit", "5")

    # The API answered (People Table was never synced: the API's 404, through the signed request)
    assert "HTTP 404 TABLE_NOT_FOUND" in result.err
    (request,) = harness.gateway.requests
    assert request.path == "/sync/runs?limit=5&table=People+Table"
    signed = AUTHORIZATION.fullmatch(request.headers["authorization"])
    assert signed is not None, request.headers["authorization"]
    assert signed["signed"] == "host;x-amz-date;x-amz-security-token"
    assert re.fullmatch(r"\d{8}T\d{6}Z", request.headers["x-amz-date"])
    assert request.headers["x-amz-date"].startswith(signed["day"])
    assert signed["key"] == os.environ["AWS_ACCESS_KEY_ID"]
    assert request.headers["x-amz-security-token"] == os.environ["AWS_SESSION_TOKEN"]
    assert signed["signature"] == expected_signature(request, harness.gateway.url)


def test_a_signed_sync_reaches_the_api(harness: Harness) -> None:
    deploy_stack(harness.gateway.url)

    result = harness.cli("sync", "People", "--stack-name", STACK_NAME, "--region", REGION, "--json")

    assert result.code == 0, result.err
    assert result.json()["status"] == "succeeded"
    assert harness.gateway.requests[0].method == "POST"
    for request in harness.gateway.requests:
        assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
        assert AUTHORIZATION.fullmatch(request.headers["authorization"]) is not None
        assert expected_signature(request, harness.gateway.url) in request.headers["authorization"]


def test_a_bearer_token_replaces_the_signature_for_a_jwt_stack(harness: Harness) -> None:
    deploy_stack(harness.gateway.url)

    from_option = harness.cli("--stack-name", STACK_NAME, "--bearer-token", "eyJ.option", "tables")
    from_environment = harness.cli(
        "--stack-name", STACK_NAME, "tables", environ={"AIRTABLE_MIRROR_BEARER_TOKEN": "eyJ.environment"}
    )

    assert (from_option.code, from_environment.code) == (0, 0)
    first, second = harness.gateway.requests
    assert first.headers["authorization"] == "Bearer eyJ.option"
    assert second.headers["authorization"] == "Bearer eyJ.environment"
    assert "x-amz-date" not in first.headers


def test_a_stack_that_is_missing_or_not_ours_is_one_line_and_exit_2(harness: Harness) -> None:
    deploy_stack("unused", name="someone-elses")
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="no-api", TemplateBody=json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
    )

    missing = harness.cli("--stack-name", "nope", "tables")
    not_ours = harness.cli("--stack-name", "no-api", "tables")

    assert missing.code == 2
    assert missing.err.startswith("error: cannot describe stack 'nope': ")
    assert len(missing.err.splitlines()) == 1
    assert not_ours.code == 2
    assert not_ours.err == "error: stack 'no-api' has no HttpApiUrl output: is it airtable-mirror?\n"
    assert harness.gateway.requests == []


def test_without_aws_credentials_the_cli_says_so_instead_of_sending_unsigned(harness: Harness) -> None:
    deploy_stack(harness.gateway.url)

    class NoCredentials:
        def get_config_variable(self, name: str) -> str | None:
            return None

        def get_credentials(self) -> None:
            return None

    result = harness.cli(
        "--stack-name", STACK_NAME, "--region", REGION, "tables", botocore_session_factory=NoCredentials
    )

    assert result.code == 2
    assert result.err.startswith("error: no AWS credentials to sign requests with")
    assert harness.gateway.requests == []


def resolve(tmp_path: Path, **options: str | None) -> Target:
    arguments: dict[str, str | None] = {
        "api_url": None,
        "stack_name": None,
        "region": None,
        "bearer_token": None,
    }
    arguments.update(options)
    return resolve_target(
        **arguments,
        dev_stack_file=tmp_path / "dev-stack.json",
        environ={},
        cloudformation_factory=lambda region: pytest.fail("CloudFormation is not needed"),
        botocore_session_factory=lambda: pytest.fail("no signing without a stack"),
    )


def test_the_default_target_is_the_local_stacks_file_else_port_3000(tmp_path: Path) -> None:
    without_file = resolve(tmp_path)
    (tmp_path / "dev-stack.json").write_text(
        json.dumps({"api_url": "http://127.0.0.1:4000/", "function_url": "http://127.0.0.1:4001/"})
    )
    with_file = resolve(tmp_path)
    explicit = resolve(tmp_path, api_url="https://mirror.example.com/")

    assert without_file.api_url == "http://127.0.0.1:3000"
    assert with_file.api_url == "http://127.0.0.1:4000"
    assert with_file.dev_stack == DevStack("http://127.0.0.1:4000/", "http://127.0.0.1:4001/", {})
    assert explicit.api_url == "https://mirror.example.com"
    assert explicit.dev_stack is None
    assert explicit.local is False


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"api_url": "http://a", "stack_name": "b"}, "not both"),
        ({"api_url": "127.0.0.1:3000"}, "is not an http(s) URL"),
    ],
)
def test_contradictory_or_malformed_targets_are_refused(
    tmp_path: Path, options: dict[str, str], message: str
) -> None:
    with pytest.raises(TargetError, match=re.escape(message)):
        resolve(tmp_path, **options)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not JSON"),
        ("[]", "has no api_url"),
        ('{"api_url": "http://x", "environment": 3}', "environment"),
    ],
)
def test_a_dev_stack_file_that_make_dev_did_not_write_is_refused(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "dev-stack.json"
    path.write_text(content)
    with pytest.raises(TargetError, match=message):
        DevStack.load(path)
