"""Lambda handlers invoked in this process, as Lambda invokes them.

- A function runs one invocation at a time, as one Lambda execution environment does (powertools'
  event handlers keep the current event on the module-level app object, so two concurrent
  invocations of one handler would see each other's event). Different functions run concurrently.
- Every handler file is `app.py`, so each is imported under a name of its own, lazily, on its first
  invocation (Lambda's init phase; its time is not part of the invocation's duration or timeout). A
  failed import is reported as the invocation's error and tried again on the next invocation.
- The event reaches the handler as a copy decoded from JSON, and the result goes back through JSON,
  as through Lambda's Invoke API: a result JSON cannot carry is an error (`Runtime.MarshalError`), so
  is one larger than Lambda's 6 MB response limit (`Function.ResponseSizeTooLarge`).
- The context has what powertools and the handlers read: function_name, memory_limit_in_mb,
  invoked_function_arn, aws_request_id (a fresh uuid4), log_group_name, log_stream_name and
  get_remaining_time_in_millis() counting down from the function's Timeout.
- A handler cannot be stopped mid-way in this process. One that returns after its Timeout has passed
  is logged as a warning and its result kept: this machine (shared cores, dynalite for DynamoDB) is
  much slower than Lambda, so the deployed Timeout says little about a local run. With
  `enforce_timeouts=True` it is reported as Lambda reports it (`Sandbox.Timedout`, result dropped).
- A handler's exception never escapes `invoke`: it is logged with its traceback and returned as the
  error (`"ExceptionType: message"`), the payload being Lambda's error document.

`CURRENT_FUNCTION` names the function running in the current thread, for log prefixes.
"""

import decimal
import importlib.util
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from dev_stack.template import LOCAL_ACCOUNT_ID, FunctionDefinition, StackDefinition

logger = logging.getLogger("dev_stack.invoker")

CURRENT_FUNCTION: ContextVar[str | None] = ContextVar("dev_stack_current_function", default=None)
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation response limit
DEFAULT_REGION = "us-east-1"
HANDLER_MODULE_PREFIX = "dev_stack_handler"

type Handler = Callable[[Any, Any], Any]

# Handler imports one at a time, across invokers: two first invocations must not build one module
# twice, and two invokers must not pick the same module name.
_IMPORT_LOCK = threading.Lock()


@dataclass(frozen=True)
class InvocationResult:
    function: str
    payload: Any  # the handler's result through JSON; Lambda's error document when error is set
    error: str | None  # "ExceptionType: message" when the invocation failed
    duration_ms: float
    request_id: str = ""


class UnknownFunctionError(KeyError):
    """The stack has no function by that logical id (a caller's mistake, not a handler error)."""


class LocalLambdaContext:
    """The attributes of Lambda's Python context object that handlers and powertools use."""

    function_version = "$LATEST"
    identity = None
    client_context = None

    def __init__(
        self,
        *,
        function_name: str,
        memory_limit_in_mb: int,
        invoked_function_arn: str,
        aws_request_id: str,
        deadline: float,
        clock: Callable[[], float],
    ) -> None:
        self.function_name = function_name
        self.memory_limit_in_mb = memory_limit_in_mb
        self.invoked_function_arn = invoked_function_arn
        self.aws_request_id = aws_request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = deadline
        self._clock = clock

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))


