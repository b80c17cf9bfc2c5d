"""The composition root: which clients the functions get."""

from collections.abc import Iterator

import pytest

from airtable_mirror import runtime
from airtable_mirror.repository.direct_writes import DirectWriteClient

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


@pytest.fixture
def configured(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MIRROR_TABLE_NAME", "airtable-mirror-MirrorTable")
    monkeypatch.setenv("AIRTABLE_BASE_ID", "appAAAAAAAAAAAAAA")
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", "http://127.0.0.1:8000")
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    runtime.reset()
    yield
    runtime.reset()


def test_the_sync_engine_writes_records_directly_to_the_configured_endpoint(configured: None) -> None:
    # Given the functions' configuration, When the record write client is built
    writer = runtime.record_write_client()

    # Then it is the DirectWriteClient, on the same endpoint and with the same attempts as the
    # boto3 client the rest of the function uses
    assert isinstance(writer, DirectWriteClient)
    assert writer.endpoint_url == runtime.dynamodb_client().meta.endpoint_url == "http://127.0.0.1:8000"
    assert writer.max_attempts == 6  # botocore standard mode, max_attempts 5 retries


def test_behind_a_proxy_record_writes_go_through_boto3(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an environment that sends HTTPS through a proxy
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")

    # When the record write client is built, Then it is a boto3 client (which honours the proxy)
    writer = runtime.record_write_client()
    assert not isinstance(writer, DirectWriteClient)
    assert writer.meta.service_model.service_name == "dynamodb"


def test_without_credentials_record_writes_go_through_boto3(
    configured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no credentials anywhere, When the record write client is built
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    writer = runtime.record_write_client()

    # Then it is the boto3 client, whose first call will say NoCredentialsError as usual
    assert not isinstance(writer, DirectWriteClient)
