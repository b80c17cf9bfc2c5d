"""The processes and AWS stand-ins the local stack runs beside the functions.

- DynamoDB: dynalite (a DynamoDB-protocol server on LevelDB) as a child process, its data on disk in
  ``<data-dir>/dynamodb`` so it survives a restart; the mirror table is created from template.yaml's
  own MirrorTable properties when it is not there yet.
- SQS (and any other AWS API a function might call): moto's server, in this process, on a free
  loopback port. Its state is in memory: queued messages do not survive a restart.
- Airtable: the emulator (``python -m airtable_emulator``) as a child process with the demo base.
- Secrets Manager's part: the two keys the functions would read from secrets (the records API's
  cursor signing key, the seed push format's WEBHOOK_SECRET) are made once per data folder and kept in
  ``<data-dir>/local-secrets.json``, so cursors and signatures stay valid across restarts.

Child processes get their own session (Ctrl-C reaches the stack, which stops them in order) and,
on Linux, the kernel's parent-death signal, so they end even if the stack is killed outright.
"""

import collections
import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dev_stack.logs import LogHub

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger("dev_stack.services")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DYNALITE_SCRIPT = PROJECT_ROOT / "node_modules" / ".bin" / "dynalite"
CREATE_TABLE_PROPERTIES = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "BillingMode")
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


class ServiceError(RuntimeError):
    """A service could not start; the message says why and what to do."""


def free_loopback_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec function asking Linux to SIGTERM the child when the parent dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    prctl = ctypes.CDLL(library, use_errno=True).prctl

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    return die_with_parent


_DIE_WITH_PARENT = _parent_death_signal()


class ChildProcess:
    """One child process whose output goes to the log hub under its part name, line by line."""

    def __init__(
        self,
        part: str,
        command: Sequence[str],
        *,
        hub: LogHub,
        env: Mapping[str, str] | None = None,
        cwd: Path = PROJECT_ROOT,
    ) -> None:
        self.part = part
        self._command = list(command)
        self._hub = hub
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None
        self._recent: collections.deque[str] = collections.deque(maxlen=40)
        self._lines_changed = threading.Condition()
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        hub_register = self._hub.register
        hub_register(self.part)
        try:
            # Own session: the terminal's Ctrl-C goes to the stack, which stops its children in order.
            self._process = subprocess.Popen(  # noqa: S603 - a fixed command line built by the stack
                self._command,
                cwd=self._cwd,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_DIE_WITH_PARENT,  # noqa: PLW1509 - only a prctl call, no Python-level locks
            )
        except OSError as error:
            raise ServiceError(f"cannot start {self.part} ({self._command[0]}): {error}") from None
        self._pump = threading.Thread(
            target=self._copy_output, name=f"dev-stack-log-{self.part}", daemon=True
        )
        self._pump.start()

    def _copy_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for raw in iter(self._process.stdout.readline, b""):
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                self._hub.emit(self.part, line)
                with self._lines_changed:
                    self._recent.append(line)
                    self._lines_changed.notify_all()
        with self._lines_changed:
            self._lines_changed.notify_all()

    def wait_for_line(
        self, pattern: re.Pattern[str], timeout: float = STARTUP_TIMEOUT_SECONDS
    ) -> re.Match[str]:
        """The first output line (seen so far or to come) matching ``pattern``."""
        deadline = time.monotonic() + timeout
        with self._lines_changed:
            while True:
                for line in self._recent:
                    match = pattern.search(line)
                    if match:
                        return match
                if not self.running:
                    raise ServiceError(
                        f"{self.part} exited with code {self.returncode()}:\n{self.recent_output()}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ServiceError(
                        f"{self.part} did not start within {timeout:.0f} s:\n{self.recent_output()}"
                    )
                self._lines_changed.wait(min(remaining, 0.2))

    def wait_until_listening(self, host: str, port: int, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise ServiceError(
                    f"{self.part} exited with code {self.returncode()}:\n{self.recent_output()}"
                )
            with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
                return
            if time.monotonic() > deadline:
                raise ServiceError(f"{self.part} did not listen on {host}:{port} within {timeout:.0f} s")
            time.sleep(0.05)

    def wait_for_exit(self, timeout: float) -> None:
        """Give a dying process a moment to exit, so its last words are in recent_output()."""
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout)
        if self._pump is not None:
            self._pump.join(timeout)

    def returncode(self) -> int | None:
        return self._process.poll() if self._process is not None else None

    def recent_output(self) -> str:
        with self._lines_changed:
            return "\n".join(f"    {line}" for line in self._recent)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %.0f s: killing it", self.part, timeout)
                process.kill()
                process.wait(timeout=timeout)
        if self._pump is not None:
            self._pump.join(timeout)
        if process.stdout is not None:
            process.stdout.close()
        logger.info("%s stopped (exit code %s)", self.part, process.returncode)


