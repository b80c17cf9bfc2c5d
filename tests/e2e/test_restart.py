"""Stopping the stack (Ctrl-C) stops every process it started; starting it again on the same data
folder finds the mirror intact, without syncing again."""

import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.support import RunningStack, all_records, running_stack, stop, synced_tables, wait_for

pytestmark = pytest.mark.xdist_group("e2e-restart")


def port_is_closed(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((parts.hostname or "127.0.0.1", parts.port or 80)) != 0


def snapshot(stack: RunningStack) -> dict[str, object]:
    tables = synced_tables(stack)
    assert tables is not None
    return {
        "last_syncs": {name: table["last_sync"]["run_id"] for name, table in tables.items()},
        "counts": {name: table["record_count"] for name, table in tables.items()},
        "tasks": [(record["id"], record["fields"]) for record in all_records(stack, "Tasks")],
    }


def test_data_survives_a_restart_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "local-data"
    with running_stack(data_dir) as first:
        wait_for(lambda: synced_tables(first), timeout=120, what="the first sync", stack=first)
        before = snapshot(first)
        urls = [first.api_url, first.function_url, first.emulator_url]
        assert stop(first.process) == 0, first.log_tail()
    assert not (data_dir / "dev-stack.json").exists()
    for url in urls:
        assert port_is_closed(url), f"{url} still answers after Ctrl-C"
    assert any((data_dir / "dynamodb").iterdir()), "the DynamoDB data lives on disk"

    with running_stack(data_dir) as second:
        after = snapshot(second)
    # The same last sync runs: the restart found the tables synced and did not sync them again.
    assert after == before
