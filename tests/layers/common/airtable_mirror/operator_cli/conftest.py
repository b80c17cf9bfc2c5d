"""The CLI against the real handlers behind an HTTP server: the `stack` of tests/functions (emulator
demo base, moto DynamoDB and SQS) with a gateway in front, and the sync worker driven by the test."""

import copy
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from airtable_mirror.operator_cli.main import main
from functions.sync_worker import app as sync_worker_app
from tests.functions.conftest import FakeLambdaContext, Stack, load_event, stack
from tests.layers.common.airtable_mirror.operator_cli.http_gateway import Gateway, serve_gateway

__all__ = ["stack"]

# Little time left in each worker invocation: every slice hands over after one page, so a run of
# the 300 demo tasks takes three slices and the CLI sees it progress.
SLICE_CONTEXT = FakeLambdaContext(remaining_millis=30_000)


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Harness:
    stack: Stack
    gateway: Gateway
    dev_stack_file: str
    slices_run: int = 0
    sleeps: list[float] = field(default_factory=list)
    before_each_slice: Callable[[], None] | None = None

    def run_worker_slice(self, _seconds: float = 0.0) -> None:
        """The CLI's sleep between polls: deliver what the sync queue holds to the sync worker."""
        self.sleeps.append(_seconds)
        messages = self.stack.queued_messages()
        if not messages:
            return
        if self.before_each_slice is not None:
            self.before_each_slice()
        template = load_event("sync_worker_sqs.json")["Records"][0]
        records = []
        for index, body in enumerate(messages):
            record = copy.deepcopy(template)
            record["messageId"] = f"059f36b4-87a3-44ab-83d2-6619758{self.slices_run:03d}{index}"
            record["body"] = json.dumps(body)
            records.append(record)
        with self.gateway.lock:
            response = sync_worker_app.lambda_handler({"Records": records}, SLICE_CONTEXT)
        assert response == {"batchItemFailures": []}
        self.slices_run += 1

    def cli(self, *argv: str, **options: Any) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        options.setdefault("sleep", self.run_worker_slice)
        options.setdefault("interactive", False)
        environ = options.pop("environ", {})
        code = main(list(argv), out=out, err=err, environ=environ, **options)
        return CliResult(code, out.getvalue(), err.getvalue())

    def local(self, *argv: str, **options: Any) -> CliResult:
        """The CLI with its default target: the local stack's dev-stack.json."""
        return self.cli("--dev-stack", self.dev_stack_file, *argv, **options)


@pytest.fixture
def harness(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with serve_gateway() as gateway:
        dev_stack_file = tmp_path_factory.mktemp("local-data") / "dev-stack.json"
        dev_stack_file.write_text(json.dumps({"api_url": gateway.url, "function_url": None}))
        yield Harness(stack=stack, gateway=gateway, dev_stack_file=str(dev_stack_file))
