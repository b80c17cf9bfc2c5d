"""DynamoDB for tests: the mirror table as template.yaml defines it, on moto or on a dynalite server.

dynalite (a DynamoDB-protocol server on LevelDB, installed by `make node_modules/.installed`)
checks what moto does not: number normalisation and range, item size accounting, consumed
capacity. It has no TransactWriteItems and no UpdateTimeToLive; the repository needs neither.
"""

import collections
import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import yaml
from botocore.config import Config

# The Properties that become CreateTable arguments: the local stack builds its table from them too.
from dev_stack.services import CREATE_TABLE_PROPERTIES

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
DYNALITE_SCRIPT = PROJECT_ROOT / "node_modules" / ".bin" / "dynalite"
TABLE_RESOURCE = "MirrorTable"
TEST_REGION = "us-east-1"


@dataclass(frozen=True)
class CloudFormationTag:
    """A short-form intrinsic (`!Ref X`, `!Sub ...`, `!GetAtt A.B`) kept as data, not evaluated."""

    tag: str
    value: object


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that accepts CloudFormation's short tags instead of failing on them."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> CloudFormationTag:
    value: object
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)
    return CloudFormationTag(tag=f"!{tag_suffix}", value=value)


CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return document


def table_properties(template: Mapping[str, Any], logical_id: str = TABLE_RESOURCE) -> dict[str, Any]:
    resource = template.get("Resources", {}).get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::DynamoDB::Table":
        raise ValueError(f"template has no AWS::DynamoDB::Table resource named {logical_id}")
    properties = resource.get("Properties")
    if not isinstance(properties, dict):
        raise ValueError(f"{logical_id} has no Properties")
    return properties


def create_table_kwargs(table_name: str, template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """CreateTable arguments for `table_name` from the template's own MirrorTable definition."""
    properties = table_properties(template if template is not None else load_template())
    kwargs: dict[str, Any] = {"TableName": table_name}
    for name in CREATE_TABLE_PROPERTIES:
        if name in properties:
            if _contains_tag(properties[name]):
                raise ValueError(f"MirrorTable {name} uses an intrinsic function; tests cannot resolve it")
            kwargs[name] = properties[name]
    return kwargs


def _contains_tag(value: object) -> bool:
    if isinstance(value, CloudFormationTag):
        return True
    if isinstance(value, dict):
        return any(_contains_tag(element) for element in value.values())
    if isinstance(value, list):
        return any(_contains_tag(element) for element in value)
    return False


def create_mirror_table(client: "DynamoDBClient", table_name: str, timeout_seconds: float = 30.0) -> None:
    """Create the table and wait (polling briefly, not boto3's 20 s waiter) until it is ACTIVE."""
    client.create_table(**create_table_kwargs(table_name))
    deadline = time.monotonic() + timeout_seconds
    while client.describe_table(TableName=table_name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {table_name} not ACTIVE after {timeout_seconds} s")
        time.sleep(0.02)


def unique_table_name(prefix: str = "mirror-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def dynamodb_client(endpoint_url: str | None = None, max_pool_connections: int = 16) -> "DynamoDBClient":
    """A client with dummy credentials; without `endpoint_url` only moto should be answering."""
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        region_name=TEST_REGION,
    )
    config = Config(
        max_pool_connections=max_pool_connections,
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    return session.client("dynamodb", endpoint_url=endpoint_url, config=config)


class DynaliteUnavailableError(RuntimeError):
    """node or the dynalite package is missing, or the server did not come up."""


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class DynaliteServer:
    """One dynalite process on a free loopback port, its LevelDB files in a temporary directory.

    Use as a context manager, or call `start()` and `stop()`. `stop()` ends this one process (by its
    PID) and removes its directory.
    """

    def __init__(self, startup_timeout_seconds: float = 30.0) -> None:
        self._startup_timeout = startup_timeout_seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._data_dir: Path | None = None
        self._log_path: Path | None = None
        self.port: int | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("dynalite is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "DynaliteServer":
        node = shutil.which("node")
        if node is None:
            raise DynaliteUnavailableError("node is not on PATH (dynalite needs Node.js 20+)")
        if not DYNALITE_SCRIPT.exists():
            raise DynaliteUnavailableError(
                f"{DYNALITE_SCRIPT} is missing: run `make node_modules/.installed` (npm ci)"
            )
        self._data_dir = Path(tempfile.mkdtemp(prefix="dynalite-"))
        self._log_path = self._data_dir / "dynalite.log"
        self.port = free_loopback_port()
        command = [
            node,
            str(DYNALITE_SCRIPT),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--path",
            str(self._data_dir / "db"),
            "--createTableMs",
            "0",
            "--deleteTableMs",
            "0",
            "--updateTableMs",
            "0",
        ]
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
        self._wait_until_listening()
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None
        self.port = None

    def __enter__(self) -> "DynaliteServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wait_until_listening(self) -> None:
        assert self._process is not None and self.port is not None
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                log = self._log_path.read_text(errors="replace") if self._log_path else ""
                self.stop()
                raise DynaliteUnavailableError(f"dynalite exited early:\n{log}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise DynaliteUnavailableError(f"dynalite did not listen within {self._startup_timeout} s")


@dataclass(frozen=True)
class DynamoTable:
    """A ready mirror table: the client to use, its name, and which backend serves it."""

    client: "DynamoDBClient"
    name: str
    backend: str


@contextlib.contextmanager
def moto_table() -> Iterator[DynamoTable]:
    from moto import mock_aws

    with mock_aws():
        client = dynamodb_client()
        name = unique_table_name()
        create_mirror_table(client, name)
        yield DynamoTable(client=client, name=name, backend="moto")


@contextlib.contextmanager
def dynalite_table(server: DynaliteServer) -> Iterator[DynamoTable]:
    client = dynamodb_client(server.endpoint_url)
    name = unique_table_name()
    create_mirror_table(client, name)
    try:
        yield DynamoTable(client=client, name=name, backend="dynalite")
    finally:
        client.delete_table(TableName=name)


class CallCountingClient:
    """Wraps a DynamoDB client and counts the API calls made through it (for cost assertions)."""

    def __init__(self, client: "DynamoDBClient") -> None:
        self._client = client
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("_") or name in {"exceptions", "meta"}:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
            return attribute(*args, **kwargs)

        return counted

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()


@contextlib.contextmanager
def consumed_capacity(client: "DynamoDBClient", operation: str) -> Iterator[list[float]]:
    """Ask every `operation` call (e.g. "PutItem") for its consumed capacity and collect the units.

    Works on the client's event hooks, so the code under test needs no change.
    """
    units: list[float] = []

    def ask_for_capacity(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def record_capacity(parsed: dict[str, Any], **_: Any) -> None:
        capacity = parsed.get("ConsumedCapacity")
        if isinstance(capacity, dict) and "CapacityUnits" in capacity:
            units.append(float(capacity["CapacityUnits"]))

    events = client.meta.events
    events.register(f"provide-client-params.dynamodb.{operation}", ask_for_capacity)
    events.register(f"after-call.dynamodb.{operation}", record_capacity)
    try:
        yield units
    finally:
        events.unregister(f"provide-client-params.dynamodb.{operation}", ask_for_capacity)
        events.unregister(f"after-call.dynamodb.{operation}", record_capacity)