class _InvocationError(Exception):
    """A failure Lambda reports with its own error type (Runtime.ImportModuleError, ...)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


class Invoker:
    def __init__(
        self,
        stack: StackDefinition,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = LOCAL_ACCOUNT_ID,
        clock: Callable[[], float] = time.monotonic,
        enforce_timeouts: bool = False,
    ) -> None:
        self._stack = stack
        self._region = region
        self._account_id = account_id
        self._clock = clock
        self._enforce_timeouts = enforce_timeouts
        self._function_locks = {name: threading.Lock() for name in stack.functions}
        self._handlers: dict[str, Handler] = {}

    def function_arn(self, function: str) -> str:
        return f"arn:aws:lambda:{self._region}:{self._account_id}:function:{function}"

    def invoke(
        self, function: str, event: Mapping[str, Any], *, request_id: str | None = None
    ) -> InvocationResult:
        """Run the handler on a copy of the event; `request_id` defaults to a fresh uuid4."""
        definition = self._stack.functions.get(function)
        if definition is None:
            raise UnknownFunctionError(f"the stack has no function {function}")
        event_copy = json.loads(json.dumps(event))  # TypeError for an event JSON cannot carry: a caller bug
        with self._function_locks[function]:
            token = CURRENT_FUNCTION.set(function)
            try:
                return self._invoke(definition, event_copy, request_id or str(uuid.uuid4()))
            finally:
                CURRENT_FUNCTION.reset(token)

    def _invoke(self, definition: FunctionDefinition, event: Any, request_id: str) -> InvocationResult:
        function = definition.logical_id
        try:
            handler = self._handler(definition)
        except _InvocationError as error:
            logger.error("%s could not start: %s: %s", function, error.error_type, error.message)
            return self._failure(function, request_id, error.error_type, error.message, [], 0.0)
        started = self._clock()
        context = LocalLambdaContext(
            function_name=function,
            memory_limit_in_mb=definition.memory_mb,
            invoked_function_arn=self.function_arn(function),
            aws_request_id=request_id,
            deadline=started + definition.timeout_seconds,
            clock=self._clock,
        )
        try:
            result = handler(event, context)
        except Exception as error:  # a handler's failure is the invocation's result, as in Lambda
            duration_ms = (self._clock() - started) * 1000
            logger.error("%s failed (request %s)", function, request_id, exc_info=True)
            stack_trace = traceback.format_tb(error.__traceback__)
            return self._failure(
                function, request_id, type(error).__name__, str(error), stack_trace, duration_ms
            )
        duration_ms = (self._clock() - started) * 1000
        if duration_ms > definition.timeout_seconds * 1000:
            message = f"Task timed out after {duration_ms / 1000:.2f} seconds"
            if self._enforce_timeouts:
                logger.error("%s: %s (request %s); its result is dropped", function, message, request_id)
                return self._failure(function, request_id, "Sandbox.Timedout", message, [], duration_ms)
            logger.warning(
                "%s ran %.2f s, past its %d s Timeout: Lambda would have stopped it (request %s)",
                function,
                duration_ms / 1000,
                definition.timeout_seconds,
                request_id,
            )
        try:
            text = json.dumps(result, default=_json_default)
        except (TypeError, ValueError) as error:
            message = f"Unable to marshal response: {error}"
            logger.error("%s returned a result JSON cannot carry: %s", function, error)
            return self._failure(function, request_id, "Runtime.MarshalError", message, [], duration_ms)
        if len(text.encode("utf-8")) > MAX_RESPONSE_BYTES:
            message = (
                f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            )
            logger.error("%s: %s", function, message)
            return self._failure(
                function, request_id, "Function.ResponseSizeTooLarge", message, [], duration_ms
            )
        logger.debug("%s done in %.1f ms (request %s)", function, duration_ms, request_id)
        return InvocationResult(function, json.loads(text), None, duration_ms, request_id)

    @staticmethod
    def _failure(
        function: str,
        request_id: str,
        error_type: str,
        message: str,
        stack_trace: list[str],
        duration_ms: float,
    ) -> InvocationResult:
        document = {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": request_id,
            "stackTrace": stack_trace,
        }
        return InvocationResult(function, document, f"{error_type}: {message}", duration_ms, request_id)

    def _handler(self, definition: FunctionDefinition) -> Handler:
        with _IMPORT_LOCK:
            handler = self._handlers.get(definition.logical_id)
            if handler is None:
                handler = _import_handler(definition)
                self._handlers[definition.logical_id] = handler
            return handler


def _import_handler(definition: FunctionDefinition) -> Handler:
    module_path, _, attribute = definition.handler.rpartition(".")
    source = definition.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
    if not source.is_file():
        raise _InvocationError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_path}': no file {source}"
        )
    module_name = base_name = (
        f"{HANDLER_MODULE_PREFIX}_{definition.logical_id}_{module_path.replace('.', '_')}"
    )
    copies = 1
    while module_name in sys.modules:  # another Invoker (a test's, say) imported this function already
        copies += 1
        module_name = f"{base_name}_{copies}"
    module = _load_module(module_name, source, module_path)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise _InvocationError(
            "Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_path}'"
        )
    return handler  # type: ignore[no-any-return]


def _load_module(module_name: str, source: Path, module_path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, source)
    if spec is None or spec.loader is None:
        raise _InvocationError("Runtime.ImportModuleError", f"Unable to import module '{module_path}'")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import does: pydantic and dataclasses look their module up.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        logger.error("importing %s failed", source, exc_info=True)
        if isinstance(error, ImportError | SyntaxError):
            raise _InvocationError(
                "Runtime.ImportModuleError", f"Unable to import module '{module_path}': {error}"
            ) from None
        raise _InvocationError(type(error).__name__, str(error)) from None
    return module


def _json_default(value: Any) -> Any:
    # Lambda's Python runtime encodes Decimal (what boto3's DynamoDB resources return) as a number.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
