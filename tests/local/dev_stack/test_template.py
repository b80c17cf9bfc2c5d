"""dev_stack.template against the real template.yaml (and small templates for what it does not use)."""

import re
from pathlib import Path
from typing import Any

import pytest

from dev_stack.template import (
    HttpRoute,
    ScheduleRule,
    SqsSource,
    StackDefinition,
    TemplateError,
    UnresolvedReferenceError,
    load_stack,
    load_template,
    pseudo_parameters,
    resolve_environment,
)
from tests.support.dynamodb import TEMPLATE_PATH, CloudFormationTag
from tests.support.dynamodb import load_template as load_template_independently

BASE_ID = "appDEMO0000000001"
REQUIRED = {"AirtableBaseId": BASE_ID}


def local_references(**overrides: str | None) -> dict[str, str | None]:
    references: dict[str, str | None] = {
        "MirrorTable": "airtable-mirror-local",
        "SyncQueue": "http://sqs.local/queue/SyncQueue",
        "WebhookQueue": "http://sqs.local/queue/WebhookQueue.fifo",
        "AirtableTokenSecretArn": None,
        "RecordsCursorSigningSecret": None,
        "WebhookPushSecret": None,
        **pseudo_parameters("airtable-mirror", "us-east-1"),
    }
    references.update(overrides)
    return references


@pytest.fixture(scope="module")
def stack() -> StackDefinition:
    return load_stack(TEMPLATE_PATH, REQUIRED)


