"""Starting and stopping the local stack (`python -m dev_stack`) as a user's `make dev` does, on free
ports and a data folder of the test's own, and talking to it over HTTP only."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 180.0
STOP_TIMEOUT_SECONDS = 60.0
HTTP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class RunningStack:
    """What the stack wrote to ``dev-stack.json`` once ready."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path
    api_url: str
    function_url: str
    emulator_url: str
    emulator_token: str
    base_id: str

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, self.api_url + path, timeout=HTTP_TIMEOUT_SECONDS, **kwargs)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        answer = self.api("GET", path, **kwargs)
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
        return answer.json()

    def airtable(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to the Airtable emulator, as a person editing the base would make it."""
        headers = {"Authorization": f"Bearer {self.emulator_token}"}
        return requests.request(
            method, self.emulator_url + path, headers=headers, timeout=HTTP_TIMEOUT_SECONDS, **kwargs
        )

    def log_tail(self, lines: int = 80) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def wait_for[T](
    probe: Callable[[], T | None], *, timeout: float, what: str, stack: RunningStack | None = None
) -> T:
    """Poll ``probe`` until it returns something other than None (or False)."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except (requests.RequestException, AssertionError, KeyError) as error:
            last_error, value = error, None
        if value is not None and value is not False:
            return value
        time.sleep(0.25)
    tail = stack.log_tail() if stack else ""
    raise AssertionError(
        f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error})\n{tail}"
    )


# What the stack may take from the caller's environment: nothing that configures the service (a
# variable left behind by another test, or a developer's AIRTABLE_API_KEY, would change what it runs).
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "NODE_PATH")


def _stack_environment() -> dict[str, str]:
    environment = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
    environment["PYTHONPATH"] = os.pathsep.join(
        str(PROJECT_ROOT / part) for part in ("layers/common", "local", ".")
    )
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


def _ignore_sigint() -> None:
    """Start the stack as a script's background job is started: with SIGINT ignored. Ctrl-C (SIGINT)
    must stop it all the same, so every test that stops it this way checks that too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def running_stack(data_dir: Path, *extra_args: str) -> Iterator[RunningStack]:
    """Start the stack, wait until it says it is ready, and stop it with Ctrl-C (SIGINT) afterwards."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ready_file = data_dir / "dev-stack.json"
    log_path = data_dir.parent / f"{data_dir.name}-{int(time.time() * 1000)}.log"
    command = [
        sys.executable,
        "-m",
        "dev_stack",
        "--port",
        "0",
        "--function-url-port",
        "0",
        "--emulator-port",
        "0",
        "--data-dir",
        str(data_dir),
        # The tests read the emulator to check the mirror against it; at Airtable's 5 requests/s those
        # reads would share (and trip) the base's budget with the stack, which paces itself at 5 anyway.
        "--emulator-rate-limit",
        "50",
        *extra_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=_stack_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_ignore_sigint,  # noqa: PLW1509 - it only sets a signal disposition
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not ready_file.exists():
                if process.poll() is not None:
                    raise AssertionError(
                        f"the stack exited with {process.returncode} before it was ready:\n"
                        + log_path.read_text(errors="replace")[-6000:]
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(
                        "the stack was not ready in time:\n" + log_path.read_text(errors="replace")[-6000:]
                    )
                time.sleep(0.2)
            ready = json.loads(ready_file.read_text())
            yield RunningStack(
                process=process,
                data_dir=data_dir,
                log_path=log_path,
                api_url=ready["api_url"].rstrip("/"),
                function_url=ready["function_url"].rstrip("/"),
                emulator_url=ready["emulator_url"].rstrip("/"),
                emulator_token=ready["emulator_token"],
                base_id=ready["base_id"],
            )
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def all_records(stack: RunningStack, table: str, **params: str) -> list[dict[str, Any]]:
    """Every record of a table through the records API, following ``next_cursor``."""
    records: list[dict[str, Any]] = []
    query: dict[str, str] = {"table_name": table, "limit": "100", **params}
    while True:
        page = stack.get_json("/records", params=query)
        records.extend(page["records"])
        if not page["next_cursor"]:
            return records
        query = {**query, "cursor": page["next_cursor"]}


def airtable_records(stack: RunningStack, table: str, **params: str) -> list[dict[str, Any]]:
    """Every record of a table as Airtable (the emulator) lists it."""
    records: list[dict[str, Any]] = []
    query: dict[str, str] = dict(params)
    while True:
        answer = stack.airtable("GET", f"/v0/{stack.base_id}/{table}", params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        records.extend(body["records"])
        if "offset" not in body:
            return records
        query = {**params, "offset": body["offset"]}


def synced_tables(stack: RunningStack) -> dict[str, dict[str, Any]] | None:
    """GET /tables by table name once every table's last sync succeeded, else None."""
    body = stack.get_json("/tables")
    tables = {table["name"]: table for table in body["tables"]}
    if {"People", "Tasks"} - set(tables):
        return None
    for table in tables.values():
        last_sync = table.get("last_sync") or {}
        if last_sync.get("status") != "succeeded":
            return None
    return tables