# --- DynamoDB: dynalite ---------------------------------------------------------------------------


class Dynalite:
    """dynalite on ``host:port`` (0: a free port), its LevelDB files under ``data_dir``."""

    def __init__(self, data_dir: Path, *, hub: LogHub, host: str = "127.0.0.1", port: int = 0) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port or free_loopback_port(host)
        node = shutil.which("node")
        if node is None:
            raise ServiceError("node is not on PATH: dynalite needs Node.js (20 or later)")
        if not DYNALITE_SCRIPT.exists():
            raise ServiceError(f"{DYNALITE_SCRIPT} is missing: run `make node_modules/.installed` (npm ci)")
        self._process = ChildProcess(
            "dynalite",
            [
                node,
                str(DYNALITE_SCRIPT),
                "--host",
                host,
                "--port",
                str(self.port),
                "--path",
                str(data_dir),
                "--createTableMs",
                "0",
                "--deleteTableMs",
                "0",
                "--updateTableMs",
                "0",
            ],
            hub=hub,
        )

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process.start()
        try:
            self._process.wait_until_listening(self.host, self.port)
            # dynalite opens its LevelDB files on the first request, not at start: ask one.
            self._check_database_opens()
        except ServiceError as error:
            self._process.stop()
            raise ServiceError(
                f"{error}\n(is another dev stack using {self.data_dir}? LevelDB allows one server per folder)"
            ) from None

    def _check_database_opens(self) -> None:
        client = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - dynalite accepts any credentials
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10),
        )
        try:
            client.list_tables(Limit=1)
        except (BotoCoreError, ClientError) as error:
            self._process.wait_for_exit(timeout=5)
            raise ServiceError(
                f"dynalite cannot open its database: {error}\n{self._process.recent_output()}"
            ) from None

    def stop(self) -> None:
        self._process.stop()


