"""Command line for webhooks: register one, list them, run the daily maintenance, remove one.

    python -m airtable_mirror.webhooks.cli register --stack-name airtable-mirror [--tables People,Tasks]
    python -m airtable_mirror.webhooks.cli register --notification-url https://…/ [--tables …]
    python -m airtable_mirror.webhooks.cli list | maintain | unregister ach…

With ``--stack-name``, everything comes from the deployed stack (CloudFormation ``describe_stacks``):
the notification URL is the webhook function's URL (output ``WebhookFunctionUrl``), the base, API URL,
token secret and tables are the stack's parameters, the mirror table and queues its outputs, and the
MAC secret goes to Secrets Manager (the secret is shown only once by Airtable). Without it, the
current environment is used as by the functions (``MIRROR_TABLE_NAME``, ``AIRTABLE_BASE_ID``,
``AIRTABLE_API_KEY``, ``WEBHOOK_MAC_STORE``, …) and ``--notification-url`` is required to register.
The MAC secret is never printed.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import asdict
from typing import Any, TextIO

from airtable_mirror import runtime
from airtable_mirror.airtable import AirtableError
from airtable_mirror.api.webhook_models import WebhookView
from airtable_mirror.repository.webhooks import WebhookState
from airtable_mirror.settings import ConfigurationError

# Stack output → environment variable the functions read.
STACK_OUTPUTS = {
    "MirrorTableName": "MIRROR_TABLE_NAME",
    "SyncQueueUrl": "SYNC_QUEUE_URL",
    "WebhookQueueUrl": "WEBHOOK_QUEUE_URL",
    "WebhookMacPrefix": "WEBHOOK_MAC_PREFIX",
}
# Stack parameter → environment variable.
STACK_PARAMETERS = {
    "AirtableBaseId": "AIRTABLE_BASE_ID",
    "AirtableApiUrl": "AIRTABLE_API_URL",
    "AirtableTokenSecretArn": "AIRTABLE_TOKEN_SECRET",
    "SyncTables": "SYNC_TABLES",
    "TableAliases": "TABLE_ALIASES",
}
FUNCTION_URL_OUTPUT = "WebhookFunctionUrl"


class CliError(Exception):
    pass


def stack_configuration(cloudformation: Any, stack_name: str) -> tuple[dict[str, str], str | None]:
    """The environment the stack gives its functions, and its webhook function URL."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:  # botocore's ClientError, or no credentials
        raise CliError(f"cannot describe stack {stack_name!r}: {error}") from None
    if not stacks:
        raise CliError(f"no stack named {stack_name!r}")
    stack = stacks[0]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    parameters = {
        item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])
    }
    environment = {"WEBHOOK_MAC_STORE": "secretsmanager"}
    environment.update(
        {variable: outputs[key] for key, variable in STACK_OUTPUTS.items() if outputs.get(key)}
    )
    environment.update(
        {variable: parameters[key] for key, variable in STACK_PARAMETERS.items() if parameters.get(key)}
    )
    missing = [name for name in ("MIRROR_TABLE_NAME", "AIRTABLE_BASE_ID") if name not in environment]
    if missing:
        raise CliError(f"stack {stack_name!r} does not give {', '.join(missing)}: is it airtable-mirror?")
    return environment, outputs.get(FUNCTION_URL_OUTPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m airtable_mirror.webhooks.cli", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def with_stack(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
        command.add_argument("--stack-name", help="read the configuration from this deployed stack")
        command.add_argument("--region", help="the stack's AWS region (default: the usual AWS settings)")
        return command

    register = with_stack(commands.add_parser("register", help="create the webhook and keep its secret"))
    register.add_argument(
        "--notification-url", help="where Airtable pings (default: the stack's function URL)"
    )
    register.add_argument(
        "--tables", help="comma-separated tables in scope (default: SYNC_TABLES; none: all)"
    )
    register.add_argument(
        "--no-full-sync", action="store_true", help="do not start full syncs of the tables in scope"
    )
    register.add_argument(
        "--force", action="store_true", help="register even if a webhook with this URL is already healthy"
    )
    with_stack(commands.add_parser("list", help="show the webhooks the mirror knows"))
    with_stack(commands.add_parser("maintain", help="run the daily maintenance now"))
    unregister = with_stack(commands.add_parser("unregister", help="delete a webhook, its secret and state"))
    unregister.add_argument("webhook_id")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: MutableMapping[str, str] = os.environ,
    cloudformation_factory: Callable[[str | None], Any] | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        notification_url = _configure(arguments, environ, cloudformation_factory)
        result = _run(arguments, notification_url)
    except (CliError, ConfigurationError, ValueError) as error:
        print(f"error: {error}", file=err)
        return 2
    except AirtableError as error:
        print(f"Airtable refused: {error}", file=err)
        return 1
    print(json.dumps(result, indent=2, sort_keys=True), file=out)
    return 0


def _configure(
    arguments: argparse.Namespace,
    environ: MutableMapping[str, str],
    cloudformation_factory: Callable[[str | None], Any] | None,
) -> str | None:
    notification_url = getattr(arguments, "notification_url", None)
    if arguments.stack_name:
        factory = cloudformation_factory or _cloudformation_client
        environment, function_url = stack_configuration(factory(arguments.region), arguments.stack_name)
        environ.update(environment)
        if arguments.region:
            environ["AWS_REGION"] = environ["AWS_DEFAULT_REGION"] = arguments.region
        notification_url = notification_url or function_url
    runtime.reset()
    return notification_url


def _run(arguments: argparse.Namespace, notification_url: str | None) -> dict[str, Any]:
    settings = runtime.settings()
    base_id = settings.airtable_base_id
    if arguments.command == "register":
        if not notification_url:
            raise CliError("--notification-url is required without --stack-name")
        lifecycle = runtime.webhook_lifecycle()
        existing = [
            state
            for state in runtime.webhook_repository().list_webhooks(base_id)
            if state.health == "healthy" and state.notification_url == notification_url
        ]
        if existing and not arguments.force:
            return {"registered": False, "reason": "already registered", "webhook": _view(existing[0])}
        references = _table_references(arguments.tables, settings.sync_tables, settings.table_aliases)
        table_ids = lifecycle.resolve_tables(references)
        state = lifecycle.register(notification_url, table_ids, start_full_syncs=not arguments.no_full_sync)
        return {"registered": True, "webhook": _view(state)}
    if arguments.command == "list":
        return {"webhooks": [_view(state) for state in runtime.webhook_repository().list_webhooks(base_id)]}
    if arguments.command == "maintain":
        report = runtime.webhook_lifecycle().maintain()
        return {
            "actions": [asdict(action) for action in report.actions],
            "full_syncs": [asdict(outcome) for outcome in report.full_syncs],
        }
    runtime.webhook_lifecycle().unregister(arguments.webhook_id)
    return {"unregistered": arguments.webhook_id}


def _table_references(
    option: str | None, sync_tables: Sequence[str], aliases: Mapping[str, str]
) -> list[str]:
    references = [item.strip() for item in option.split(",") if item.strip()] if option else list(sync_tables)
    return [aliases.get(reference.lower(), reference) for reference in references]


def _view(state: WebhookState) -> dict[str, Any]:
    return WebhookView.from_state(state, time.time()).model_dump()


def _cloudformation_client(region: str | None) -> Any:
    import boto3  # noqa: PLC0415

    return boto3.client("cloudformation", region_name=region)


if __name__ == "__main__":
    sys.exit(main())
