"""template.yaml read as the local stack needs it: functions, HTTP routes, queues, SQS sources, schedules.

The local stack takes everything it runs from the SAM template, so it cannot drift from the deployed
stack: a route, a queue, a schedule or an environment variable added to the template appears locally
with no other change. What the template says is kept as data; `resolve_environment` turns a
function's variables into strings with the values the local stack supplies for the resources
(`references`), and fails loudly, naming the function and variable, when it cannot.

CloudFormation's short-form tags (`!Ref X`, `!GetAtt A.B`, `!Sub ...`, `!If [...]`, ...) load as the
long form (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": ...}`, `{"Fn::If": [...]}`), as
CloudFormation itself reads them. SAM's defaults that matter here: an SQS event's BatchSize is 10, a
queue's VisibilityTimeout 30 s, a function's Timeout 3 s and MemorySize 128 MB.
"""

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger("dev_stack.template")

FUNCTION_TYPE = "AWS::Serverless::Function"
QUEUE_TYPE = "AWS::SQS::Queue"
TABLE_TYPE = "AWS::DynamoDB::Table"
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
DEFAULT_ROUTE = "$default"
LOCAL_ACCOUNT_ID = "123456789012"

SAM_DEFAULT_TIMEOUT_SECONDS = 3
SAM_DEFAULT_MEMORY_MB = 128
SQS_DEFAULT_BATCH_SIZE = 10
SQS_DEFAULT_VISIBILITY_TIMEOUT = 30

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(ValueError):
    """template.yaml says something the local stack cannot run, or says it in a way it cannot read."""


class UnresolvedReferenceError(TemplateError):
    """A function's environment refers to something the local stack gave no value for."""


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case; ANY matches every method
    path: str  # as in the template: /records/{record_id}, /files/{proxy+}, or $default
    function: str  # the function's logical id

    @property
    def route_key(self) -> str:
        """API Gateway's routeKey: `GET /records/{record_id}`, or `$default`."""
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


@dataclass(frozen=True)
class QueueDefinition:
    logical_id: str
    fifo: bool
    visibility_timeout: int
    dead_letter_queue: str | None  # logical id of the redrive target
    max_receive_count: int | None
    message_retention_seconds: int | None
    content_based_deduplication: bool = False
    delay_seconds: int = 0


@dataclass(frozen=True)
class SqsSource:
    function: str
    queue: str  # the queue's logical id
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool = True
    maximum_batching_window_seconds: int = 0


@dataclass(frozen=True)
class ScheduleRule:
    function: str
    name: str  # the event's key in the template: FullSync, Daily
    expression: str  # resolved: rate(6 hours), cron(0 3 * * ? *)
    enabled: bool
    description: str
    input: str | None = None  # the event's Input: this JSON text replaces the Scheduled Event


@dataclass(frozen=True)
class FunctionDefinition:
    logical_id: str
    code_dir: Path
    handler: str  # module.function, as in the template
    timeout_seconds: int
    memory_mb: int
    has_function_url: bool
    environment: Mapping[str, Any]  # Globals merged with the function's; intrinsics unresolved


@dataclass(frozen=True)
class StackDefinition:
    functions: Mapping[str, FunctionDefinition]
    routes: Sequence[HttpRoute]
    queues: Mapping[str, QueueDefinition]
    sqs_sources: Sequence[SqsSource]
    schedules: Sequence[ScheduleRule]
    table_logical_id: str
    parameters: Mapping[str, str]  # defaults merged with overrides
    # Below: what resolve_environment needs besides the above, and what the local stack cannot run.
    conditions: Mapping[str, Any] = field(default_factory=dict)
    resource_types: Mapping[str, str] = field(default_factory=dict)
    declared_parameters: frozenset[str] = frozenset()
    unsupported_events: Sequence[str] = ()  # "Function.Event (Type)"
    template: Mapping[str, Any] = field(default_factory=dict)  # the whole document, as loaded

    @property
    def table_properties(self) -> Mapping[str, Any]:
        """The mirror table's Properties, as the template writes them (CreateTable's arguments)."""
        properties: Mapping[str, Any] = self.template["Resources"][self.table_logical_id]["Properties"]
        return properties


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader reading CloudFormation's short-form tags as their long form."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # `!GetAtt A.B.C` is ["A", "B.C"]: the logical id never has a dot, an attribute may.
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


