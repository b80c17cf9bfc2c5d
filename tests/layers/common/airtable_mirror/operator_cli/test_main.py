"""`airtable-mirror` commands through a real HTTP server and the real handlers (conftest.py)."""

import json
import math
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from airtable_mirror import runtime
from airtable_mirror.sync.engine import PAGE_SIZE, PAGES_FETCHED_AHEAD
from tests.layers.common.airtable_mirror.operator_cli.conftest import Harness

RUN_ID = re.compile(r"run_[0-9a-f]{32}")


def test_sync_follows_the_run_to_success_with_progress_lines(harness: Harness) -> None:
    tasks = len(harness.stack.base.table("Tasks").records)

    result = harness.local("sync", "tasks")

    assert result.code == 0, result.err
    # One line per change on a non-terminal: queued, then what each slice copied (every slice hands
    # over as soon as it may: after the pages it asked the fetcher for)
    step = PAGES_FETCHED_AHEAD * PAGE_SIZE
    progress = result.err.splitlines()
    assert [line.split(": ", 1)[1] for line in progress] == [
        "queued, 0 records fetched",
        *(f"running, {fetched} records fetched" for fetched in range(step, tasks, step)),
        f"succeeded, {tasks} records fetched",
    ]
    assert harness.slices_run == math.ceil(tasks / step) > 1
    summary = result.out.splitlines()
    assert re.fullmatch(rf"{RUN_ID.pattern} Tasks \(tbl\w+\): succeeded in .+", summary[0])
    assert f"fetched {tasks}  written {tasks}  unchanged 0" in result.out
    assert "traceback" not in (result.out + result.err).lower()


def test_a_second_sync_draws_a_bar_against_the_last_record_count(harness: Harness) -> None:
    assert harness.local("sync", "People").code == 0
    people = len(harness.stack.base.table("People").records)

    result = harness.local("sync", "People", interactive=True)

    assert result.code == 0, result.err
    frames = result.err.rstrip("\n").split("\r")[1:]
    assert frames[0].startswith("People [------------------------------] 0/~100   0%  queued")
    assert frames[-1].startswith(f"People [{'#' * 30}] {people}/~{people} 100%  succeeded")
    assert result.err.endswith("\n")
    assert "unchanged 100" in result.out


def test_a_sync_already_going_is_followed_rather_than_refused(harness: Harness) -> None:
    started = harness.local("sync", "People", "--no-wait", "--json")
    run_id = started.json()["run_id"]
    assert harness.slices_run == 0

    result = harness.local("sync", "people", "--json")

    assert result.code == 0
    assert f"already going: following {run_id}" in result.err
    followed = result.json()
    assert (followed["run_id"], followed["status"]) == (run_id, "succeeded")


def test_a_run_left_in_the_queue_gets_a_hint_once(harness: Harness) -> None:
    polls: list[float] = []
    clock_now = [time.time()]

    def clock() -> float:
        return clock_now[0]

    def nobody_takes_the_run(seconds: float) -> None:
        polls.append(seconds)
        clock_now[0] += 60
        if len(polls) == 4:  # then the worker comes back
            harness.run_worker_slice()

    result = harness.local("sync", "People", sleep=nobody_takes_the_run, clock=clock)

    assert result.code == 0
    hints = [line for line in result.err.splitlines() if "still queued" in line]
    assert len(hints) == 1
    assert hints[0].endswith(
        "still queued after 2 min: is the sync worker running? (another run may also hold the base)"
    )


def test_a_failed_run_exits_1_with_its_error(harness: Harness) -> None:
    def exhaust_the_quota() -> None:
        harness.stack.emulator.settings.billing_limit_exceeded = True

    harness.before_each_slice = exhaust_the_quota

    result = harness.local("sync", "People")

    assert result.code == 1
    assert ": failed" in result.out.splitlines()[0]
    assert "error: " in result.out
    assert "BILLING" in result.out.upper()


def test_an_unknown_table_is_the_apis_404_message_and_exit_2(harness: Harness) -> None:
    result = harness.local("sync", "Nope")

    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("error: HTTP 404 TABLE_NOT_FOUND: ")
    assert "Nope" in result.err
    assert len(result.err.splitlines()) == 1


def test_a_table_name_with_spaces_and_reserved_characters_stays_one_path_segment(harness: Harness) -> None:
    name = "Open items & more: 50% [draft]"
    harness.stack.emulator.state.add_table(
        harness.stack.base.id, {"name": name, "fields": [{"name": "Name", "type": "singleLineText"}]}
    )

    result = harness.local("sync", name, "--no-wait", "--json")

    assert result.code == 0, result.err
    assert result.json()["table_name"] == name