def create_table_arguments(table_name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """CreateTable arguments for ``table_name`` from the template's table Properties."""
    arguments: dict[str, Any] = {"TableName": table_name}
    for name in CREATE_TABLE_PROPERTIES:
        if name in properties:
            if _has_intrinsic(properties[name]):
                raise ServiceError(
                    f"the table's {name} uses an intrinsic function: the local stack cannot resolve it"
                )
            arguments[name] = properties[name]
    return arguments


def _has_intrinsic(value: object) -> bool:
    if isinstance(value, dict):
        if any(key in ("Ref", "Condition") or str(key).startswith("Fn::") for key in value):
            return True
        return any(_has_intrinsic(element) for element in value.values())
    if isinstance(value, list):
        return any(_has_intrinsic(element) for element in value)
    return False


def ensure_table(
    client: "DynamoDBClient", arguments: Mapping[str, Any], timeout: float = STARTUP_TIMEOUT_SECONDS
) -> bool:
    """Create the table unless it exists (True if created); an existing table must have the
    template's keys and indexes, else its data belongs to another version of the template."""
    name = str(arguments["TableName"])
    try:
        existing = client.describe_table(TableName=name)["Table"]
    except client.exceptions.ResourceNotFoundException:
        existing = None
    if existing is not None:
        _check_table_shape(existing, arguments)
        return False
    client.create_table(**arguments)
    deadline = time.monotonic() + timeout
    while client.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise ServiceError(f"table {name} not ACTIVE after {timeout:.0f} s")
        time.sleep(0.05)
    return True


def _check_table_shape(existing: Mapping[str, Any], arguments: Mapping[str, Any]) -> None:
    def keys(schema: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
        return [(str(key["AttributeName"]), str(key["KeyType"])) for key in schema]

    wanted_indexes = {
        index["IndexName"]: keys(index["KeySchema"]) for index in arguments.get("GlobalSecondaryIndexes", [])
    }
    found_indexes = {
        index["IndexName"]: keys(index["KeySchema"]) for index in existing.get("GlobalSecondaryIndexes", [])
    }
    if keys(existing["KeySchema"]) != keys(arguments["KeySchema"]) or found_indexes != wanted_indexes:
        raise ServiceError(
            f"table {arguments['TableName']} on disk has other keys or indexes than template.yaml's: it was "
            "made by an older template. Delete the data folder's dynamodb/ directory to start afresh."
        )


# --- SQS and the rest of AWS: moto's server ---------------------------------------------------------


class MotoServer:
    """moto's server in a thread of this process, on a free loopback port."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._server: Any = None
        self.port: int | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("moto's server is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy, and only the stack needs it

        # werkzeug logs every request at INFO: one line per long poll of every queue, every second.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=self.host, port=0, verbose=False)
        self._server.start()
        self.port = int(self._server.get_host_and_port()[1])

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        self.port = None


# --- Airtable: the emulator ----------------------------------------------------------------------

_EMULATOR_URL = re.compile(r"Airtable emulator listening on (http://\S+)")
_EMULATOR_BASE = re.compile(r"^base:\s+(app[A-Za-z0-9]{14})\b")


class EmulatorProcess:
    """``python -m airtable_emulator`` with the demo base, on ``host:port`` (0: any free port)."""

    def __init__(
        self,
        *,
        hub: LogHub,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: float | None = None,
    ) -> None:
        self.token = token
        self.url: str | None = None
        self.base_id: str | None = None
        environment = dict(os.environ)
        python_path = [str(PROJECT_ROOT / "local"), str(PROJECT_ROOT / "layers" / "common")]
        if environment.get("PYTHONPATH"):
            python_path.append(environment["PYTHONPATH"])
        environment["PYTHONPATH"] = os.pathsep.join(python_path)
        # Its start-up lines must arrive at once, not when a pipe buffer fills.
        environment["PYTHONUNBUFFERED"] = "1"
        command = [
            sys.executable,
            "-m",
            "airtable_emulator",
            "--host",
            host,
            "--port",
            str(port),
            "--token",
            token,
        ]
        if rate_limit is not None:
            command += ["--rate-limit", f"{rate_limit:g}"]
        self._process = ChildProcess("emulator", command, hub=hub, env=environment)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self) -> None:
        self._process.start()
        try:
            self.url = self._process.wait_for_line(_EMULATOR_URL).group(1).rstrip("/")
            self.base_id = self._process.wait_for_line(_EMULATOR_BASE).group(1)
        except ServiceError:
            self._process.stop()
            raise

    def stop(self) -> None:
        self._process.stop()


# --- the secrets' stand-in ---------------------------------------------------------------------------

LOCAL_SECRETS_FILE = "local-secrets.json"
LOCAL_SECRET_VARIABLES = ("CURSOR_SIGNING_KEY", "WEBHOOK_SECRET")


def local_secrets(data_dir: Path) -> dict[str, str]:
    """The keys that stand in for the template's generated secrets, made once per data folder."""
    path = data_dir / LOCAL_SECRETS_FILE
    stored: dict[str, str] = {}
    if path.is_file():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise ServiceError(f"{path} is not JSON: delete it and new keys are made") from None
        if isinstance(document, dict):
            stored = {str(key): str(value) for key, value in document.items()}
    missing = [name for name in LOCAL_SECRET_VARIABLES if not stored.get(name)]
    if missing:
        stored.update({name: secrets.token_urlsafe(48) for name in missing})
        data_dir.mkdir(parents=True, exist_ok=True)
        write_private_json(path, stored)
    return {name: stored[name] for name in LOCAL_SECRET_VARIABLES}


def write_private_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write atomically (a reader never sees half a file), readable by this user only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2, sort_keys=True)
        stream.write("\n")
    os.replace(temporary, path)
