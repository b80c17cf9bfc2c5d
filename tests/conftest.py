"""Fixtures shared by the whole suite. Helpers live in tests/support/."""

import os
from collections.abc import Iterator

import pytest

# What template.yaml's Globals give every function; powertools reads them when the shared Logger,
# Metrics and Tracer are created, at import time.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "airtable-mirror")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AirtableMirror")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from tests.support.dynamodb import (
    TEST_REGION,
    DynaliteServer,
    DynamoTable,
    dynalite_table,
    moto_table,
)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Dummy credentials and region, and no profile or config file, so no call can reach AWS."""
    empty_config = tmp_path_factory.mktemp("aws") / "empty"
    empty_config.touch()
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", TEST_REGION)
    monkeypatch.setenv("AWS_REGION", TEST_REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty_config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty_config))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def dynalite() -> Iterator[DynaliteServer]:
    """One dynalite server per test session (per xdist worker), stopped at the end."""
    with DynaliteServer() as server:
        yield server


@pytest.fixture(params=["moto", pytest.param("dynalite", marks=pytest.mark.dynalite)])
def dynamodb_table(request: pytest.FixtureRequest, aws_credentials: None) -> Iterator[DynamoTable]:
    """A fresh mirror table built from template.yaml, on moto and on dynalite."""
    if request.param == "moto":
        with moto_table() as table:
            yield table
    else:
        server: DynaliteServer = request.getfixturevalue("dynalite")
        with dynalite_table(server) as table:
            yield table


@pytest.fixture
def dynalite_only_table(aws_credentials: None, dynalite: DynaliteServer) -> Iterator[DynamoTable]:
    """A fresh mirror table on dynalite alone, for what moto does not model (capacity, atomicity)."""
    with dynalite_table(dynalite) as table:
        yield table