def test_nothing_listening_is_one_clear_line_and_exit_2(harness: Harness) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{closed_port}"

    for argv in (
        ["--api-url", url, "tables"],
        ["--api-url", url, "sync", "Tasks"],
        ["--api-url", url, "health"],
    ):
        result = harness.cli(*argv)

        assert result.code == 2
        assert result.err == f"error: nothing answers at {url} — is `make dev` running?\n"


def test_runs_are_listed_newest_first_and_shown_one_by_one(harness: Harness) -> None:
    first = harness.local("sync", "People", "--json").json()
    second = harness.local("sync", "Tasks", "--json").json()

    listing = harness.local("runs")
    as_json = harness.local("runs", "--json").json()
    paged = harness.local("runs", "--limit", "1")
    of_people = harness.local("runs", "--table", "people", "--json").json()
    detail = harness.local("runs", first["run_id"])

    assert listing.code == 0
    lines = listing.out.splitlines()
    assert lines[0].split() == [
        "RUN",
        "TABLE",
        "STATUS",
        "CREATED",
        "TOOK",
        "FETCHED",
        "WRITTEN",
        "DELETED",
        "FAILED",
    ]
    assert [line.split()[0] for line in lines[1:]] == [second["run_id"], first["run_id"]]
    assert [run["run_id"] for run in as_json["runs"]] == [second["run_id"], first["run_id"]]
    assert as_json["next_cursor"] is None
    assert len(paged.out.splitlines()) == 2
    assert "older runs: airtable-mirror runs --limit 1 --cursor " in paged.err
    assert [run["run_id"] for run in of_people["runs"]] == [first["run_id"]]
    assert detail.out.startswith(f"{first['run_id']} People ({first['table_id']}): succeeded in ")


def test_bad_listing_parameters_come_back_as_the_apis_message(harness: Harness) -> None:
    result = harness.local("runs", "--limit", "500")
    assert result.code == 2
    assert result.err.startswith("error: HTTP 400 INVALID_REQUEST: limit:")

    unknown = harness.local("runs", "run_" + "0" * 32)
    assert unknown.code == 2
    assert "HTTP 404 RUN_NOT_FOUND" in unknown.err


def test_tables_and_webhooks_are_listed_and_their_json_parses(harness: Harness) -> None:
    harness.local("sync", "People")

    tables = harness.local("tables")
    tables_json = harness.local("tables", "--json").json()
    hooks = harness.local("webhooks", "list")
    hooks_json = harness.local("webhooks", "list", "--json").json()

    assert tables.code == 0
    row = tables.out.splitlines()[1].split()
    assert row[:3] == ["People", harness.stack.base.table("People").id, "100"]
    assert row[3] == "succeeded"
    assert [table["name"] for table in tables_json["tables"]] == ["People"]
    assert hooks.out == "no webhooks\n"
    assert hooks_json == {"base_id": harness.stack.base.id, "webhooks": [], "pending_full_syncs": []}


def test_health_is_0_when_every_table_synced_recently(harness: Harness) -> None:
    harness.local("sync", "People")

    result = harness.local("health")
    as_json = harness.local("health", "--json").json()

    assert result.code == 0, result.out
    assert result.out.rstrip().endswith("Healthy.")
    assert "Note: no webhook is registered" in result.out
    assert as_json["healthy"] is True
    assert as_json["problems"] == []
    assert [table["name"] for table in as_json["tables"]["tables"]] == ["People"]


def test_health_is_2_with_the_reasons_when_syncs_are_old_or_stuck(harness: Harness) -> None:
    harness.local("sync", "People")
    queued = harness.local("sync", "Tasks", "--no-wait", "--json").json()
    a_day_and_a_half_later = time.time() + 36 * 3600

    result = harness.local("health", clock=lambda: a_day_and_a_half_later)
    as_json = harness.local("health", "--json", clock=lambda: a_day_and_a_half_later).json()

    assert result.code == 2
    assert "Needs attention:" in result.out
    assert as_json["healthy"] is False
    problems = as_json["problems"]
    assert any(
        problem.startswith("People: last successful sync 36 h ago, more than 24 h") for problem in problems
    )
    assert (
        f"Tasks: run {queued['run_id']} queued for 36 h: is the sync worker consuming the queue?" in problems
    )
    assert "Tasks: its first sync is under way" in as_json["notes"]