def _construct_timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # CloudFormation keeps an unquoted 2010-09-09 as text; PyYAML would make it a date.
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)
CloudFormationLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


def load_template(template_path: Path) -> dict[str, Any]:
    """The template as data, short-form tags in their long form."""
    try:
        with template_path.open(encoding="utf-8") as stream:
            document = yaml.load(stream, Loader=CloudFormationLoader)  # noqa: S506 - a SafeLoader
    except OSError as error:
        raise TemplateError(f"cannot read {template_path}: {error}") from None
    except yaml.YAMLError as error:
        raise TemplateError(f"{template_path} is not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{template_path} has no Resources mapping")
    return document


def load_stack(template_path: Path, parameter_overrides: Mapping[str, str] = {}) -> StackDefinition:
    """What the local stack runs, from template.yaml and parameter overrides (as `sam deploy` takes)."""
    document = load_template(template_path)
    resources: dict[str, Any] = document["Resources"]
    declared = _mapping(document.get("Parameters") or {}, "Parameters")
    parameters = _parameter_values(declared, parameter_overrides)
    context = _LoadContext(parameters, resources)
    globals_ = _mapping(_mapping(document.get("Globals") or {}, "Globals").get("Function") or {}, "Globals")

    functions: dict[str, FunctionDefinition] = {}
    routes: list[HttpRoute] = []
    sqs_sources: list[SqsSource] = []
    schedules: list[ScheduleRule] = []
    unsupported: list[str] = []
    queues: dict[str, QueueDefinition] = {}
    tables: list[str] = []
    for logical_id, resource in resources.items():
        resource_type = resource.get("Type") if isinstance(resource, dict) else None
        if resource_type == FUNCTION_TYPE:
            properties = _mapping(resource.get("Properties") or {}, f"{logical_id}.Properties")
            functions[logical_id] = _function(logical_id, properties, globals_, template_path.parent, context)
            for event_name, event in _mapping(properties.get("Events") or {}, f"{logical_id}.Events").items():
                where = f"{logical_id}.Events.{event_name}"
                event_type = _mapping(event, where).get("Type")
                event_properties = _mapping(event.get("Properties") or {}, f"{where}.Properties")
                if event_type == "HttpApi":
                    routes.append(_route(logical_id, event_properties, where, context))
                elif event_type == "SQS":
                    sqs_sources.append(_sqs_source(logical_id, event_properties, where, context))
                elif event_type in ("Schedule", "ScheduleV2"):
                    schedules.append(_schedule(logical_id, event_name, event_type, event_properties, context))
                else:
                    unsupported.append(f"{logical_id}.{event_name} ({event_type})")
        elif resource_type == QUEUE_TYPE:
            properties = _mapping(resource.get("Properties") or {}, f"{logical_id}.Properties")
            queues[logical_id] = _queue(logical_id, properties, context)
        elif resource_type == TABLE_TYPE:
            tables.append(logical_id)

    if len(tables) != 1:
        raise TemplateError(f"expected exactly one {TABLE_TYPE} in the template, found {len(tables)}")
    _check_routes_are_distinct(routes)
    for source in sqs_sources:
        if source.queue not in queues:
            raise TemplateError(f"{source.function}'s SQS event reads {source.queue}, which is not a queue")
    for queue in queues.values():
        if queue.dead_letter_queue is not None and queue.dead_letter_queue not in queues:
            raise TemplateError(
                f"{queue.logical_id}'s dead-letter target {queue.dead_letter_queue} is not a queue"
            )
    for description in unsupported:
        logger.warning("template event %s is not run by the local stack", description)
    return StackDefinition(
        functions=functions,
        routes=tuple(routes),
        queues=queues,
        sqs_sources=tuple(sqs_sources),
        schedules=tuple(schedules),
        table_logical_id=tables[0],
        parameters=parameters,
        conditions=_mapping(document.get("Conditions") or {}, "Conditions"),
        resource_types={
            logical_id: str(resource.get("Type"))
            for logical_id, resource in resources.items()
            if isinstance(resource, dict)
        },
        declared_parameters=frozenset(declared),
        unsupported_events=tuple(unsupported),
        template=document,
    )


