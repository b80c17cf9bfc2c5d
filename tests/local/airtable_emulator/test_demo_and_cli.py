"""The demo base and ``python -m airtable_emulator``."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

from airtable_emulator.__main__ import parse_args
from airtable_emulator.demo import DEMO_BASE_ID, build_demo_base
from airtable_emulator.emulator import DEFAULT_TOKEN
from airtable_emulator.ids import looks_like
from airtable_emulator.model import AirtableState

ROOT = Path(__file__).resolve().parents[3]


def _snapshot(state: AirtableState) -> list[tuple[str, str, dict[str, object]]]:
    base = state.base(DEMO_BASE_ID)
    return [
        (table.name, record.id, record.cells)
        for table in base.tables.values()
        for record in table.records.values()
    ]


def test_demo_base_shape() -> None:
    state = AirtableState(seed=1)
    base = build_demo_base(state, seed=1)
    assert looks_like("base", base.id)
    people, tasks = base.table("People"), base.table("Tasks")
    assert (len(people.records), len(tasks.records)) == (100, 300)
    types = {field.name: field.type for field in tasks.fields.values()}
    assert types["Status"] == "singleSelect" and types["Tags"] == "multipleSelects"
    assert types["Done"] == "checkbox" and types["Due"] == "date" and types["Notes"] == "multilineText"
    assert types["Assignee"] == "multipleRecordLinks"
    people_types = {field.name: field.type for field in people.fields.values()}
    assert people_types["Avatar"] == "multipleAttachments" and people_types["Email"] == "email"
    assert people_types["Skills"] == "multipleSelects" and people_types["Tasks"] == "multipleRecordLinks"
    assert {view.name for view in tasks.views.values()} == {"Grid view", "Open tasks"}
    assignee = tasks.field("Assignee")
    inverse = people.field("Tasks")
    for task in tasks.records.values():
        for person_id in task.cells.get(assignee.id, []):
            assert task.id in people.records[person_id].cells[inverse.id]


def test_demo_is_deterministic_per_seed() -> None:
    first, second, other = AirtableState(seed=5), AirtableState(seed=5), AirtableState(seed=6)
    for state in (first, second):
        build_demo_base(state, seed=5)
    build_demo_base(other, seed=6)
    assert _snapshot(first) == _snapshot(second)
    assert _snapshot(first) != _snapshot(other)


def test_cli_arguments() -> None:
    defaults = parse_args([])
    assert (defaults.port, defaults.token, defaults.seed, defaults.rate_limit) == (
        8111,
        DEFAULT_TOKEN,
        0,
        None,
    )
    custom = parse_args(["--port", "0", "--token", "patX", "--seed", "3", "--rate-limit", "20"])
    assert (custom.port, custom.token, custom.seed, custom.rate_limit) == (0, "patX", 3, 20.0)


def test_cli_serves_the_demo_base_until_interrupted() -> None:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(["local", "layers/common"])}
    process = subprocess.Popen(
        [sys.executable, "-m", "airtable_emulator", "--port", "0", "--token", "patCli", "--rate-limit", "0"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("rate limit"):
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            lines.append(line)
        output = "".join(lines)
        match = re.search(r"listening on (http://\S+)", output)
        assert match is not None
        assert "token:   patCli" in output and DEMO_BASE_ID in output
        assert len(re.findall(r"table:   tbl\w{14}", output)) == 2
        response = requests.get(
            f"{match.group(1)}/v0/{DEMO_BASE_ID}/Tasks",
            headers={"Authorization": "Bearer patCli"},
            params={"pageSize": "3"},
            timeout=10,
        )
        assert response.status_code == 200
        assert len(response.json()["records"]) == 3
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
