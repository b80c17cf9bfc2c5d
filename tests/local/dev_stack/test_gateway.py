"""dev_stack.gateway over real HTTP on free ports: the events handlers get, the responses clients get."""

import base64
import http.client
import json
import logging
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from airtable_emulator.demo import build_demo_base
from airtable_emulator.emulator import Emulator
from airtable_emulator.settings import EmulatorSettings
from airtable_mirror import runtime
from dev_stack.gateway import (
    AdminRoute,
    FunctionUrlServer,
    HttpApiGateway,
    build_http_api_event,
    response_from_payload,
)
from dev_stack.invoker import Invoker
from dev_stack.template import (
    FunctionDefinition,
    HttpRoute,
    StackDefinition,
    load_stack,
    pseudo_parameters,
    resolve_environment,
)
from tests.support.dynamodb import TEMPLATE_PATH, create_mirror_table

EVENTS = TEMPLATE_PATH.parent / "events"
TRACE_ID = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$")
REQUEST_TIME = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")

ECHO_HANDLER = """\
import base64
import json


def handler(event, context):
    path = event["rawPath"]
    kind = (event.get("queryStringParameters") or {}).get("kind")
    if path == "/boom":
        raise RuntimeError("the handler failed")
    if kind == "bare":
        return {"bare": True, "list": [1, 2]}
    if kind == "string":
        return "just text"
    if kind == "binary":
        return {
            "statusCode": 201,
            "headers": {"content-type": "image/png", "x-number": 5, "x-flag": True},
            "cookies": ["session=abc; Path=/; HttpOnly", "theme=dark"],
            "body": base64.b64encode(bytes([0x89, 0x50, 0x4E, 0x47, 0, 255])).decode(),
            "isBase64Encoded": True,
        }
    if kind == "empty":
        return {"statusCode": 204}
    if kind == "malformed":
        return {"statusCode": "teapot", "body": "?"}
    if kind == "object-body":
        return {"statusCode": 200, "body": {"not": "text"}}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers_named(name)
        return values[0] if values else None

    def headers_named(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    port: int,
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    *,
    chunked: bool = False,
) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers or []:
            connection.putheader(name, value)
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders(iter([body or b""]), encode_chunked=True)
        else:
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
        response = connection.getresponse()
        return Answer(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


def definition(code_dir: Path, name: str, *, function_url: bool = False) -> FunctionDefinition:
    return FunctionDefinition(
        logical_id=name,
        code_dir=code_dir,
        handler="app.handler",
        timeout_seconds=30,
        memory_mb=128,
        has_function_url=function_url,
        environment={},
    )


ROUTES = (
    HttpRoute("GET", "/echo", "Echo"),
    HttpRoute("POST", "/echo", "Echo"),
    HttpRoute("GET", "/items/{item_id}", "Echo"),
    HttpRoute("GET", "/items/special", "Special"),
    HttpRoute("ANY", "/files/{proxy+}", "Echo"),
    HttpRoute("GET", "/files/{name}/meta", "Echo"),
    HttpRoute("GET", "/boom", "Echo"),
)


@pytest.fixture(scope="module")
def fake_stack(tmp_path_factory: pytest.TempPathFactory) -> StackDefinition:
    root = tmp_path_factory.mktemp("handlers")
    for name in ("echo", "special"):
        (root / name).mkdir()
        (root / name / "app.py").write_text(ECHO_HANDLER)
    return StackDefinition(
        functions={
            "Echo": definition(root / "echo", "Echo"),
            "Special": definition(root / "special", "Special"),
            "Receiver": definition(root / "echo", "Receiver", function_url=True),
        },
        routes=ROUTES,
        queues={},
        sqs_sources=(),
        schedules=(),
        table_logical_id="Table",
        parameters={},
    )


@dataclass
class AdminCalls:
    calls: list[tuple[dict[str, str], bytes]]

    def trigger(self, path_parameters: dict[str, str], body: bytes) -> tuple[int, Any]:
        self.calls.append((path_parameters, body))
        return 202, {"triggered": path_parameters["name"]}

    def listing(self, path_parameters: dict[str, str], body: bytes) -> tuple[int, Any]:
        return 200, [{"name": "FullSync"}]

    def failing(self, path_parameters: dict[str, str], body: bytes) -> tuple[int, Any]:
        raise RuntimeError("admin route broke")


@pytest.fixture(scope="module")
def admin() -> AdminCalls:
    return AdminCalls([])


@pytest.fixture(scope="module")
def gateway(fake_stack: StackDefinition, admin: AdminCalls) -> Iterator[HttpApiGateway]:
    routes: dict[tuple[str, str], AdminRoute] = {
        ("POST", "/_local/schedules/{name}"): admin.trigger,
        ("GET", "/_local/schedules"): admin.listing,
        ("GET", "/_local/broken"): admin.failing,
    }
    server = HttpApiGateway(fake_stack, Invoker(fake_stack), "127.0.0.1", 0, admin_routes=routes)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def function_url(fake_stack: StackDefinition) -> Iterator[FunctionUrlServer]:
    server = FunctionUrlServer(fake_stack, Invoker(fake_stack), "Receiver", "127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


def echoed(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, answer.body
    event: dict[str, Any] = answer.json()
    return event


def key_shape(value: Any) -> Any:
    """The keys of nested objects and the types of leaves, to compare an event's shape with AWS's."""
    if isinstance(value, dict):
        return {key: key_shape(element) for key, element in value.items()}
    return type(value).__name__


# --- events ----------------------------------------------------------------------------------


def test_the_event_has_the_shape_of_aws_sample_events(gateway: HttpApiGateway) -> None:
    event = echoed(request(gateway.port, "GET", "/echo?table_name=tasks", [("User-Agent", "curl/8.5.0")]))
    sample = json.loads((EVENTS / "records_list.json").read_text())
    del sample["requestContext"]["authorizer"]  # no authorization runs locally
    for part in ("headers", "queryStringParameters"):
        sample[part], event[part] = sorted(sample[part]), sorted(event[part])
    assert set(event) == set(sample)
    assert key_shape(event["requestContext"]) == key_shape(sample["requestContext"])
    assert event["version"] == "2.0" and event["isBase64Encoded"] is False
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /echo"
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/echo",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8.5.0",
    }
    assert (context["stage"], context["domainName"], context["domainPrefix"]) == (
        "$default",
        "127.0.0.1",
        "127",
    )
    assert REQUEST_TIME.match(context["time"]) and REQUEST_TIME.match(sample["requestContext"]["time"])
    assert isinstance(context["timeEpoch"], int)
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", context["requestId"])


def test_api_gateway_adds_its_own_headers(gateway: HttpApiGateway) -> None:
    event = echoed(request(gateway.port, "GET", "/echo", [("X-Forwarded-For", "198.51.100.1")]))
    headers = event["headers"]
    assert headers["x-forwarded-for"] == "198.51.100.1, 127.0.0.1"
    assert headers["x-forwarded-port"] == str(gateway.port)
    assert headers["x-forwarded-proto"] == "http"
    assert headers["content-length"] == "0"
    assert headers["host"] == f"127.0.0.1:{gateway.port}"
    sample_trace = json.loads((EVENTS / "records_list.json").read_text())["headers"]["x-amzn-trace-id"]
    assert TRACE_ID.match(headers["x-amzn-trace-id"]) and TRACE_ID.match(sample_trace)


def test_headers_are_lower_case_and_repeated_ones_comma_joined(gateway: HttpApiGateway) -> None:
    headers = [
        ("X-Custom", "one"),
        ("x-custom", "two"),
        ("Accept", "application/json"),
        ("Connection", "close"),
    ]
    event = echoed(request(gateway.port, "GET", "/echo", headers))
    assert event["headers"]["x-custom"] == "one,two"
    assert event["headers"]["accept"] == "application/json"
    assert "connection" not in event["headers"]  # hop-by-hop: not passed on
    assert all(name == name.lower() for name in event["headers"])


def test_cookies_leave_the_headers_for_the_cookies_list(gateway: HttpApiGateway) -> None:
    event = echoed(request(gateway.port, "GET", "/echo", [("Cookie", "a=1; b=2"), ("Cookie", "c=3")]))
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]
    assert "cookies" not in echoed(request(gateway.port, "GET", "/echo"))


def test_repeated_query_parameters_are_comma_joined_and_decoded(gateway: HttpApiGateway) -> None:
    query = "a=1&a=2&b=x%20y&empty=&plus=p+q&filter%5BStatus%5D=Done"
    event = echoed(request(gateway.port, "GET", f"/echo?{query}"))
    assert event["rawQueryString"] == query
    assert event["queryStringParameters"] == {
        "a": "1,2",
        "b": "x y",
        "empty": "",
        "plus": "p q",
        "filter[Status]": "Done",
    }
    assert "queryStringParameters" not in echoed(request(gateway.port, "GET", "/echo"))


def test_path_parameters_and_route_precedence(gateway: HttpApiGateway) -> None:
    variable = echoed(request(gateway.port, "GET", "/items/rec%20one"))
    assert variable["routeKey"] == "GET /items/{item_id}"
    assert variable["pathParameters"] == {"item_id": "rec one"}
    assert variable["rawPath"] == variable["requestContext"]["http"]["path"] == "/items/rec one"
    exact = echoed(request(gateway.port, "GET", "/items/special"))
    assert exact["routeKey"] == "GET /items/special"  # a literal segment beats a variable
    assert "pathParameters" not in exact
    greedy = echoed(request(gateway.port, "DELETE", "/files/a/b/c.txt"))
    assert greedy["routeKey"] == "ANY /files/{proxy+}"
    assert greedy["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert greedy["requestContext"]["http"]["method"] == "DELETE"
    full_match = echoed(request(gateway.port, "GET", "/files/report/meta"))
    assert full_match["routeKey"] == "GET /files/{name}/meta"  # a full match beats a greedy one
    assert full_match["pathParameters"] == {"name": "report"}
    assert echoed(request(gateway.port, "PUT", "/files/report/meta"))["routeKey"] == "ANY /files/{proxy+}"


def test_bodies_pass_as_text_or_base64_by_content_type(gateway: HttpApiGateway) -> None:
    document = json.dumps({"name": "Zoë"}).encode()
    text = echoed(request(gateway.port, "POST", "/echo", [("Content-Type", "application/json")], document))
    assert (text["body"], text["isBase64Encoded"]) == (document.decode(), False)
    assert text["headers"]["content-length"] == str(len(document))
    binary = bytes(range(256))
    for content_type in ("application/octet-stream", "text/plain"):  # text/plain, but not UTF-8
        event = echoed(request(gateway.port, "POST", "/echo", [("Content-Type", content_type)], binary))
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == binary
    form = echoed(
        request(
            gateway.port, "POST", "/echo", [("Content-Type", "application/x-www-form-urlencoded")], b"a=1"
        )
    )
    assert (form["body"], form["isBase64Encoded"]) == ("YT0x", True)
    untyped = echoed(request(gateway.port, "POST", "/echo", [], b"plain"))
    assert untyped["isBase64Encoded"] is True
    empty = echoed(request(gateway.port, "POST", "/echo", [], b""))
    assert "body" not in empty and empty["isBase64Encoded"] is False


def test_a_chunked_request_body_arrives_whole(gateway: HttpApiGateway) -> None:
    event = echoed(
        request(
            gateway.port, "POST", "/echo", [("Content-Type", "text/plain")], b"chunked body", chunked=True
        )
    )
    assert event["body"] == "chunked body"
    assert "transfer-encoding" not in event["headers"]
    assert event["headers"]["content-length"] == "12"


# --- responses -------------------------------------------------------------------------------


def test_a_structured_result_is_the_response(gateway: HttpApiGateway) -> None:
    answer = request(gateway.port, "GET", "/echo?kind=binary")
    assert answer.status == 201
    assert answer.body == bytes([0x89, 0x50, 0x4E, 0x47, 0, 255])
    assert answer.header("content-type") == "image/png"
    assert (answer.header("x-number"), answer.header("x-flag")) == ("5", "true")
    assert answer.headers_named("set-cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark"]
    assert answer.header("content-length") == "6"
    assert answer.header("apigw-requestid")


def test_a_result_without_status_code_is_a_200_json_body(gateway: HttpApiGateway) -> None:
    bare = request(gateway.port, "GET", "/echo?kind=bare")
    assert (bare.status, bare.header("content-type"), bare.json()) == (
        200,
        "application/json",
        {"bare": True, "list": [1, 2]},
    )
    text = request(gateway.port, "GET", "/echo?kind=string")
    assert (text.status, text.json()) == (200, "just text")


def test_a_result_without_a_body_is_an_empty_response(gateway: HttpApiGateway) -> None:
    answer = request(gateway.port, "GET", "/echo?kind=empty")
    assert (answer.status, answer.body) == (204, b"")


@pytest.mark.parametrize("kind", ["malformed", "object-body"])
def test_a_malformed_result_is_a_500(gateway: HttpApiGateway, kind: str) -> None:
    answer = request(gateway.port, "GET", f"/echo?kind={kind}")
    assert (answer.status, answer.json()) == (500, {"message": "Internal Server Error"})


def test_a_handler_exception_is_a_500_and_an_access_log_line(
    gateway: HttpApiGateway, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dev_stack.gateway"):
        answer = request(gateway.port, "GET", "/boom")
    assert (answer.status, answer.json()) == (500, {"message": "Internal Server Error"})
    assert b"the handler failed" not in answer.body
    access = [record.getMessage() for record in caplog.records if record.name == "dev_stack.gateway"]
    assert any(re.fullmatch(r"GET /boom 500 \d+\.\dms Echo", line) for line in access), access


def test_an_unknown_route_is_404_not_found(gateway: HttpApiGateway) -> None:
    for target in ("/nothing", "/files", "/items/special/more", "/echo/"):
        answer = request(gateway.port, "GET", target)
        assert (answer.status, answer.json()) == (404, {"message": "Not Found"}), target
        assert answer.header("apigw-requestid")


def test_a_known_path_with_another_method_is_405_with_allow(gateway: HttpApiGateway) -> None:
    answer = request(gateway.port, "PUT", "/echo", [("Content-Type", "application/json")], b"{}")
    assert (answer.status, answer.json()) == (405, {"message": "Method Not Allowed"})
    assert answer.header("allow") == "GET, POST"
    head = request(gateway.port, "HEAD", "/items/x")
    assert (head.status, head.header("allow"), head.body) == (405, "GET", b"")


def test_bad_requests_get_json_4xx_answers(gateway: HttpApiGateway) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=60)
    connection.putrequest("POST", "/echo")
    connection.putheader("Content-Length", "many")
    connection.endheaders()
    answer = connection.getresponse()
    assert (answer.status, json.loads(answer.read())) == (400, {"message": "Content-Length is not a number"})
    connection.close()
    too_large = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=60)
    too_large.putrequest("POST", "/echo")
    too_large.putheader("Content-Length", str(7 * 1024 * 1024))
    too_large.endheaders()
    answer = too_large.getresponse()
    assert (answer.status, json.loads(answer.read())) == (413, {"message": "Request Entity Too Large"})
    too_large.close()
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=60) as raw:
        raw.sendall(b"GET /echo HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n")
        reply = raw.makefile("rb").read()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431")
    assert json.loads(body) == {"message": "Line too long"}


# --- admin routes ----------------------------------------------------------------------------


def test_admin_routes_get_path_parameters_and_body(gateway: HttpApiGateway, admin: AdminCalls) -> None:
    answer = request(gateway.port, "POST", "/_local/schedules/FullSync", [], b'{"x": 1}')
    assert (answer.status, answer.json()) == (202, {"triggered": "FullSync"})
    assert admin.calls[-1] == ({"name": "FullSync"}, b'{"x": 1}')
    listing = request(gateway.port, "GET", "/_local/schedules")
    assert (listing.status, listing.json()) == (200, [{"name": "FullSync"}])
    wrong_method = request(gateway.port, "GET", "/_local/schedules/FullSync")
    assert (wrong_method.status, wrong_method.header("allow")) == (405, "POST")
    broken = request(gateway.port, "GET", "/_local/broken")
    assert (broken.status, broken.json()) == (500, {"message": "Internal Server Error"})


def test_admin_routes_live_under_local(fake_stack: StackDefinition) -> None:
    def anything(path_parameters: dict[str, str], body: bytes) -> tuple[int, Any]:
        return 200, {}

    with pytest.raises(ValueError, match="must be under /_local/"):
        HttpApiGateway(
            fake_stack, Invoker(fake_stack), "127.0.0.1", 0, admin_routes={("GET", "/x"): anything}
        )


# --- function URL ----------------------------------------------------------------------------


def test_a_function_url_sends_every_method_and_path_to_its_function(function_url: FunctionUrlServer) -> None:
    answer = request(
        function_url.port,
        "PATCH",
        "/any/where%2Fencoded?x=1&x=2",
        [("Content-Type", "application/json"), ("Cookie", "k=v")],
        b'{"ping": true}',
    )
    event = echoed(answer)
    sample = json.loads((EVENTS / "webhook_ping.json").read_text())
    assert set(event) == set(sample) | {"cookies", "queryStringParameters"}
    assert key_shape(event["requestContext"]) == key_shape(sample["requestContext"])
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "$default"
    assert "pathParameters" not in event
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/any/where%2Fencoded"  # as sent
    assert event["requestContext"]["accountId"] == "anonymous"
    assert (event["body"], event["isBase64Encoded"]) == ('{"ping": true}', False)
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["k=v"]
    assert str(event["requestContext"]["requestId"]) == answer.header("x-amzn-requestid")
    root = echoed(request(function_url.port, "GET", "/"))
    assert root["rawPath"] == "/" and root["requestContext"]["http"]["method"] == "GET"


def test_a_function_url_answers_502_when_the_function_fails(function_url: FunctionUrlServer) -> None:
    answer = request(function_url.port, "POST", "/boom", [], b"")
    assert (answer.status, answer.body) == (502, b"Internal Server Error")
    mapped = request(function_url.port, "GET", "/?kind=binary")
    assert (mapped.status, mapped.header("content-type")) == (201, "image/png")


def test_only_a_function_with_a_url_gets_a_url_server(fake_stack: StackDefinition) -> None:
    with pytest.raises(ValueError, match="Echo has no FunctionUrlConfig"):
        FunctionUrlServer(fake_stack, Invoker(fake_stack), "Echo", "127.0.0.1", 0)
    with pytest.raises(ValueError, match="no function Nope"):
        FunctionUrlServer(fake_stack, Invoker(fake_stack), "Nope", "127.0.0.1", 0)


# --- pure functions --------------------------------------------------------------------------


def test_build_http_api_event_matches_the_sample_event_field_for_field() -> None:
    sample = json.loads((EVENTS / "records_get.json").read_text())
    event = build_http_api_event(
        method="GET",
        raw_path="/records/recDEMO0000000001",
        raw_query_string="",
        headers=[(name, value) for name, value in sample["headers"].items() if name != "content-length"],
        body=b"",
        route_key="GET /records/{record_id}",
        path_parameters={"record_id": "recDEMO0000000001"},
        source_ip="203.0.113.10",
        domain_name="a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        server_port=443,
        scheme="https",
        request_id=sample["requestContext"]["requestId"],
        time_epoch_ms=sample["requestContext"]["timeEpoch"],
        api_id="a1b2c3d4e5",
    )
    del sample["requestContext"]["authorizer"]
    # the client's X-Forwarded-For was the gateway's own: the sample's source address is listed twice here
    sample["headers"]["x-forwarded-for"] = "203.0.113.10, 203.0.113.10"
    assert event == sample


def test_response_mapping_keeps_headers_the_server_does_not_own() -> None:
    response = response_from_payload(
        {"statusCode": "200", "headers": {"Content-Length": "999", "X-Kept": "yes"}, "body": "ok"}
    )
    assert (response.status, response.headers, response.body) == (200, (("X-Kept", "yes"),), b"ok")


# --- real handlers ---------------------------------------------------------------------------


@dataclass
class MirrorStack:
    gateway: HttpApiGateway
    function_url: FunctionUrlServer
    sqs: Any
    sync_queue_url: str


@pytest.fixture
def mirror_stack(aws_credentials: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[MirrorStack]:
    """The real records, sync API and webhook handlers, with moto's DynamoDB and SQS and the emulator."""
    settings = EmulatorSettings(requests_per_second_per_base=50, rate_limit_penalty_seconds=0.5)
    with Emulator(settings=settings, seed=5) as emulator, mock_aws():
        base = build_demo_base(emulator.state, seed=1)
        stack = load_stack(TEMPLATE_PATH, {"AirtableBaseId": base.id, "AirtableApiUrl": emulator.url})
        create_mirror_table(boto3.client("dynamodb"), "airtable-mirror-local")
        sqs = boto3.client("sqs")
        sync_queue_url = sqs.create_queue(QueueName="SyncQueue")["QueueUrl"]
        webhook_queue_url = sqs.create_queue(QueueName="WebhookQueue.fifo", Attributes={"FifoQueue": "true"})[
            "QueueUrl"
        ]
        references: dict[str, str | None] = {
            "MirrorTable": "airtable-mirror-local",
            "SyncQueue": sync_queue_url,
            "WebhookQueue": webhook_queue_url,
            "AirtableTokenSecretArn": None,
            "RecordsCursorSigningSecret": None,
            "WebhookPushSecret": None,
            **pseudo_parameters("airtable-mirror", "us-east-1"),
        }
        for function in stack.functions:
            for name, value in resolve_environment(stack, function, references).items():
                monkeypatch.setenv(name, value)
        monkeypatch.setenv("AIRTABLE_API_KEY", emulator.token)
        monkeypatch.setenv("WEBHOOK_MAC_STORE", "table")
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        monkeypatch.delenv("AIRTABLE_TOKEN_SECRET", raising=False)
        runtime.reset()
        invoker = Invoker(stack)
        with (
            HttpApiGateway(stack, invoker) as gateway,
            FunctionUrlServer(stack, invoker, "WebhookFunction") as url,
        ):
            assert isinstance(gateway, HttpApiGateway) and isinstance(url, FunctionUrlServer)
            yield MirrorStack(gateway, url, sqs, sync_queue_url)
        runtime.reset()