def pseudo_parameters(
    stack_name: str, region: str, account_id: str = LOCAL_ACCOUNT_ID
) -> dict[str, str | None]:
    """The AWS:: pseudo parameters, as `references` entries for resolve_environment."""
    return {
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
    }


def resolve_environment(
    stack: StackDefinition, function: str, references: Mapping[str, str | None]
) -> dict[str, str]:
    """The function's environment as strings.

    `!Ref Parameter` takes the parameter's value, `!Ref Resource` takes ``references[logical id]``,
    `!GetAtt X.Y` takes ``references["X.Y"]``, and `!Sub` substitutes both and the pseudo parameters
    (``references["AWS::StackName"]``, ...). ``references`` wins over a parameter's value, so the local
    stack can replace one. A variable whose value resolves to None (``references`` maps it to None,
    or `AWS::NoValue`) is left out. Anything else unresolvable raises UnresolvedReferenceError naming
    the function and the variable, so a new variable in the template cannot go unnoticed locally.
    """
    definition = stack.functions.get(function)
    if definition is None:
        raise TemplateError(f"the template has no function {function}")
    environment: dict[str, str] = {}
    for variable, value in definition.environment.items():
        resolver = _Resolver(stack, references, where=f"{function} environment variable {variable}")
        resolved = resolver.resolve(value)
        if resolved is None:
            continue
        environment[variable] = _as_text(resolved, resolver.where)
    return environment


# --- loading -------------------------------------------------------------------------------------


class _LoadContext:
    """Resolves what the loader must know at load time: parameters and conditions, never resources."""

    def __init__(self, parameters: Mapping[str, str], resources: Mapping[str, Any]) -> None:
        self.parameters = parameters
        self.resources = resources

    def value(self, value: Any, where: str) -> Any:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            name = value["Ref"]
            if name in self.parameters:
                return self.parameters[name]
            raise TemplateError(f"{where}: !Ref {name} must be a parameter with a value to run locally")
        if isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith("Fn::"):
            raise TemplateError(f"{where}: {next(iter(value))} is not supported here by the local stack")
        return value

    def integer(self, value: Any, where: str, default: int) -> int:
        resolved = self.value(value, where) if value is not None else default
        try:
            return int(resolved)
        except (TypeError, ValueError):
            raise TemplateError(f"{where}: expected a whole number, got {resolved!r}") from None

    def text(self, value: Any, where: str) -> str:
        resolved = self.value(value, where)
        if not isinstance(resolved, str | int | float) or isinstance(resolved, bool):
            raise TemplateError(f"{where}: expected text, got {resolved!r}")
        return str(resolved)

    def flag(self, value: Any, where: str, default: bool) -> bool:
        if value is None:
            return default
        resolved = self.value(value, where)
        if isinstance(resolved, bool):
            return resolved
        if isinstance(resolved, str) and resolved.lower() in ("true", "false"):
            return resolved.lower() == "true"
        raise TemplateError(f"{where}: expected true or false, got {resolved!r}")

    def logical_id_of_arn(self, value: Any, where: str) -> str:
        """`!GetAtt Queue.Arn` (or `!Ref Queue`) → Queue; a literal ARN cannot be run locally."""
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            if isinstance(target, list) and len(target) == 2 and target[1] == "Arn":
                return str(target[0])
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in self.resources:
            return str(value["Ref"])
        raise TemplateError(f"{where}: expected !GetAtt <resource>.Arn, got {value!r}")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TemplateError(f"{where}: expected a mapping, got {value!r}")
    return value


