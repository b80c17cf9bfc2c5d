"""The whole service on one machine: what `make dev` starts, in order, and stops, in reverse.

Start: dynalite → the mirror table → moto's server and the queues → the Airtable emulator (or real
Airtable) → the functions' environment → the HTTP API gateway and the function URL → the queue
consumers → the schedules → the webhook registration → the first sync → ``<data-dir>/dev-stack.json``
and what to try. Everything the stack runs, and everything the functions get in their environment,
comes from template.yaml (``dev_stack.template``), so the local stack cannot drift from the deployed
one: only the values of AWS resources are local (dynalite's table, moto's queues, local keys instead
of Secrets Manager secrets, see ``local_environment``).

A start that fails half-way stops what it had started; ``stop()`` stops everything in reverse order
and removes dev-stack.json.
"""

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import boto3
import requests
from botocore.config import Config

from dev_stack.gateway import AdminRoute, FunctionUrlServer, HttpApiGateway, LocalHttpServer
from dev_stack.invoker import Invoker
from dev_stack.logs import DEFAULT_PART, LogCapture, LogHub
from dev_stack.queues import LocalQueue, QueueConsumer, create_queues, start_consumers
from dev_stack.schedules import ScheduleNotFoundError, Scheduler
from dev_stack.services import (
    PROJECT_ROOT,
    Dynalite,
    EmulatorProcess,
    MotoServer,
    create_table_arguments,
    ensure_table,
    local_secrets,
    write_private_json,
)
from dev_stack.template import (
    LOCAL_ACCOUNT_ID,
    StackDefinition,
    load_stack,
    pseudo_parameters,
    resolve_environment,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger("dev_stack")

STACK_NAME = "airtable-mirror-local"
REGION = "us-east-1"
READY_FILE = "dev-stack.json"
DYNAMODB_FOLDER = "dynamodb"
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"
# The demo base syncs in seconds; a larger base carries on in the background after this long.
FIRST_SYNC_TIMEOUT_SECONDS = 90.0
REAL_AIRTABLE_URL = "https://api.airtable.com"
SECRETS_MANAGER_SECRET = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type
# Parameters the local stack sets for its own resources; template.yaml's defaults hold for the rest.
AIRTABLE_TOKEN_PARAMETER = "AirtableTokenSecretArn"  # noqa: S105 - a parameter name
# What the functions get locally in place of AWS-only values (see local_environment).
LOCAL_REPLACEMENTS = {
    # Webhook MAC secrets in the mirror table rather than in Secrets Manager.
    "WEBHOOK_MAC_STORE": "table",
    # No X-Ray daemon and no CloudWatch: powertools would try to reach or print for them.
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
# A caller's shell must not send the functions to a real AWS account or profile.
CLEARED_AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


class EnvironmentConflictError(ValueError):
    """Two functions need different values for one variable, and all share one process."""


class DevStackError(RuntimeError):
    """The stack cannot start; the message says why."""


@dataclass(frozen=True)
class DevStackOptions:
    host: str = "127.0.0.1"
    port: int = 3000
    function_url_port: int = 3001
    emulator_port: int = 8111
    # Requests per second per base the emulator allows before its 429 and 30 s penalty (0: no limit).
    # Twice Airtable's 5 by default: the functions pace themselves at AirtableRequestsPerSecond (5),
    # and the rest is for a person (or a test) editing the base at the same time.
    emulator_rate_limit: float = 10.0
    dynamodb_port: int = 0
    data_dir: Path = PROJECT_ROOT / ".local-data"
    first_sync: bool = True
    log_level: str = "INFO"
    template_path: Path = TEMPLATE_PATH
    # The caller's environment: AIRTABLE_API_KEY + AIRTABLE_BASE_ID (real Airtable),
    # WEBHOOK_NOTIFICATION_URL, SYNC_TABLES, TABLE_ALIASES, CURSOR_SIGNING_KEY, WEBHOOK_SECRET.
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    first_sync_timeout_seconds: float = FIRST_SYNC_TIMEOUT_SECONDS


@dataclass(frozen=True)
class AirtableTarget:
    api_url: str
    token: str
    base_id: str
    emulated: bool
    notification_url: str | None  # where Airtable pings; None: no webhook registration


def merge_environments(per_function: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """One environment for every function (they share this process); a variable two functions set to
    different values cannot be run this way, and says so."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for function, environment in per_function.items():
        for variable, value in environment.items():
            if variable in merged and merged[variable] != value:
                raise EnvironmentConflictError(
                    f"{owner[variable]} and {function} set {variable} to different values "
                    f"({merged[variable]!r} and {value!r}); the local stack runs every function in one "
                    "process with one environment"
                )
            merged.setdefault(variable, value)
            owner.setdefault(variable, function)
    return merged


def default_sync_tables(aliases_text: str) -> str:
    """The tables the aliases name (``people=People,tasks=Tasks`` → ``People,Tasks``)."""
    tables: list[str] = []
    for pair in aliases_text.split(","):
        _, separator, table = pair.partition("=")
        if separator and table.strip() and table.strip() not in tables:
            tables.append(table.strip())
    return ",".join(tables)


def parameter_overrides(
    stack: StackDefinition, target: AirtableTarget, environ: Mapping[str, str]
) -> dict[str, str]:
    overrides = {"AirtableBaseId": target.base_id, "AirtableApiUrl": target.api_url}
    if environ.get("TABLE_ALIASES"):
        overrides["TableAliases"] = environ["TABLE_ALIASES"]
    aliases = overrides.get("TableAliases", stack.parameters.get("TableAliases", ""))
    overrides["SyncTables"] = environ.get("SYNC_TABLES") or default_sync_tables(aliases)
    return {name: value for name, value in overrides.items() if name in stack.declared_parameters}


def resource_references(
    stack: StackDefinition, table_name: str, queues: Mapping[str, LocalQueue]
) -> dict[str, str | None]:
    """The local values of the template's resources, for resolve_environment."""
    references: dict[str, str | None] = dict(pseudo_parameters(STACK_NAME, REGION, LOCAL_ACCOUNT_ID))
    references[stack.table_logical_id] = table_name
    references[f"{stack.table_logical_id}.Arn"] = (
        f"arn:aws:dynamodb:{REGION}:{LOCAL_ACCOUNT_ID}:table/{table_name}"
    )
    for logical_id, queue in queues.items():
        references[logical_id] = queue.url
        references[f"{logical_id}.Arn"] = queue.arn
        references[f"{logical_id}.QueueName"] = queue.name
        references[f"{logical_id}.QueueUrl"] = queue.url
    # Secrets: the functions read the local keys (local_environment) instead of a secret's name.
    for logical_id, resource_type in stack.resource_types.items():
        if resource_type == SECRETS_MANAGER_SECRET:
            references[logical_id] = None
    references[AIRTABLE_TOKEN_PARAMETER] = None
    return references


def local_environment(
    functions_environment: Mapping[str, str],
    *,
    target: AirtableTarget,
    keys: Mapping[str, str],
    dynamodb_url: str,
    aws_url: str,
) -> dict[str, str]:
    """The functions' environment from the template, with the local replacements for AWS-only values."""
    environment = dict(functions_environment)
    environment.update(LOCAL_REPLACEMENTS)
    environment.update(keys)
    environment["AIRTABLE_API_KEY"] = target.token
    environment.update(
        {
            "DYNAMODB_ENDPOINT_URL": dynamodb_url,
            "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
            "AWS_ENDPOINT_URL_SQS": aws_url,
            # Every other AWS API goes to moto too, never to a real account.
            "AWS_ENDPOINT_URL": aws_url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return environment


def airtable_target(environ: Mapping[str, str], emulator: EmulatorProcess | None) -> AirtableTarget:
    if emulator is not None:
        assert emulator.url is not None and emulator.base_id is not None
        return AirtableTarget(
            emulator.url, emulator.token, emulator.base_id, emulated=True, notification_url=None
        )
    return AirtableTarget(
        environ.get("AIRTABLE_API_URL") or REAL_AIRTABLE_URL,
        environ["AIRTABLE_API_KEY"],
        environ["AIRTABLE_BASE_ID"],
        emulated=False,
        notification_url=environ.get("WEBHOOK_NOTIFICATION_URL") or None,
    )


def uses_real_airtable(environ: Mapping[str, str]) -> bool:
    return bool(environ.get("AIRTABLE_API_KEY") and environ.get("AIRTABLE_BASE_ID"))


class DevStack:
    def __init__(
        self, options: DevStackOptions, *, output: TextIO | None = None, capture_output: bool = True
    ) -> None:
        self.options = options
        self.data_dir = options.data_dir.resolve()
        self.ready_file = self.data_dir / READY_FILE
        self.hub = LogHub(output if output is not None else sys.stdout)
        self._capture = LogCapture(
            self.hub, logging.getLevelNamesMapping().get(options.log_level.upper(), logging.INFO)
        )
        self._capture_output = capture_output
        self._cleanups: list[tuple[str, Callable[[], None]]] = []
        self._saved_environment: dict[str, str | None] = {}
        self._stop_lock = threading.Lock()
        self.stack: StackDefinition | None = None
        self.target: AirtableTarget | None = None
        self.environment: dict[str, str] = {}
        self.queues: dict[str, LocalQueue] = {}
        self.gateway: HttpApiGateway | None = None
        self.function_urls: list[FunctionUrlServer] = []
        self.consumers: list[QueueConsumer] = []
        self.scheduler: Scheduler | None = None
        self.sync_tables: list[dict[str, str]] = []
        self.child_pids: list[int] = []
        self._aws_url: str | None = None

    # --- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._start()
        except KeyboardInterrupt:
            logger.info("interrupted during start-up; stopping what had started")
            self.stop()
            raise
        except BaseException:
            logger.error("start-up failed; stopping what had started")
            self.stop()
            raise

    def _start(self) -> None:
        if self._capture_output:
            self._capture.install()
            self._on_stop("log capture", self._capture.uninstall)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.ready_file.unlink()  # left by a stack that was killed: not ready until this one is
        template_stack = load_stack(self.options.template_path)
        self.hub.register(
            DEFAULT_PART, "dynalite", "emulator", "gateway", "function_url", "queues", "schedules"
        )
        self.hub.register(*template_stack.functions)

        dynamodb_url, table_name = self._start_dynamodb(template_stack)
        aws_url = self._start_sqs(template_stack)
        self.target = self._start_airtable()
        stack = load_stack(
            self.options.template_path, parameter_overrides(template_stack, self.target, self.options.environ)
        )
        self.stack = stack
        self.environment = self._functions_environment(stack, table_name, dynamodb_url, aws_url)
        self._apply_environment(self.environment)
        invoker = Invoker(stack, region=REGION)
        self._start_servers(stack, invoker)
        self._start_event_sources(stack, invoker, aws_url)
        self._register_webhook()
        self.sync_tables = self._first_sync()
        self._write_ready_file()
        self._print_what_to_try()

    def _start_dynamodb(self, stack: StackDefinition) -> tuple[str, str]:
        dynalite = Dynalite(
            self.data_dir / DYNAMODB_FOLDER, hub=self.hub, host="127.0.0.1", port=self.options.dynamodb_port
        )
        dynalite.start()
        self._on_stop("dynalite", dynalite.stop)
        self._remember_child(dynalite.pid)
        table_name = f"{STACK_NAME}-{stack.table_logical_id}"
        created = ensure_table(
            self._dynamodb_client(dynalite.endpoint_url),
            create_table_arguments(table_name, stack.table_properties),
        )
        logger.info(
            "table %s %s (%s)", table_name, "created" if created else "found on disk", dynalite.endpoint_url
        )
        return dynalite.endpoint_url, table_name

    def _start_sqs(self, stack: StackDefinition) -> str:
        moto = MotoServer("127.0.0.1")
        moto.start()
        self._on_stop("moto", moto.stop)
        self._aws_url = moto.endpoint_url
        self.queues = create_queues(self._sqs_client(moto.endpoint_url), stack.queues, stack_name=STACK_NAME)
        names = ", ".join(queue.name for queue in self.queues.values())
        logger.info("SQS (moto) on %s: %s", moto.endpoint_url, names)
        return moto.endpoint_url

    def _start_airtable(self) -> AirtableTarget:
        options = self.options
        if uses_real_airtable(options.environ):
            logger.info("AIRTABLE_API_KEY and AIRTABLE_BASE_ID are set: the functions use real Airtable")
            return airtable_target(options.environ, None)
        from airtable_emulator.emulator import DEFAULT_TOKEN  # noqa: PLC0415 - only without real Airtable

        emulator = EmulatorProcess(
            hub=self.hub,
            token=DEFAULT_TOKEN,
            host=options.host,
            port=options.emulator_port,
            rate_limit=options.emulator_rate_limit,
        )
        emulator.start()
        self._on_stop("emulator", emulator.stop)
        self._remember_child(emulator.pid)
        return airtable_target(options.environ, emulator)

    def _functions_environment(
        self, stack: StackDefinition, table_name: str, dynamodb_url: str, aws_url: str
    ) -> dict[str, str]:
        assert self.target is not None
        references = resource_references(stack, table_name, self.queues)
        per_function = {name: resolve_environment(stack, name, references) for name in stack.functions}
        keys = {
            name: self.options.environ.get(name) or value
            for name, value in local_secrets(self.data_dir).items()
        }
        return local_environment(
            merge_environments(per_function),
            target=self.target,
            keys=keys,
            dynamodb_url=dynamodb_url,
            aws_url=aws_url,
        )

    def _start_servers(self, stack: StackDefinition, invoker: Invoker) -> None:
        options = self.options
        servers: list[LocalHttpServer] = []
        try:
            self.gateway = HttpApiGateway(
                stack, invoker, host=options.host, port=options.port, admin_routes=self._admin_routes()
            )
            servers.append(self.gateway)
            url_functions = [
                name for name, definition in stack.functions.items() if definition.has_function_url
            ]
            for index, function in enumerate(url_functions):
                port = options.function_url_port if index == 0 else 0
                server = FunctionUrlServer(stack, invoker, function, host=options.host, port=port)
                self.function_urls.append(server)
                servers.append(server)
        except OSError as error:
            for bound in servers:
                bound.stop()
            raise DevStackError(
                f"cannot listen on {options.host}: {error} (pass --port 0 for any free port)"
            ) from None
        for listening in servers:
            listening.start()
            self._on_stop(f"{type(listening).__name__} on {listening.url}", listening.stop)

    def _start_event_sources(self, stack: StackDefinition, invoker: Invoker, aws_url: str) -> None:
        self.consumers = start_consumers(
            stack.sqs_sources, self.queues, lambda: self._sqs_client(aws_url), invoker.invoke, region=REGION
        )
        for consumer in self.consumers:
            self._on_stop(f"consumer of {consumer.queue.logical_id}", consumer.stop)
        self.scheduler = Scheduler(
            stack.schedules, invoker.invoke, region=REGION, account=LOCAL_ACCOUNT_ID, stack_name=STACK_NAME
        )
        self.scheduler.start()
        self._on_stop("schedules", self.scheduler.stop)

    def _on_stop(self, name: str, action: Callable[[], None]) -> None:
        self._cleanups.append((name, action))

    def _remember_child(self, pid: int | None) -> None:
        if pid is not None:
            self.child_pids.append(pid)

    def _apply_environment(self, environment: Mapping[str, str]) -> None:
        for name in (*environment, *CLEARED_AWS_VARIABLES):
            self._saved_environment.setdefault(name, os.environ.get(name))
        for name in CLEARED_AWS_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(environment)
        self._on_stop("environment", self._restore_environment)
        # Imported once the environment is set: powertools reads it when the shared Logger is made,
        # and the stack's own calls through the shared package then log as the functions do (JSON).
        import airtable_mirror.observability  # noqa: F401, PLC0415
        from airtable_mirror import runtime  # noqa: PLC0415

        runtime.reset()

    def _restore_environment(self) -> None:
        from airtable_mirror import runtime  # noqa: PLC0415

        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment.clear()
        runtime.reset()

    @staticmethod
    def _dynamodb_client(endpoint_url: str) -> "DynamoDBClient":
        return boto3.client(
            "dynamodb",
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - dynalite accepts any credentials
        )

    @staticmethod
    def _sqs_client(endpoint_url: str) -> "SQSClient":
        return boto3.client(
            "sqs",
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
            # A long poll holds its connection for a second; anything else is quick.
            config=Config(read_timeout=30, retries={"mode": "standard", "max_attempts": 3}),
        )

    # --- webhook and first sync ------------------------------------------------------------------

    def _register_webhook(self) -> None:
        from dev_stack.mirror import reconcile_webhook  # noqa: PLC0415 - needs the functions' environment

        assert self.target is not None
        notification_url = self.target.notification_url
        if self.target.emulated:
            notification_url = self.function_urls[0].url + "/" if self.function_urls else None
        if notification_url is None:
            print(
                "note: no webhook registered: real Airtable needs a public URL that reaches the function "
                "URL; set WEBHOOK_NOTIFICATION_URL (a tunnel to "
                f"{self.function_urls[0].url if self.function_urls else 'the function URL'}) to register one"
            )
            return
        logger.info("webhook: %s", reconcile_webhook(notification_url))

    def _first_sync(self) -> list[dict[str, str]]:
        from dev_stack.mirror import fail_interrupted_runs, start_first_syncs, wait_for_runs  # noqa: PLC0415

        interrupted = fail_interrupted_runs()
        for run in interrupted:
            logger.warning(
                "sync run %s of %s was interrupted by the last stop: marked failed",
                run.run_id,
                run.table_name,
            )
        tables, started = start_first_syncs(
            restart_table_ids={run.table_id for run in interrupted}, start=self.options.first_sync
        )
        if not started:
            logger.info("first sync: every table in SYNC_TABLES was synced before; nothing to do")
            return tables
        logger.info(
            "first sync of %s: waiting for it to finish", ", ".join(run.table_name for run in started)
        )
        unfinished = wait_for_runs(started, timeout=self.options.first_sync_timeout_seconds)
        for run in unfinished:
            logger.warning(
                "sync run %s of %s is still going; it carries on in the background",
                run.run_id,
                run.table_name,
            )
        return tables

    # --- admin routes ----------------------------------------------------------------------------

    def _admin_routes(self) -> dict[tuple[str, str], AdminRoute]:
        return {
            ("GET", "/_local/schedules"): self._list_schedules,
            ("POST", "/_local/schedules/{name}"): self._trigger_schedule,
            ("GET", "/_local/queues"): self._list_queues,
        }

    def _list_schedules(self, _parameters: dict[str, str], _body: bytes) -> tuple[int, Any]:
        assert self.scheduler is not None
        return 200, {"schedules": self.scheduler.describe()}

    def _trigger_schedule(self, parameters: dict[str, str], _body: bytes) -> tuple[int, Any]:
        assert self.scheduler is not None
        try:
            entry, outcome = self.scheduler.trigger(parameters.get("name", ""))
        except ScheduleNotFoundError as error:
            return 404, {"message": str(error)}
        return 200, {
            "schedule": entry.rule.name,
            "function": entry.rule.function,
            "ok": outcome.error is None,
            "error": outcome.error,
            "result": outcome.payload,
            "duration_ms": round(outcome.duration_ms, 1),
        }

    def _list_queues(self, _parameters: dict[str, str], _body: bytes) -> tuple[int, Any]:
        assert self._aws_url is not None
        sqs = self._sqs_client(self._aws_url)
        listed = []
        for queue in self.queues.values():
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            listed.append(
                {
                    "queue": queue.logical_id,
                    "url": queue.url,
                    "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
                    "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                    "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
                }
            )
        return 200, {"queues": listed}

    # --- ready -----------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    @property
    def function_url(self) -> str | None:
        return self.function_urls[0].url + "/" if self.function_urls else None

    def ready_document(self) -> dict[str, Any]:
        assert self.target is not None
        environment = dict(self.environment)
        if not self.target.emulated:
            environment["AIRTABLE_API_KEY"] = "<from your environment>"  # a real token stays out of files
        return {
            "api_url": self.api_url,
            "function_url": self.function_url,
            "emulator_url": self.target.api_url if self.target.emulated else None,
            "emulator_token": self.target.token if self.target.emulated else None,
            "base_id": self.target.base_id,
            "tables": self.sync_tables,
            "environment": environment,
            "pid": os.getpid(),
            "child_pids": self.child_pids,
        }

    def _write_ready_file(self) -> None:
        write_private_json(self.ready_file, self.ready_document())
        logger.info("ready: %s", self.ready_file)

    def _print_what_to_try(self) -> None:
        assert self.target is not None
        sample = sample_record_id(self.target, "Tasks") if self.target.emulated else None
        self.hub.write_block(what_to_try(self.api_url, self.function_url, self.target, sample))

    # --- stop ------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything started, in reverse order; safe to call more than once."""
        with self._stop_lock:
            # Consumers first stop polling together, so none waits on another's long poll.
            for consumer in self.consumers:
                consumer.request_stop()
            with contextlib.suppress(FileNotFoundError):
                self.ready_file.unlink()
            while self._cleanups:
                name, action = self._cleanups.pop()
                try:
                    action()
                except Exception:
                    logger.exception("stopping %s failed", name)
            self.consumers = []
            self.function_urls = []
            self.gateway = None
            self.scheduler = None

    def __enter__(self) -> "DevStack":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def sample_record_id(target: AirtableTarget, table: str) -> str | None:
    """A record of the table, for a copyable example (None if Airtable does not answer)."""
    try:
        answer = requests.get(
            f"{target.api_url}/v0/{target.base_id}/{table}",
            params={"maxRecords": "1"},
            headers={"Authorization": f"Bearer {target.token}"},
            timeout=10,
        )
        record_id = answer.json()["records"][0]["id"]
    except (requests.RequestException, ValueError, LookupError, TypeError):
        return None
    return str(record_id)


def what_to_try(api: str, function_url: str | None, target: AirtableTarget, sample_record: str | None) -> str:
    lines = [
        "",
        "airtable-mirror is running locally. Try:",
        f"  Swagger UI: {api}/docs",
        f"  curl -s {api}/tables",
        f"  curl -s '{api}/people?limit=2'",
        f"  curl -s '{api}/records?table_name=tasks&limit=5'",
        f"  curl -s -X POST {api}/sync/People        # then: curl -s {api}/sync/runs/<run_id>",
        f"  curl -s {api}/webhooks",
        f"  curl -s -X POST {api}/_local/schedules/FullSync   # a schedule, now",
        f"  curl -s {api}/_local/schedules                    # the schedules and their next runs",
        f"  curl -s {api}/_local/queues                       # what waits in the queues",
    ]
    if target.emulated:
        record = sample_record or "<record id>"
        lines += [
            f"Airtable emulator: {target.api_url}  token {target.token}  base {target.base_id}",
            "  A change there reaches the mirror through the webhook in a few seconds:",
            f"  curl -s -X PATCH {target.api_url}/v0/{target.base_id}/Tasks/{record} \\",
            f"    -H 'Authorization: Bearer {target.token}' -H 'Content-Type: application/json' \\",
            '    -d \'{"fields": {"Title": "Changed in Airtable"}}\'',
            f"  curl -s {api}/records/{record}",
        ]
    lines += [f"Webhook function URL: {function_url}", "Ctrl-C stops everything.", ""]
    return "\n".join(lines)