def test_json_output_of_every_read_command_parses(harness: Harness) -> None:
    run = harness.local("sync", "People", "--json").json()
    for argv in (
        ["tables", "--json"],
        ["runs", "--json"],
        ["runs", run["run_id"], "--json"],
        ["webhooks", "list", "--json"],
        ["health", "--json"],
    ):
        result = harness.local(*argv)
        assert result.code == 0, (argv, result.err)
        assert isinstance(json.loads(result.out), dict)


def test_interrupting_a_sync_leaves_the_run_going(harness: Harness) -> None:
    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    result = harness.local("sync", "People", sleep=interrupt)

    assert result.code == 130
    run_id = RUN_ID.search(result.err)
    assert run_id is not None
    assert f"stopped following {run_id.group()}; the run goes on" in result.err
    run = runtime.sync_run_repository().get_run(harness.stack.base.id, run_id.group())
    assert run is not None and run.status == "queued"


def test_target_options_work_after_the_command_too(harness: Harness) -> None:
    result = harness.cli("tables", "--api-url", harness.gateway.url, "--json")
    assert result.code == 0
    assert result.json() == {"tables": []}


def test_a_broken_dev_stack_file_is_an_error_not_a_silent_default(
    harness: Harness, tmp_path_factory: pytest.TempPathFactory
) -> None:
    broken = tmp_path_factory.mktemp("broken") / "dev-stack.json"
    broken.write_text("{")
    result = harness.cli("--dev-stack", str(broken), "tables")
    assert result.code == 2
    assert result.err.startswith(f"error: {broken} is not JSON")


def test_webhooks_register_and_refresh_need_a_stack_configuration(harness: Harness) -> None:
    result = harness.cli("--api-url", harness.gateway.url, "webhooks", "register")
    assert result.code == 2
    assert "needs --stack-name, or the local stack" in result.err


def test_webhooks_register_uses_the_local_stacks_configuration(
    harness: Harness, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(("AIRTABLE_", "MIRROR_", "SYNC_", "TABLE_", "AWS_"))
    }
    environment["WEBHOOK_MAC_STORE"] = "table"
    # What `make dev` writes for a real Airtable token: this process's own token is used instead
    environment["AIRTABLE_API_KEY"] = "<from your environment>"
    function_url = "http://127.0.0.1:9/"  # nobody listens: the emulator's pings just fail
    dev_stack = tmp_path_factory.mktemp("registered") / "dev-stack.json"
    dev_stack.write_text(
        json.dumps({"api_url": harness.gateway.url, "function_url": function_url, "environment": environment})
    )
    # What the local stack's file says, not this process's environment, configures the registration
    monkeypatch.setenv("WEBHOOK_MAC_STORE", "secretsmanager")
    runtime.reset()

    registered = harness.cli("--dev-stack", str(dev_stack), "webhooks", "register", "--no-full-sync")
    listed = harness.cli("--dev-stack", str(dev_stack), "webhooks", "list", "--json").json()
    refreshed = harness.cli("--dev-stack", str(dev_stack), "webhooks", "refresh")

    assert registered.code == 0, registered.err
    webhook = json.loads(registered.out)["webhook"]
    assert json.loads(registered.out)["registered"] is True
    assert [hook["webhook_id"] for hook in listed["webhooks"]] == [webhook["webhook_id"]]
    assert listed["webhooks"][0]["notification_url"] == function_url
    assert refreshed.code == 0, refreshed.err
    assert {action["webhook_id"] for action in json.loads(refreshed.out)["actions"]} == {
        webhook["webhook_id"]
    }
    assert os.environ["WEBHOOK_MAC_STORE"] == "secretsmanager"


def test_an_answer_of_an_unexpected_shape_is_one_line_not_a_traceback(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airtable_mirror.operator_cli.api import MirrorApi

    monkeypatch.setattr(MirrorApi, "post", lambda self, path, accept=frozenset(): (202, {"status": "queued"}))

    result = harness.local("sync", "People")

    assert result.code == 2
    assert (
        result.err == "error: unexpected KeyError: 'run_id' (AIRTABLE_MIRROR_DEBUG=1 shows the traceback)\n"
    )
    with pytest.raises(KeyError):
        harness.local("sync", "People", environ={"AIRTABLE_MIRROR_DEBUG": "1"})


def test_the_bin_script_runs_the_cli_from_any_directory(tmp_path_factory: pytest.TempPathFactory) -> None:
    script = Path(__file__).resolve().parents[5] / "bin" / "airtable-mirror"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}

    result = subprocess.run(
        [str(script), "--api-url", f"http://127.0.0.1:{closed_port}", "tables"],
        cwd=tmp_path_factory.mktemp("elsewhere"),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert (
        result.stderr
        == f"error: nothing answers at http://127.0.0.1:{closed_port} — is `make dev` running?\n"
    )