def _parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"unknown template parameter(s): {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, declaration in declared.items():
        spec = _mapping(declaration, f"Parameters.{name}")
        if name in overrides:
            value = str(overrides[name])
        elif "Default" in spec:
            value = _parameter_text(spec["Default"])
        else:
            continue
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in [_parameter_text(option) for option in allowed]:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and name in overrides and not re.fullmatch(str(pattern), value):
            raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")
        values[name] = value
    return values


def _parameter_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _function(
    logical_id: str,
    properties: Mapping[str, Any],
    globals_: Mapping[str, Any],
    root: Path,
    context: _LoadContext,
) -> FunctionDefinition:
    def setting(name: str) -> Any:
        return properties.get(name, globals_.get(name))

    code_uri = setting("CodeUri")
    if not isinstance(code_uri, str):
        raise TemplateError(f"{logical_id}: CodeUri must be a local folder to run locally, got {code_uri!r}")
    code_dir = (root / code_uri).resolve()
    if not code_dir.is_dir():
        raise TemplateError(f"{logical_id}: CodeUri {code_uri} is not a folder next to the template")
    handler = setting("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id}: Handler must be module.function, got {handler!r}")
    environment: dict[str, Any] = {}
    for source in (globals_, properties):
        variables = _mapping(source.get("Environment") or {}, f"{logical_id}.Environment").get("Variables")
        environment.update(_mapping(variables or {}, f"{logical_id}.Environment.Variables"))
    return FunctionDefinition(
        logical_id=logical_id,
        code_dir=code_dir,
        handler=handler,
        timeout_seconds=context.integer(
            setting("Timeout"), f"{logical_id}.Timeout", SAM_DEFAULT_TIMEOUT_SECONDS
        ),
        memory_mb=context.integer(setting("MemorySize"), f"{logical_id}.MemorySize", SAM_DEFAULT_MEMORY_MB),
        has_function_url=setting("FunctionUrlConfig") is not None,
        environment=environment,
    )


def _route(function: str, properties: Mapping[str, Any], where: str, context: _LoadContext) -> HttpRoute:
    if "Path" not in properties and "Method" not in properties:
        # SAM: an HttpApi event without Path and Method is the API's $default route.
        return HttpRoute(method="ANY", path=DEFAULT_ROUTE, function=function)
    path = context.text(properties.get("Path"), f"{where}.Path")
    method = context.text(properties.get("Method"), f"{where}.Method").upper()
    if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
        method = "ANY"
    if method not in HTTP_METHODS:
        raise TemplateError(f"{where}: unknown HTTP method {method}")
    if not path.startswith("/"):
        raise TemplateError(f"{where}: the path must start with /, got {path!r}")
    greedy = [segment for segment in path.split("/") if segment.endswith("+}")]
    if greedy and not path.endswith("+}"):
        raise TemplateError(f"{where}: a greedy path variable must end the path, got {path!r}")
    return HttpRoute(method=method, path=path, function=function)


def _sqs_source(function: str, properties: Mapping[str, Any], where: str, context: _LoadContext) -> SqsSource:
    response_types = properties.get("FunctionResponseTypes") or []
    return SqsSource(
        function=function,
        queue=context.logical_id_of_arn(properties.get("Queue"), f"{where}.Queue"),
        batch_size=context.integer(properties.get("BatchSize"), f"{where}.BatchSize", SQS_DEFAULT_BATCH_SIZE),
        report_batch_item_failures="ReportBatchItemFailures" in response_types,
        enabled=context.flag(properties.get("Enabled"), f"{where}.Enabled", default=True),
        maximum_batching_window_seconds=context.integer(
            properties.get("MaximumBatchingWindowInSeconds"), f"{where}.MaximumBatchingWindowInSeconds", 0
        ),
    )


