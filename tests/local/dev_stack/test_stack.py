"""dev_stack.stack: the functions' one environment from template.yaml with the local replacements,
a start that fails half-way leaving nothing behind, and the whole stack started and stopped as
`make dev` does (`python -m dev_stack` on free ports, a data folder of its own)."""

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airtable_mirror.settings import Settings
from dev_stack.queues import LocalQueue
from dev_stack.stack import (
    READY_FILE,
    AirtableTarget,
    DevStack,
    DevStackError,
    DevStackOptions,
    EnvironmentConflictError,
    airtable_target,
    default_sync_tables,
    local_environment,
    merge_environments,
    parameter_overrides,
    resource_references,
    uses_real_airtable,
    what_to_try,
)
from dev_stack.template import load_stack, resolve_environment
from tests.e2e.support import running_stack as start_stack

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = PROJECT_ROOT / "template.yaml"
EMULATED = AirtableTarget(
    "http://127.0.0.1:8111",
    "patEmulatorLocalToken.0000",
    "appDEMO0000000001",
    emulated=True,
    notification_url=None,
)


def process_exists(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_until_gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (alive := [pid for pid in pids if process_exists(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def port_is_closed(url: str) -> bool:
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, int(port))) != 0


# --- one environment for every function -------------------------------------------------------------


def test_functions_share_one_environment_when_they_agree() -> None:
    merged = merge_environments(
        {"Api": {"TABLE": "t", "QUEUE": "q"}, "Worker": {"TABLE": "t", "LEASE": "90"}}
    )
    assert merged == {"TABLE": "t", "QUEUE": "q", "LEASE": "90"}


def test_two_functions_needing_different_values_for_one_variable_fail_loudly() -> None:
    with pytest.raises(
        EnvironmentConflictError, match=r"Api and Worker set TIMEOUT to different values \('10' and '90'\)"
    ):
        merge_environments({"Api": {"TIMEOUT": "10"}, "Worker": {"TIMEOUT": "90"}})


def test_sync_tables_default_to_the_aliases_tables() -> None:
    assert default_sync_tables("people=People, tasks=Tasks, staff=People") == "People,Tasks"
    assert default_sync_tables("") == ""


def test_sync_tables_and_aliases_from_the_callers_environment_become_parameters() -> None:
    stack = load_stack(TEMPLATE)
    assert parameter_overrides(stack, EMULATED, {}) == {
        "AirtableBaseId": "appDEMO0000000001",
        "AirtableApiUrl": "http://127.0.0.1:8111",
        "SyncTables": "People,Tasks",
    }
    overrides = parameter_overrides(
        stack, EMULATED, {"TABLE_ALIASES": "folks=People", "SYNC_TABLES": "Tasks"}
    )
    assert overrides["TableAliases"] == "folks=People"
    assert overrides["SyncTables"] == "Tasks"


def template_environment() -> dict[str, str]:
    template = load_stack(TEMPLATE)
    stack = load_stack(TEMPLATE, parameter_overrides(template, EMULATED, {}))
    queues = {
        logical_id: LocalQueue(
            logical_id,
            f"local-{logical_id}",
            f"http://moto/123456789012/local-{logical_id}",
            f"arn:{logical_id}",
            False,
        )
        for logical_id in stack.queues
    }
    references = resource_references(stack, "local-table", queues)
    per_function = {name: resolve_environment(stack, name, references) for name in stack.functions}
    return local_environment(
        merge_environments(per_function),
        target=EMULATED,
        keys={"CURSOR_SIGNING_KEY": "k" * 64, "WEBHOOK_SECRET": "w" * 64},
        dynamodb_url="http://127.0.0.1:4567",
        aws_url="http://127.0.0.1:5000",
    )


def test_every_template_variable_resolves_with_local_values_for_aws_only_ones() -> None:
    environment = template_environment()

    assert environment["MIRROR_TABLE_NAME"] == "local-table"
    assert environment["SYNC_QUEUE_URL"] == "http://moto/123456789012/local-SyncQueue"
    assert environment["WEBHOOK_QUEUE_URL"] == "http://moto/123456789012/local-WebhookQueue"
    assert environment["WEBHOOK_MAC_PREFIX"] == "airtable-mirror-local/webhooks/"
    assert environment["AIRTABLE_BASE_ID"] == "appDEMO0000000001"
    assert environment["AIRTABLE_API_URL"] == "http://127.0.0.1:8111"
    assert environment["SYNC_TABLES"] == "People,Tasks"
    # Secrets Manager's part, locally:
    for aws_only in ("AIRTABLE_TOKEN_SECRET", "CURSOR_SIGNING_SECRET", "WEBHOOK_PUSH_SECRET"):
        assert aws_only not in environment
    assert environment["AIRTABLE_API_KEY"] == "patEmulatorLocalToken.0000"
    assert environment["WEBHOOK_MAC_STORE"] == "table"
    assert environment["CURSOR_SIGNING_KEY"] == "k" * 64
    assert environment["WEBHOOK_SECRET"] == "w" * 64
    # Nothing reaches AWS, X-Ray or CloudWatch:
    assert environment["DYNAMODB_ENDPOINT_URL"] == "http://127.0.0.1:4567"
    assert environment["AWS_ENDPOINT_URL_SQS"] == environment["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert environment["POWERTOOLS_TRACE_DISABLED"] == "true"
    # What the functions' settings make of it is a valid configuration.
    settings = Settings.from_environment(environment)
    assert settings.webhook_mac_store == "table"
    assert settings.sync_tables == ["People", "Tasks"]
    assert settings.webhook_lease_seconds == 90


def test_real_airtable_is_used_only_with_both_a_token_and_a_base() -> None:
    assert not uses_real_airtable({})
    assert not uses_real_airtable({"AIRTABLE_API_KEY": "patReal"})
    environ = {"AIRTABLE_API_KEY": "patReal", "AIRTABLE_BASE_ID": "appREAL0000000001"}
    assert uses_real_airtable(environ)
    target = airtable_target(environ, None)
    assert (target.api_url, target.base_id, target.emulated) == (
        "https://api.airtable.com",
        "appREAL0000000001",
        False,
    )
    assert target.notification_url is None, "no public URL: no webhook registration"
    with_url = airtable_target({**environ, "WEBHOOK_NOTIFICATION_URL": "https://tunnel.example/"}, None)
    assert with_url.notification_url == "https://tunnel.example/"


def test_what_to_try_names_every_route_a_newcomer_needs() -> None:
    text = what_to_try("http://127.0.0.1:3000", "http://127.0.0.1:3001/", EMULATED, "recTASK0000000001")
    for line in (
        "http://127.0.0.1:3000/docs",
        "curl -s http://127.0.0.1:3000/tables",
        "curl -s 'http://127.0.0.1:3000/people?limit=2'",
        "curl -s 'http://127.0.0.1:3000/records?table_name=tasks&limit=5'",
        "curl -s -X POST http://127.0.0.1:3000/sync/People",
        "curl -s http://127.0.0.1:3000/webhooks",
        "curl -s -X POST http://127.0.0.1:3000/_local/schedules/FullSync",
        "http://127.0.0.1:8111/v0/appDEMO0000000001/Tasks/recTASK0000000001",
        "curl -s http://127.0.0.1:3000/records/recTASK0000000001",
    ):
        assert line in text
    real = AirtableTarget(
        "https://api.airtable.com", "patReal", "appREAL0000000001", emulated=False, notification_url=None
    )
    assert "patReal" not in what_to_try("http://127.0.0.1:3000", None, real, None)


# --- a start that fails half-way ------------------------------------------------------------------------


def test_a_start_that_fails_half_way_stops_everything_it_started(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy_port = taken.getsockname()[1]
        environment_before = dict(os.environ)
        stack = DevStack(
            DevStackOptions(
                port=busy_port, function_url_port=0, emulator_port=0, data_dir=tmp_path, environ={}
            ),
            capture_output=False,
        )
        with pytest.raises(DevStackError, match=r"cannot listen on 127\.0\.0\.1.*--port 0"):
            stack.start()

    assert len(stack.child_pids) == 2, "dynalite and the emulator had started"
    assert wait_until_gone(stack.child_pids) == []
    assert not (tmp_path / READY_FILE).exists()
    assert dict(os.environ) == environment_before


# --- the whole stack ------------------------------------------------------------------------------------


@pytest.fixture
def running_stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, Any], Path]]:
    with start_stack(tmp_path / "local-data") as running:
        ready = json.loads((running.data_dir / READY_FILE).read_text())
        yield running.process, ready, running.log_path


def test_the_whole_stack_serves_the_api_after_the_first_sync_and_stops_on_ctrl_c(
    running_stack: tuple[subprocess.Popen[bytes], dict[str, Any], Path],
) -> None:
    process, ready, log_path = running_stack
    api = ready["api_url"]

    tables = requests.get(f"{api}/tables", timeout=30)
    assert tables.status_code == 200, tables.text
    synced = {table["name"]: table for table in tables.json()["tables"]}
    assert {name: synced[name]["last_sync"]["status"] for name in ("People", "Tasks")} == {
        "People": "succeeded",
        "Tasks": "succeeded",
    }
    assert synced["Tasks"]["record_count"] == 300
    assert [table["name"] for table in ready["tables"]] == ["People", "Tasks"]
    assert ready["base_id"] == "appDEMO0000000001"
    assert ready["environment"]["AIRTABLE_API_KEY"] == ready["emulator_token"]

    missing = requests.get(f"{api}/nowhere", timeout=30)
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    wrong_method = requests.delete(f"{api}/tables", timeout=30)
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"message": "Method Not Allowed"})
    assert "GET" in wrong_method.headers["Allow"]

    webhooks = requests.get(f"{api}/webhooks", timeout=30).json()["webhooks"]
    assert [hook["notification_url"] for hook in webhooks] == [ready["function_url"]]

    schedules = requests.get(f"{api}/_local/schedules", timeout=30).json()["schedules"]
    assert {(entry["name"], entry["function"]) for entry in schedules} == {
        ("FullSync", "SyncScheduleFunction"),
        ("Daily", "WebhookMaintenanceFunction"),
    }
    assert all(entry["next_run"] for entry in schedules)
    unknown = requests.post(f"{api}/_local/schedules/Weekly", timeout=30)
    assert unknown.status_code == 404 and "FullSync" in unknown.json()["message"]
    fired = requests.post(f"{api}/_local/schedules/FullSync", timeout=60).json()
    assert fired["ok"] is True, fired
    assert fired["result"]["failed"] == {}

    pids = [ready["pid"], *ready["child_pids"]]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert wait_until_gone(pids) == []
    for url in (api, ready["function_url"], ready["emulator_url"]):
        assert port_is_closed(url), url
    assert not (log_path.parent / "local-data" / READY_FILE).exists()
    assert (log_path.parent / "local-data" / "dynamodb").is_dir()

    # Every part's lines, prefixed; the functions' powertools lines still JSON after the prefix.
    lines = log_path.read_text().splitlines()
    parts = {line.split("|", 1)[0].strip() for line in lines if "|" in line}
    assert {"dynalite", "emulator", "gateway", "queues", "SyncWorkerFunction"} <= parts
    worker_lines = [line.split("| ", 1)[1] for line in lines if line.startswith("SyncWorkerFunction ")]
    assert any(
        json.loads(text).get("message") == "sync run succeeded"
        for text in worker_lines
        if text.startswith("{")
    )