def test_the_real_handlers_answer_through_the_gateway(mirror_stack: MirrorStack) -> None:
    port = mirror_stack.gateway.port
    tables = request(port, "GET", "/tables")
    assert (tables.status, tables.json()) == (200, {"tables": []})
    assert tables.header("content-type") == "application/json"
    missing = request(port, "GET", "/records/recAAAAAAAAAAAAAA")
    assert missing.status == 404 and missing.json()["error"]["code"]
    invalid = request(port, "GET", "/records?table_name=tasks&limit=0")
    assert invalid.status == 400 and "limit" in json.dumps(invalid.json())
    docs = request(port, "GET", "/docs?format=json")
    assert docs.status == 200 and "/records/{record_id}" in docs.json()["paths"]
    swagger_ui = request(port, "GET", "/docs")
    assert swagger_ui.status == 200 and b"swagger" in swagger_ui.body.lower()
    assert (swagger_ui.header("content-type") or "").startswith("text/html")
    started = request(port, "POST", "/sync/people")
    assert started.status == 202, started.body
    run = started.json()
    assert run["table_name"] == "People" and run["status"] == "queued"
    messages = mirror_stack.sqs.receive_message(QueueUrl=mirror_stack.sync_queue_url, MaxNumberOfMessages=10)
    assert [json.loads(message["Body"])["run_id"] for message in messages["Messages"]] == [run["run_id"]]
    followed = request(port, "GET", f"/sync/runs/{run['run_id']}")
    assert (followed.status, followed.json()["run_id"]) == (200, run["run_id"])
    webhooks = request(port, "GET", "/webhooks")
    assert webhooks.status == 200


def test_the_real_webhook_receiver_answers_through_its_function_url(mirror_stack: MirrorStack) -> None:
    ping = json.loads((EVENTS / "webhook_ping.json").read_text())["body"].encode()
    headers = [("Content-Type", "application/json"), ("X-Airtable-Content-MAC", "hmac-sha256=" + "0" * 64)]
    unknown_hook = request(mirror_stack.function_url.port, "POST", "/", headers, ping)
    assert unknown_hook.status == 401 and unknown_hook.json()["error"]["code"] == "UNAUTHORIZED"
    wrong_method = request(mirror_stack.function_url.port, "GET", "/anything")
    assert wrong_method.status == 405