def _schedule(
    function: str, name: str, event_type: str, properties: Mapping[str, Any], context: _LoadContext
) -> ScheduleRule:
    where = f"{function}.Events.{name}"
    expression_key = "Schedule" if event_type == "Schedule" else "ScheduleExpression"
    expression = context.text(properties.get(expression_key), f"{where}.{expression_key}")
    state = properties.get("State")
    if state is not None:
        enabled = context.text(state, f"{where}.State").upper() == "ENABLED"
    else:
        enabled = context.flag(properties.get("Enabled"), f"{where}.Enabled", default=True)
    description = properties.get("Description")
    input_text = properties.get("Input")
    return ScheduleRule(
        function=function,
        name=name,
        expression=expression,
        enabled=enabled,
        description=context.text(description, f"{where}.Description") if description is not None else "",
        input=context.text(input_text, f"{where}.Input") if input_text is not None else None,
    )


def _queue(logical_id: str, properties: Mapping[str, Any], context: _LoadContext) -> QueueDefinition:
    redrive = properties.get("RedrivePolicy")
    dead_letter_queue: str | None = None
    max_receive_count: int | None = None
    if redrive is not None:
        policy = _mapping(redrive, f"{logical_id}.RedrivePolicy")
        dead_letter_queue = context.logical_id_of_arn(
            policy.get("deadLetterTargetArn"), f"{logical_id}.RedrivePolicy.deadLetterTargetArn"
        )
        max_receive_count = context.integer(
            policy.get("maxReceiveCount"), f"{logical_id}.RedrivePolicy.maxReceiveCount", 10
        )
    retention = properties.get("MessageRetentionPeriod")
    return QueueDefinition(
        logical_id=logical_id,
        fifo=context.flag(properties.get("FifoQueue"), f"{logical_id}.FifoQueue", default=False),
        visibility_timeout=context.integer(
            properties.get("VisibilityTimeout"),
            f"{logical_id}.VisibilityTimeout",
            SQS_DEFAULT_VISIBILITY_TIMEOUT,
        ),
        dead_letter_queue=dead_letter_queue,
        max_receive_count=max_receive_count,
        message_retention_seconds=(
            context.integer(retention, f"{logical_id}.MessageRetentionPeriod", 0)
            if retention is not None
            else None
        ),
        content_based_deduplication=context.flag(
            properties.get("ContentBasedDeduplication"),
            f"{logical_id}.ContentBasedDeduplication",
            default=False,
        ),
        delay_seconds=context.integer(properties.get("DelaySeconds"), f"{logical_id}.DelaySeconds", 0),
    )


