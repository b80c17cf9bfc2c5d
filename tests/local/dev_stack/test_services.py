"""dev_stack.services: dynalite with its data on disk, the mirror table from template.yaml, the
emulator as a child process, the local keys, and child processes that never outlive the stack."""

import io
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests

from dev_stack.logs import LogHub
from dev_stack.services import (
    ChildProcess,
    Dynalite,
    EmulatorProcess,
    ServiceError,
    create_table_arguments,
    ensure_table,
    local_secrets,
)
from dev_stack.template import load_stack

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TABLE = "airtable-mirror-local-MirrorTable"


def process_exists(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_until_gone(pid: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while process_exists(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def hub(output: io.StringIO) -> LogHub:
    return LogHub(output, color=False)


def dynamodb(endpoint_url: str) -> "DynamoDBClient":
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture
def dynalite(tmp_path: Path, hub: LogHub) -> Iterator[Dynalite]:
    server = Dynalite(tmp_path / "dynamodb", hub=hub)
    server.start()
    yield server
    server.stop()


def table_arguments() -> dict[str, Any]:
    stack = load_stack(PROJECT_ROOT / "template.yaml")
    return create_table_arguments(TABLE, stack.table_properties)


def test_the_table_is_built_from_the_templates_properties() -> None:
    arguments = table_arguments()
    assert arguments["TableName"] == TABLE
    assert arguments["BillingMode"] == "PAY_PER_REQUEST"
    assert [key["AttributeName"] for key in arguments["KeySchema"]] == ["pk", "sk"]
    assert {index["IndexName"] for index in arguments["GlobalSecondaryIndexes"]} == {
        "by_created",
        "by_changed",
    }


def test_a_table_property_written_with_an_intrinsic_is_refused() -> None:
    with pytest.raises(ServiceError, match="BillingMode uses an intrinsic"):
        create_table_arguments(
            TABLE, {"BillingMode": {"Fn::If": ["Cheap", "PAY_PER_REQUEST", "PROVISIONED"]}}
        )


def test_the_data_survives_a_restart_of_dynalite(tmp_path: Path, hub: LogHub, output: io.StringIO) -> None:
    data_dir = tmp_path / "dynamodb"
    first = Dynalite(data_dir, hub=hub)
    first.start()
    try:
        client = dynamodb(first.endpoint_url)
        assert ensure_table(client, table_arguments()) is True
        client.put_item(TableName=TABLE, Item={"pk": {"S": "B#app#R#rec1"}, "sk": {"S": "RECORD"}})
    finally:
        first.stop()

    second = Dynalite(data_dir, hub=hub)
    second.start()
    try:
        client = dynamodb(second.endpoint_url)
        assert ensure_table(client, table_arguments()) is False, "found on disk, not created again"
        item = client.get_item(TableName=TABLE, Key={"pk": {"S": "B#app#R#rec1"}, "sk": {"S": "RECORD"}})
        assert "Item" in item
    finally:
        second.stop()
    assert re.search(r"^dynalite +\| Dynalite listening at", output.getvalue(), re.MULTILINE)


def test_a_table_on_disk_with_other_keys_is_reported(dynalite: Dynalite) -> None:
    client = dynamodb(dynalite.endpoint_url)
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    with pytest.raises(ServiceError, match="made by an older template"):
        ensure_table(client, table_arguments())


def test_a_second_dynalite_on_the_same_folder_fails_clearly(dynalite: Dynalite, hub: LogHub) -> None:
    second = Dynalite(dynalite.data_dir, hub=hub)
    with pytest.raises(ServiceError, match="another dev stack"):
        second.start()
    assert second.pid is None or not process_exists(second.pid)


def test_the_emulator_runs_the_demo_base_on_a_free_port(hub: LogHub, output: io.StringIO) -> None:
    emulator = EmulatorProcess(hub=hub, token="patTestToken.0001", rate_limit=0)
    emulator.start()
    try:
        assert emulator.base_id == "appDEMO0000000001"
        assert emulator.url is not None
        answer = requests.get(
            f"{emulator.url}/v0/{emulator.base_id}/People",
            params={"maxRecords": "1"},
            headers={"Authorization": "Bearer patTestToken.0001"},
            timeout=10,
        )
        assert answer.status_code == 200
        pid = emulator.pid
    finally:
        emulator.stop()
    assert pid is not None and wait_until_gone(pid)
    assert re.search(r"^emulator +\| rate limit: off", output.getvalue(), re.MULTILINE)


def test_a_child_that_exits_early_is_reported_with_its_output(hub: LogHub) -> None:
    child = ChildProcess(
        "broken",
        [sys.executable, "-c", "print('cannot open the database', flush=True); raise SystemExit(3)"],
        hub=hub,
    )
    child.start()
    with pytest.raises(ServiceError, match=r"exited with code 3:\n    cannot open the database"):
        child.wait_for_line(re.compile("listening"))
    child.stop()


def test_a_child_that_ignores_sigterm_is_killed(hub: LogHub) -> None:
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    child = ChildProcess("stubborn", [sys.executable, "-c", script], hub=hub)
    child.start()
    child.wait_for_line(re.compile("up"))
    pid = child.pid
    child.stop(timeout=0.5)
    assert pid is not None and not process_exists(pid)


def test_children_end_when_the_stack_is_killed_outright(tmp_path: Path) -> None:
    # A stack process that starts a child and is then SIGKILLed: it cannot stop its child itself.
    script = tmp_path / "stack.py"
    script.write_text(
        textwrap.dedent(
            """
            import io, sys, time
            from dev_stack.logs import LogHub
            from dev_stack.services import ChildProcess
            sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
            child = ChildProcess("sleeper", sleeper, hub=LogHub(io.StringIO()))
            child.start()
            print(child.pid, flush=True)
            time.sleep(120)
            """
        )
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(PROJECT_ROOT / p) for p in ("local", "layers/common")),
    }
    stack = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=environment)
    try:
        assert stack.stdout is not None
        child_pid = int(stack.stdout.readline())
        assert process_exists(child_pid)
    finally:
        stack.send_signal(signal.SIGKILL)
        stack.wait()
    assert wait_until_gone(child_pid), "the child outlived the stack"


def test_local_keys_are_made_once_per_data_folder_and_kept_private(tmp_path: Path) -> None:
    first = local_secrets(tmp_path)
    assert set(first) == {"CURSOR_SIGNING_KEY", "WEBHOOK_SECRET"}
    assert all(len(value) >= 32 for value in first.values())
    assert local_secrets(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / "local-secrets.json").stat().st_mode)
    assert mode == 0o600
    assert local_secrets(tmp_path / "elsewhere") != first


def test_a_damaged_keys_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "local-secrets.json").write_text("{not json")
    with pytest.raises(ServiceError, match="not JSON"):
        local_secrets(tmp_path)
