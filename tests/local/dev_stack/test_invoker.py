"""dev_stack.invoker: handlers from their folders, invoked in-process as Lambda invokes them."""

import logging
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dev_stack.invoker import CURRENT_FUNCTION, MAX_RESPONSE_BYTES, Invoker, UnknownFunctionError
from dev_stack.template import FunctionDefinition, StackDefinition

COORDINATION_SOURCE = """\
import threading

now = 0.0
imports = 0
active = 0
peak = 0
counter_lock = threading.Lock()
entered = {}
release = threading.Event()
"""


@dataclass
class Functions:
    """Handler folders under tmp_path and a module they share with the test (clock, events, counters)."""

    root: Path
    coordination: ModuleType
    definitions: dict[str, FunctionDefinition]

    def add(self, name: str, source: str, *, timeout: int = 3, handler: str = "app.handler") -> None:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        text = f"import {self.coordination.__name__} as coordination\n" + textwrap.dedent(source)
        (folder / "app.py").write_text(text)
        self.definitions[name] = FunctionDefinition(
            logical_id=name,
            code_dir=folder,
            handler=handler,
            timeout_seconds=timeout,
            memory_mb=256,
            has_function_url=False,
            environment={},
        )

    def stack(self) -> StackDefinition:
        return StackDefinition(
            functions=dict(self.definitions),
            routes=(),
            queues={},
            sqs_sources=(),
            schedules=(),
            table_logical_id="Table",
            parameters={},
        )

    def invoker(self, **options: Any) -> Invoker:
        return Invoker(self.stack(), clock=lambda: float(self.coordination.now), **options)


@pytest.fixture
def functions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Functions]:
    name = f"coordination_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(COORDINATION_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    coordination = __import__(name)
    yield Functions(tmp_path, coordination, {})
    sys.modules.pop(name, None)


ECHO = """\
def handler(event, context):
    return {
        "event": event,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "remaining": context.get_remaining_time_in_millis(),
    }
"""


def test_the_handler_gets_the_event_and_a_lambda_context(functions: Functions) -> None:
    functions.add("Echo", ECHO, timeout=7)
    invoker = functions.invoker(region="eu-west-1", account_id="111122223333")
    result = invoker.invoke("Echo", {"hello": ["world", 1, None]})
    assert result.error is None and result.function == "Echo"
    payload = result.payload
    assert payload["event"] == {"hello": ["world", 1, None]}
    assert payload["function_name"] == "Echo"
    assert payload["memory_limit_in_mb"] == 256
    assert payload["invoked_function_arn"] == "arn:aws:lambda:eu-west-1:111122223333:function:Echo"
    assert payload["aws_request_id"] == result.request_id
    assert str(uuid.UUID(result.request_id)) == result.request_id
    assert payload["log_group_name"] == "/aws/lambda/Echo"
    assert payload["remaining"] == 7000  # the clock stood still: the whole Timeout is left
    assert invoker.invoke("Echo", {}).request_id != result.request_id


def test_the_remaining_time_counts_down_from_the_timeout(functions: Functions) -> None:
    functions.add(
        "Slow",
        """\
        def handler(event, context):
            coordination.now += 2.5
            return context.get_remaining_time_in_millis()
        """,
        timeout=10,
    )
    result = functions.invoker().invoke("Slow", {})
    assert (result.payload, result.error, result.duration_ms) == (7500, None, 2500.0)


def test_a_handler_returning_after_its_timeout_is_a_warning_or_with_enforcement_a_timeout(
    functions: Functions, caplog: pytest.LogCaptureFixture
) -> None:
    functions.add(
        "Overrun",
        """\
        def handler(event, context):
            coordination.now += 31
            return {"done": True, "remaining": context.get_remaining_time_in_millis()}
        """,
        timeout=30,
    )
    with caplog.at_level(logging.WARNING, logger="dev_stack.invoker"):
        lenient = functions.invoker().invoke("Overrun", {})
    assert lenient.error is None and lenient.payload == {"done": True, "remaining": 0}
    assert any("past its 30 s Timeout" in record.getMessage() for record in caplog.records)
    enforced = functions.invoker(enforce_timeouts=True).invoke("Overrun", {})
    assert enforced.error == "Sandbox.Timedout: Task timed out after 31.00 seconds"
    assert enforced.payload["errorType"] == "Sandbox.Timedout"