def _check_routes_are_distinct(routes: Iterable[HttpRoute]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for route in routes:
        # /a/{x} and /a/{y} are one route to API Gateway: variable names do not tell them apart.
        shape = re.sub(r"\{[^}]*?(\+?)\}", r"{\1}", route.path)
        key = (route.method, shape)
        if key in seen:
            raise TemplateError(
                f"route {route.method} {route.path} of {route.function} is also a route of {seen[key]}"
            )
        seen[key] = route.function


# --- resolving ----------------------------------------------------------------------------------


class _Resolver:
    def __init__(self, stack: StackDefinition, references: Mapping[str, str | None], where: str) -> None:
        self.stack = stack
        self.references = references
        self.where = where

    def fail(self, message: str) -> UnresolvedReferenceError:
        return UnresolvedReferenceError(f"{self.where}: {message}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(element) for element in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            raise self.fail(f"expected a value or one intrinsic function, got {value!r}")
        name, argument = next(iter(value.items()))
        if name == "Ref":
            return self.ref(str(argument))
        if name == "Condition":
            return self.condition(str(argument))
        method = (
            getattr(self, "fn_" + name.removeprefix("Fn::").lower(), None)
            if name.startswith("Fn::")
            else None
        )
        if method is None:
            raise self.fail(f"{name} is not supported by the local stack")
        return method(argument)

    def ref(self, name: str) -> str | None:
        if name == "AWS::NoValue":
            return None
        if name in self.references:
            return self.references[name]
        if name in self.stack.parameters:
            return self.stack.parameters[name]
        if name in self.stack.declared_parameters:
            raise self.fail(f"parameter {name} has no default and no override")
        if name.startswith("AWS::"):
            raise self.fail(f"no value for the pseudo parameter {name} (pass it in references)")
        if name in self.stack.resource_types:
            raise self.fail(f"no local value for the resource {name} (!Ref {name})")
        raise self.fail(f"!Ref {name} names no parameter or resource of the template")

    def get_att(self, resource: str, attribute: str) -> str | None:
        key = f"{resource}.{attribute}"
        if key in self.references:
            return self.references[key]
        if resource not in self.stack.resource_types:
            raise self.fail(f"!GetAtt {key} names no resource of the template")
        raise self.fail(f"no local value for !GetAtt {key}")

    def fn_getatt(self, argument: Any) -> str | None:
        if isinstance(argument, list) and len(argument) == 2:
            return self.get_att(str(argument[0]), str(self.resolve(argument[1])))
        raise self.fail(f"malformed Fn::GetAtt {argument!r}")

    def fn_sub(self, argument: Any) -> str | None:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text, variables = (
                str(argument[0]),
                {key: self.resolve(value) for key, value in argument[1].items()},
            )
        else:
            raise self.fail(f"malformed Fn::Sub {argument!r}")
        missing = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal missing
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} is the escape for a literal ${Literal}
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                value = self.get_att(resource, attribute)
            else:
                value = self.ref(name)
            if value is None:
                missing = True
                return ""
            return _as_text(value, self.where)

        result = _SUB_VARIABLE.sub(substitute, text)
        return None if missing else result

    def fn_join(self, argument: Any) -> str | None:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise self.fail(f"malformed Fn::Join {argument!r}")
        delimiter, items = str(argument[0]), self.resolve(argument[1])
        if not isinstance(items, list):
            raise self.fail(f"Fn::Join needs a list, got {items!r}")
        present = [item for item in items if item is not None]
        return delimiter.join(_as_text(item, self.where) for item in present)

    def fn_select(self, argument: Any) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise self.fail(f"malformed Fn::Select {argument!r}")
        index, items = self.resolve(argument[0]), self.resolve(argument[1])
        try:
            return items[int(index)]
        except (TypeError, ValueError, IndexError, KeyError):
            raise self.fail(f"Fn::Select index {index!r} is not in {items!r}") from None

    def fn_split(self, argument: Any) -> list[str]:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise self.fail(f"malformed Fn::Split {argument!r}")
        text = self.resolve(argument[1])
        if text is None:
            raise self.fail("Fn::Split of no value")
        return _as_text(text, self.where).split(str(argument[0]))

    def fn_if(self, argument: Any) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3):
            raise self.fail(f"malformed Fn::If {argument!r}")
        return self.resolve(argument[1] if self.condition(str(argument[0])) else argument[2])

    def fn_equals(self, argument: Any) -> bool:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise self.fail(f"malformed Fn::Equals {argument!r}")
        left, right = (self.resolve(element) for element in argument)
        return _parameter_text(left) == _parameter_text(right)

    def fn_not(self, argument: Any) -> bool:
        if not (isinstance(argument, list) and len(argument) == 1):
            raise self.fail(f"malformed Fn::Not {argument!r}")
        return not self.truth(argument[0])

    def fn_and(self, argument: Any) -> bool:
        return all(self.truth(element) for element in argument)

    def fn_or(self, argument: Any) -> bool:
        return any(self.truth(element) for element in argument)

    def truth(self, value: Any) -> bool:
        resolved = self.resolve(value)
        if not isinstance(resolved, bool):
            raise self.fail(f"expected a condition, got {resolved!r}")
        return resolved

    def condition(self, name: str) -> bool:
        if name not in self.stack.conditions:
            raise self.fail(f"no condition named {name}")
        return self.truth(self.stack.conditions[name])


def _as_text(value: Any, where: str) -> str:
    # CloudFormation passes numbers and booleans to Lambda as their text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise UnresolvedReferenceError(f"{where}: expected a text value, got {value!r}")