def http_api_events_in_template() -> set[tuple[str, str, str]]:
    """Every HttpApi event of every function, read by the tests' own YAML loader."""
    found: set[tuple[str, str, str]] = set()
    for logical_id, resource in load_template_independently()["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                found.add((event["Properties"]["Method"].upper(), event["Properties"]["Path"], logical_id))
    return found


def test_every_http_api_route_of_every_function_is_served(stack: StackDefinition) -> None:
    routes = {(route.method, route.path, route.function) for route in stack.routes}
    assert routes == http_api_events_in_template()
    assert HttpRoute("GET", "/records/{record_id}", "RecordsFunction") in stack.routes
    assert HttpRoute("POST", "/sync/{table}", "SyncApiFunction") in stack.routes
    assert HttpRoute("GET", "/webhooks", "WebhookStatusFunction") in stack.routes
    assert HttpRoute("GET", "/records/{record_id}", "RecordsFunction").route_key == "GET /records/{record_id}"


def test_functions_take_code_handler_timeout_and_memory_from_the_function_or_globals(
    stack: StackDefinition,
) -> None:
    template_functions = {
        name
        for name, resource in load_template_independently()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert set(stack.functions) == template_functions
    for definition in stack.functions.values():
        module, _, _ = definition.handler.rpartition(".")
        assert (definition.code_dir / f"{module}.py").is_file(), definition.logical_id
    worker, records, sync_api = (
        stack.functions["SyncWorkerFunction"],
        stack.functions["RecordsFunction"],
        stack.functions["SyncApiFunction"],
    )
    assert (worker.timeout_seconds, worker.memory_mb) == (900, 1769)
    assert (records.timeout_seconds, records.memory_mb) == (10, 512)  # memory from Globals
    assert (sync_api.timeout_seconds, sync_api.memory_mb) == (30, 512)  # both from Globals
    assert records.code_dir == TEMPLATE_PATH.parent / "functions" / "records"
    assert records.handler == "app.lambda_handler"


def test_only_the_webhook_receiver_has_a_function_url(stack: StackDefinition) -> None:
    assert [name for name, definition in stack.functions.items() if definition.has_function_url] == [
        "WebhookFunction"
    ]


def test_sqs_sources_and_queues(stack: StackDefinition) -> None:
    assert set(stack.sqs_sources) == {
        SqsSource("SyncWorkerFunction", "SyncQueue", batch_size=1, report_batch_item_failures=True),
        SqsSource("WebhookWorkerFunction", "WebhookQueue", batch_size=10, report_batch_item_failures=True),
    }
    sync_queue, webhook_queue = stack.queues["SyncQueue"], stack.queues["WebhookQueue"]
    assert (sync_queue.fifo, sync_queue.visibility_timeout) == (False, 960)
    assert (sync_queue.dead_letter_queue, sync_queue.max_receive_count) == ("SyncDeadLetterQueue", 5)
    assert (webhook_queue.fifo, webhook_queue.visibility_timeout) == (True, 360)
    assert (webhook_queue.dead_letter_queue, webhook_queue.content_based_deduplication) == (
        "WebhookDeadLetterQueue",
        False,
    )
    dead_letters = stack.queues["WebhookDeadLetterQueue"]
    assert (dead_letters.fifo, dead_letters.message_retention_seconds) == (True, 1209600)
    assert dead_letters.dead_letter_queue is None and dead_letters.max_receive_count is None
    assert stack.queues["SyncDeadLetterQueue"].visibility_timeout == 30  # SQS's default


def test_both_schedules_with_their_resolved_expressions(stack: StackDefinition) -> None:
    assert set(stack.schedules) == {
        ScheduleRule(
            function="SyncScheduleFunction",
            name="FullSync",
            expression="rate(6 hours)",
            enabled=True,
            description="Full sync of the configured tables",
        ),
        ScheduleRule(
            function="WebhookMaintenanceFunction",
            name="Daily",
            expression="rate(1 day)",
            enabled=True,
            description="Refresh the webhooks (7-day expiry), re-enable their pings, repair broken ones",
        ),
    }


def test_parameter_overrides_change_the_schedule() -> None:
    stack = load_stack(
        TEMPLATE_PATH, REQUIRED | {"SyncSchedule": "rate(5 minutes)", "SyncScheduleState": "DISABLED"}
    )
    full_sync = next(rule for rule in stack.schedules if rule.name == "FullSync")
    assert (full_sync.expression, full_sync.enabled) == ("rate(5 minutes)", False)


def test_parameters_are_defaults_merged_with_overrides(stack: StackDefinition) -> None:
    assert stack.parameters["AirtableBaseId"] == BASE_ID
    assert stack.parameters["AirtableRequestsPerSecond"] == "5"  # a Number default, as text
    assert stack.parameters["TableAliases"] == "people=People,tasks=Tasks"
    assert "AirtableTokenSecretArn" not in stack.parameters  # no default, no override
    assert stack.table_logical_id == "MirrorTable"
    assert stack.table_properties["KeySchema"][0] == {"AttributeName": "pk", "KeyType": "HASH"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"NoSuchParameter": "x"}, "unknown template parameter(s): NoSuchParameter"),
        ({"SyncScheduleState": "SOMETIMES"}, "SyncScheduleState='SOMETIMES' is not one of"),
        ({"AirtableBaseId": "not-a-base"}, "does not match"),
    ],
)
def test_bad_parameter_overrides_are_refused(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        load_stack(TEMPLATE_PATH, REQUIRED | overrides)


def test_environment_resolves_parameters_resources_and_subs(stack: StackDefinition) -> None:
    receiver = resolve_environment(stack, "WebhookFunction", local_references())
    assert receiver["MIRROR_TABLE_NAME"] == "airtable-mirror-local"  # !Ref MirrorTable
    assert receiver["AIRTABLE_BASE_ID"] == BASE_ID  # !Ref parameter
    assert receiver["AIRTABLE_REQUESTS_PER_SECOND"] == "5"
    assert receiver["SYNC_QUEUE_URL"] == "http://sqs.local/queue/SyncQueue"  # Globals
    assert receiver["WEBHOOK_QUEUE_URL"] == "http://sqs.local/queue/WebhookQueue.fifo"  # the function's own
    assert receiver["WEBHOOK_MAC_PREFIX"] == "airtable-mirror/webhooks/"  # !Sub ${AWS::StackName}
    assert receiver["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    # references mapping to None leave the variable out: no Secrets Manager locally
    assert "WEBHOOK_PUSH_SECRET" not in receiver
    assert "AIRTABLE_TOKEN_SECRET" not in receiver
    worker = resolve_environment(stack, "SyncWorkerFunction", local_references())
    assert worker["SYNC_HANDOVER_MARGIN_SECONDS"] == "120"
    assert "WEBHOOK_QUEUE_URL" not in worker


def test_every_function_resolves_with_the_local_references(stack: StackDefinition) -> None:
    for function in stack.functions:
        environment = resolve_environment(stack, function, local_references())
        assert environment["MIRROR_TABLE_NAME"] == "airtable-mirror-local"
        assert all(isinstance(value, str) for value in environment.values())


def test_an_unresolvable_reference_names_the_function_and_the_variable(stack: StackDefinition) -> None:
    references = local_references()
    del references["WebhookQueue"]
    with pytest.raises(UnresolvedReferenceError) as raised:
        resolve_environment(stack, "WebhookWorkerFunction", references)
    message = str(raised.value)
    assert "WebhookWorkerFunction" in message and "WEBHOOK_QUEUE_URL" in message and "WebhookQueue" in message


def test_a_parameter_without_a_value_is_an_error_unless_references_drop_it(stack: StackDefinition) -> None:
    references = local_references()
    del references["AirtableTokenSecretArn"]
    with pytest.raises(UnresolvedReferenceError, match=r"AIRTABLE_TOKEN_SECRET.*AirtableTokenSecretArn"):
        resolve_environment(stack, "SyncApiFunction", references)


def test_a_missing_pseudo_parameter_is_an_error(stack: StackDefinition) -> None:
    references = local_references()
    del references["AWS::StackName"]
    with pytest.raises(UnresolvedReferenceError, match=r"WEBHOOK_MAC_PREFIX.*AWS::StackName"):
        resolve_environment(stack, "WebhookFunction", references)


def test_an_unknown_function_is_an_error(stack: StackDefinition) -> None:
    with pytest.raises(TemplateError, match="no function NoSuchFunction"):
        resolve_environment(stack, "NoSuchFunction", local_references())


def test_the_projects_own_loader_and_this_one_agree_on_the_table(stack: StackDefinition) -> None:
    independent = load_template_independently()["Resources"]["MirrorTable"]["Properties"]
    assert stack.table_properties["AttributeDefinitions"] == independent["AttributeDefinitions"]
    tags = independent["Tags"][0]["Value"]
    assert isinstance(tags, CloudFormationTag) and tags.value == "AWS::StackName"
    assert stack.table_properties["Tags"][0]["Value"] == {"Ref": "AWS::StackName"}


# --- small templates ---------------------------------------------------------------------------

HEADER = """\
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  Names:
    Type: CommaDelimitedList
    Default: 'a,b,c'
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsNotProd: !Not [!Condition IsProd]
  Both: !And [!Condition IsNotProd, !Or [!Equals [a, a], !Equals [a, b]]]
"""

TABLE = """\
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
"""


def write_template(tmp_path: Path, resources: str, header: str = HEADER) -> Path:
    code = tmp_path / "fn"
    code.mkdir(exist_ok=True)
    (code / "app.py").write_text("def handler(event, context):\n    return event\n")
    path = tmp_path / "template.yaml"
    path.write_text(header + "Resources:\n" + TABLE + resources)
    return path


def function(environment: str = "", events: str = "", extra: str = "") -> str:
    text = """\
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
"""
    text += extra
    if environment:
        text += "      Environment:\n        Variables:\n" + environment
    if events:
        text += "      Events:\n" + events
    return text


def test_short_form_tags_load_as_their_long_form(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        function(
            environment="""\
          REF: !Ref Table
          ATT: !GetAtt Table.StreamArn
          ATT_DOTTED: !GetAtt Table.Nested.Attribute
          SUB: !Sub '${AWS::Region}-${Table}'
          SUB_VARS: !Sub ['${x}', {x: !Ref Stage}]
          IF: !If [IsProd, a, b]
          SELECT: !Select [1, !Split [',', 'x,y']]
          JOIN: !Join ['-', [a, !Ref Stage]]
          B64: !Base64 text
          MAP: !FindInMap [M, k, v]
"""
        ),
    )
    document: dict[str, Any] = load_template(path)
    assert document["AWSTemplateFormatVersion"] == "2010-09-09"  # text, not a date
    variables = document["Resources"]["Fn"]["Properties"]["Environment"]["Variables"]
    assert variables["REF"] == {"Ref": "Table"}
    assert variables["ATT"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert variables["ATT_DOTTED"] == {"Fn::GetAtt": ["Table", "Nested.Attribute"]}
    assert variables["SUB"] == {"Fn::Sub": "${AWS::Region}-${Table}"}
    assert variables["SUB_VARS"] == {"Fn::Sub": ["${x}", {"x": {"Ref": "Stage"}}]}
    assert variables["IF"] == {"Fn::If": ["IsProd", "a", "b"]}
    assert variables["SELECT"] == {"Fn::Select": [1, {"Fn::Split": [",", "x,y"]}]}
    assert variables["JOIN"] == {"Fn::Join": ["-", ["a", {"Ref": "Stage"}]]}
    assert variables["B64"] == {"Fn::Base64": "text"}
    assert variables["MAP"] == {"Fn::FindInMap": ["M", "k", "v"]}
    conditions = document["Conditions"]
    assert conditions["IsNotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}


def test_intrinsics_resolve_with_conditions_and_references(tmp_path: Path) -> None:
    path = write_template(
        tmp_path,
        function(
            environment="""\
          STAGE_NAME: !If [IsProd, production, !Sub 'not-${Stage}']
          BOTH: !If [Both, yes-both, not-both]
          SECOND: !Select [1, !Split [',', !Ref Names]]
          JOINED: !Join ['/', [!Ref AWS::Region, !GetAtt Table.Arn, !Ref AWS::NoValue]]
          ESCAPED: !Sub '${!Literal}-${Table.Arn}'
          WITH_VARS: !Sub ['${Prefix}-${Stage}', {Prefix: !Ref Table}]
          NUMBER: 7
          FLAG: true
          DROPPED: !Ref AWS::NoValue
"""
        ),
    )
    stack = load_stack(path)
    references = {"Table": "tbl", "Table.Arn": "arn:table", "AWS::Region": "eu-west-1"}
    assert resolve_environment(stack, "Fn", references) == {
        "STAGE_NAME": "not-dev",
        "BOTH": "yes-both",
        "SECOND": "b",
        "JOINED": "eu-west-1/arn:table",
        "ESCAPED": "${Literal}-arn:table",
        "WITH_VARS": "tbl-dev",
        "NUMBER": "7",
        "FLAG": "true",
    }
    production = load_stack(path, {"Stage": "prod"})
    assert resolve_environment(production, "Fn", references)["STAGE_NAME"] == "production"
    assert resolve_environment(production, "Fn", references)["BOTH"] == "not-both"


def test_an_unsupported_intrinsic_is_a_clear_error(tmp_path: Path) -> None:
    path = write_template(tmp_path, function(environment="          ENCODED: !Base64 text\n"))
    with pytest.raises(UnresolvedReferenceError, match=r"Fn environment variable ENCODED: Fn::Base64"):
        resolve_environment(load_stack(path), "Fn", {})


def test_a_get_att_without_a_local_value_is_an_error(tmp_path: Path) -> None:
    path = write_template(tmp_path, function(environment="          STREAM: !GetAtt Table.StreamArn\n"))
    with pytest.raises(UnresolvedReferenceError, match=r"STREAM: no local value for !GetAtt Table.StreamArn"):
        resolve_environment(load_stack(path), "Fn", {})


def test_events_the_local_stack_cannot_run_are_listed_not_dropped_silently(tmp_path: Path) -> None:
    events = """\
        Uploaded:
          Type: S3
          Properties: {Bucket: !Ref Table, Events: s3:ObjectCreated:*}
        Everything:
          Type: HttpApi
"""
    stack = load_stack(write_template(tmp_path, function(events=events)))
    assert stack.unsupported_events == ("Fn.Uploaded (S3)",)
    # SAM: an HttpApi event without Path and Method is the API's $default route
    assert stack.routes == (HttpRoute("ANY", "$default", "Fn"),)
    assert stack.routes[0].route_key == "$default"


def test_sam_defaults_apply_without_globals(tmp_path: Path) -> None:
    queue = """\
  Queue:
    Type: AWS::SQS::Queue
"""
    events = """\
        Drain:
          Type: SQS
          Properties: {Queue: !GetAtt Queue.Arn, Enabled: false}
        Tick:
          Type: ScheduleV2
          Properties: {ScheduleExpression: 'cron(0 3 * * ? *)', Input: '{"x": 1}'}
"""
    stack = load_stack(write_template(tmp_path, function(events=events) + queue))
    definition = stack.functions["Fn"]
    assert (definition.timeout_seconds, definition.memory_mb, definition.has_function_url) == (3, 128, False)
    assert stack.sqs_sources == (
        SqsSource("Fn", "Queue", batch_size=10, report_batch_item_failures=False, enabled=False),
    )
    assert stack.queues["Queue"].visibility_timeout == 30
    assert stack.schedules == (
        ScheduleRule("Fn", "Tick", "cron(0 3 * * ? *)", enabled=True, description="", input='{"x": 1}'),
    )


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (
            function(events="        A: {Type: HttpApi, Properties: {Path: '/a/{x}', Method: get}}\n")
            + function(
                events="        B: {Type: HttpApi, Properties: {Path: '/a/{y}', Method: GET}}\n"
            ).replace("  Fn:", "  Other:"),
            "route GET /a/{y} of Other is also a route of Fn",
        ),
        (
            function(events="        A: {Type: HttpApi, Properties: {Path: '/a/{rest+}/b', Method: GET}}\n"),
            "a greedy path variable must end the path",
        ),
        (
            function(events="        A: {Type: HttpApi, Properties: {Path: /a, Method: FETCH}}\n"),
            "unknown HTTP method FETCH",
        ),
        (
            function(events="        A: {Type: SQS, Properties: {Queue: arn:aws:sqs:us-east-1:1:q}}\n"),
            "expected !GetAtt <resource>.Arn",
        ),
        (
            function(events="        A: {Type: SQS, Properties: {Queue: !GetAtt Table.Arn}}\n"),
            "reads Table, which is not a queue",
        ),
        (
            function().replace("CodeUri: fn/", "CodeUri: s3://bucket/key.zip"),
            "CodeUri s3://bucket/key.zip is not a folder",
        ),
        (
            function().replace("CodeUri: fn/", "CodeUri: {Bucket: b, Key: k}"),
            "CodeUri must be a local folder",
        ),
        (function().replace("Handler: app.handler", "Handler: handler"), "Handler must be module.function"),
        (function(extra="      Timeout: !Ref Missing\n"), "!Ref Missing must be a parameter"),
    ],
)
def test_templates_the_local_stack_cannot_run_are_refused_clearly(
    tmp_path: Path, resources: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        load_stack(write_template(tmp_path, resources))


def test_a_template_needs_exactly_one_table(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n")
    with pytest.raises(TemplateError, match="exactly one AWS::DynamoDB::Table"):
        load_stack(path)


def test_unreadable_templates_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read"):
        load_stack(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources: [unclosed\n")
    with pytest.raises(TemplateError, match="not valid YAML"):
        load_stack(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n")
    with pytest.raises(TemplateError, match="no Resources mapping"):
        load_stack(listing)