def test_the_event_is_a_copy(functions: Functions) -> None:
    functions.add(
        "Mutator",
        """\
        def handler(event, context):
            event["added"] = True
            event["nested"].append(2)
            return event
        """,
    )
    event: dict[str, Any] = {"nested": [1]}
    result = functions.invoker().invoke("Mutator", event)
    assert result.payload == {"nested": [1, 2], "added": True}
    assert event == {"nested": [1]}


def test_handlers_are_imported_on_first_use_once_each_under_a_name_of_their_own(functions: Functions) -> None:
    # Both files are app.py with a function of the same name, as every handler in functions/.
    functions.add("First", "coordination.imports += 1\ndef handler(event, context):\n    return 'first'\n")
    functions.add("Second", "coordination.imports += 1\ndef handler(event, context):\n    return 'second'\n")
    invoker = functions.invoker()
    assert functions.coordination.imports == 0
    assert invoker.invoke("First", {}).payload == "first"
    assert functions.coordination.imports == 1
    assert invoker.invoke("Second", {}).payload == "second"
    assert invoker.invoke("First", {}).payload == "first"
    assert functions.coordination.imports == 2


def test_a_handler_exception_is_the_result_never_raised(
    functions: Functions, caplog: pytest.LogCaptureFixture
) -> None:
    functions.add(
        "Failing",
        """\
        def handler(event, context):
            raise ValueError("boom " + event["why"])
        """,
    )
    with caplog.at_level(logging.ERROR, logger="dev_stack.invoker"):
        result = functions.invoker().invoke("Failing", {"why": "now"})
    assert result.error == "ValueError: boom now"
    assert result.payload["errorType"] == "ValueError"
    assert result.payload["errorMessage"] == "boom now"
    assert result.payload["requestId"] == result.request_id
    assert any('raise ValueError("boom " + event["why"])' in line for line in result.payload["stackTrace"])
    logged = [record for record in caplog.records if record.name == "dev_stack.invoker"]
    assert logged and logged[0].exc_info is not None and "Failing failed" in logged[0].getMessage()


def test_a_module_that_fails_to_import_is_an_error_and_is_retried(functions: Functions) -> None:
    functions.add("Broken", "def handler(event, context)\n    return 1\n")
    invoker = functions.invoker()
    result = invoker.invoke("Broken", {})
    assert result.error is not None and result.error.startswith(
        "Runtime.ImportModuleError: Unable to import module 'app'"
    )
    functions.add("Broken", "def handler(event, context):\n    return 'fixed'\n")
    assert invoker.invoke("Broken", {}).payload == "fixed"


def test_an_exception_while_importing_keeps_its_type(functions: Functions) -> None:
    functions.add("Raising", "raise RuntimeError('no configuration')\n")
    result = functions.invoker().invoke("Raising", {})
    assert result.error == "RuntimeError: no configuration"


def test_a_missing_handler_function_or_file_is_reported_as_lambda_reports_it(functions: Functions) -> None:
    functions.add("NoHandler", "def other(event, context):\n    return 1\n")
    functions.add("NoFile", "def handler(event, context):\n    return 1\n", handler="missing.handler")
    invoker = functions.invoker()
    assert invoker.invoke("NoHandler", {}).error == (
        "Runtime.HandlerNotFound: Handler 'handler' missing on module 'app'"
    )
    no_file = invoker.invoke("NoFile", {}).error
    assert no_file is not None and no_file.startswith(
        "Runtime.ImportModuleError: Unable to import module 'missing'"
    )


def test_results_go_through_json_as_through_lambda(functions: Functions) -> None:
    functions.add(
        "Results",
        """\
        import decimal
        import datetime

        def handler(event, context):
            if event["kind"] == "decimal":
                return {"whole": decimal.Decimal("3"), "part": decimal.Decimal("2.5"), "tuple": (1, 2)}
            if event["kind"] == "date":
                return {"when": datetime.date(2026, 1, 1)}
            return "x" * event["size"]
        """,
    )
    invoker = functions.invoker()
    assert invoker.invoke("Results", {"kind": "decimal"}).payload == {
        "whole": 3,
        "part": 2.5,
        "tuple": [1, 2],
    }
    date = invoker.invoke("Results", {"kind": "date"})
    assert date.error is not None and date.error.startswith(
        "Runtime.MarshalError: Unable to marshal response"
    )
    too_large = invoker.invoke("Results", {"kind": "size", "size": MAX_RESPONSE_BYTES})
    assert too_large.error is not None and too_large.error.startswith("Function.ResponseSizeTooLarge")
    assert invoker.invoke("Results", {"kind": "size", "size": 10}).payload == "x" * 10


def test_current_function_names_the_running_function(functions: Functions) -> None:
    functions.add(
        "Named",
        """\
        from dev_stack.invoker import CURRENT_FUNCTION

        def handler(event, context):
            return CURRENT_FUNCTION.get()
        """,
    )
    assert functions.invoker().invoke("Named", {}).payload == "Named"
    assert CURRENT_FUNCTION.get() is None


def test_an_unknown_function_is_the_callers_mistake(functions: Functions) -> None:
    with pytest.raises(UnknownFunctionError, match="no function Nope"):
        functions.invoker().invoke("Nope", {})


BLOCKING = """\
import threading

def handler(event, context):
    with coordination.counter_lock:
        coordination.active += 1
        coordination.peak = max(coordination.peak, coordination.active)
        coordination.entered.setdefault(event["caller"], threading.Event()).set()
    coordination.release.wait(30)
    with coordination.counter_lock:
        coordination.active -= 1
    return event["caller"]
"""


def entered(functions: Functions, caller: str) -> threading.Event:
    with functions.coordination.counter_lock:
        event: threading.Event = functions.coordination.entered.setdefault(caller, threading.Event())
        return event


def test_one_function_runs_one_invocation_at_a_time(functions: Functions) -> None:
    functions.add("Busy", BLOCKING)
    invoker = functions.invoker()
    results: dict[str, Any] = {}
    threads = [
        threading.Thread(target=lambda c=caller: results.setdefault(c, invoker.invoke("Busy", {"caller": c})))
        for caller in ("a", "b")
    ]
    threads[0].start()
    assert entered(functions, "a").wait(30)
    threads[1].start()
    # b must queue behind a: while a holds the function, b cannot have entered the handler.
    assert not entered(functions, "b").wait(0.3)
    functions.coordination.release.set()
    for thread in threads:
        thread.join(30)
    assert {caller: result.payload for caller, result in results.items()} == {"a": "a", "b": "b"}
    assert functions.coordination.peak == 1


def test_different_functions_run_at_the_same_time(functions: Functions) -> None:
    functions.add("Left", BLOCKING)
    functions.add("Right", BLOCKING)
    invoker = functions.invoker()
    threads = [
        threading.Thread(target=invoker.invoke, args=(name, {"caller": name})) for name in ("Left", "Right")
    ]
    for thread in threads:
        thread.start()
    both_inside = entered(functions, "Left").wait(30) and entered(functions, "Right").wait(30)
    functions.coordination.release.set()
    for thread in threads:
        thread.join(30)
    assert both_inside and functions.coordination.peak == 2


def test_an_event_json_cannot_carry_is_refused() -> None:
    stack = StackDefinition(
        functions={
            "Any": FunctionDefinition("Any", Path("."), "app.handler", 3, 128, False, {}),
        },
        routes=(),
        queues={},
        sqs_sources=(),
        schedules=(),
        table_logical_id="Table",
        parameters={},
    )
    with pytest.raises(TypeError):
        Invoker(stack).invoke("Any", {"when": object()})


def test_each_invoker_has_its_own_warm_module_like_its_own_container(functions: Functions) -> None:
    functions.add(
        "Counter",
        """\
        calls = 0

        def handler(event, context):
            global calls
            calls += 1
            return calls
        """,
    )
    first, second = functions.invoker(), functions.invoker()
    assert [first.invoke("Counter", {}).payload for _ in range(2)] == [1, 2]
    assert second.invoke("Counter", {}).payload == 1
    assert first.invoke("Counter", {}).payload == 3
