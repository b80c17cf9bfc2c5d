"""DirectWriteClient on the wire: a scripted HTTP server stands in for DynamoDB.

The repository's contract runs through this writer on moto and dynalite (test_records.py); here are
what those servers cannot show: the signature a real DynamoDB checks, retries, dropped connections,
CRC32 checks, keep-alive, and which errors come out.
"""

import base64
import hashlib
import hmac
import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from airtable_mirror.repository.direct_writes import DirectWriteClient
from tests.support.dynamodb import TEST_REGION, free_loopback_port

CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")
ITEM = {"pk": {"S": "B#app#R#rec1"}, "sk": {"S": "R"}, "blob": {"B": b"\x00\xff"}}

DROP = "drop the connection"


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    crc32: int | None = None  # None: the body's own

    def encoded(self) -> tuple[bytes, int]:
        payload = json.dumps(self.body).encode()
        return payload, zlib.crc32(payload) if self.crc32 is None else self.crc32


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int  # the client's port: one per TCP connection


class ScriptedDynamoDB:
    """Answers each request with the next reply of its script (200 {} once the script is spent)."""

    def __init__(self) -> None:
        self.script: list[Reply | str] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with scripted._lock:
                    scripted.seen.append(
                        Seen(
                            "POST",
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            self.client_address[1],
                        )
                    )
                    reply = scripted.script.pop(0) if scripted.script else Reply()
                if reply == DROP:
                    self.close_connection = True
                    self.connection.close()
                    return
                assert isinstance(reply, Reply)
                payload, crc = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amz-crc32", str(crc))
                self.send_header("x-amzn-RequestId", f"request-{len(scripted.seen)}")
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ScriptedDynamoDB":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dynamodb() -> Iterator[ScriptedDynamoDB]:
    with ScriptedDynamoDB() as server:
        yield server


def boto3_client(endpoint_url: str, **config: Any) -> Any:
    return boto3.session.Session(region_name=TEST_REGION).client(
        "dynamodb",
        endpoint_url=endpoint_url,
        aws_access_key_id="unused",
        aws_secret_access_key="unused",
        config=Config(**config),
    )


def writer_for(
    server: ScriptedDynamoDB, sleeps: list[float] | None = None, **config: Any
) -> DirectWriteClient:
    client = boto3_client(f"http://127.0.0.1:{server.port}", **config)
    return DirectWriteClient(client, CREDENTIALS, sleep=(sleeps.append if sleeps is not None else None))


def error_reply(code: str, message: str, status: int = 400, **extra: Any) -> Reply:
    return Reply(status, {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra})


def sigv4_authorization(seen: Seen, credentials: Credentials, region: str) -> str:
    """The Authorization header DynamoDB expects for a request as it arrived, computed as AWS documents
    it (not with botocore): over the headers the request says it signed, each of which must have
    arrived as signed."""
    amz_date = seen.headers["x-amz-date"]
    signed_names = seen.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    canonical_headers = "".join(f"{name}:{' '.join(seen.headers[name].split())}\n" for name in signed_names)
    canonical_request = "\n".join(
        [
            seen.method,
            seen.path,
            "",
            canonical_headers,
            ";".join(signed_names),
            hashlib.sha256(seen.body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/dynamodb/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = f"AWS4{credentials.secret_key}".encode()
    for part in (amz_date[:8], region, "dynamodb", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed_names)}, Signature={signature}"
    )


def test_the_request_on_the_wire_is_dynamodbs_json_protocol_signed_with_sigv4(
    dynamodb: ScriptedDynamoDB,
) -> None:
    # Given a writer built from a boto3 client of the endpoint
    writer = writer_for(dynamodb)

    # When it puts an item holding a binary value
    answer = writer.put_item(TableName="mirror", Item=ITEM, ConditionExpression="attribute_not_exists(pk)")

    # Then DynamoDB got the JSON protocol, binary values as base64, and a signature that matches it
    (seen,) = dynamodb.seen
    assert seen.headers["x-amz-target"] == "DynamoDB_20120810.PutItem"
    assert seen.headers["content-type"] == "application/x-amz-json-1.0"
    assert seen.headers["host"] == f"127.0.0.1:{dynamodb.port}"
    assert seen.headers["x-amz-security-token"] == "session-token"
    sent = json.loads(seen.body)
    assert sent["Item"]["blob"] == {"B": base64.b64encode(b"\x00\xff").decode()}
    assert sent["ConditionExpression"] == "attribute_not_exists(pk)"
    assert seen.headers["authorization"] == sigv4_authorization(seen, CREDENTIALS, TEST_REGION)
    signed = set(seen.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";"))
    assert {"host", "x-amz-date", "x-amz-target", "content-type", "x-amz-security-token"} <= signed
    # And the answer is parsed as botocore parses it
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["ResponseMetadata"]["RequestId"] == "request-1"
    assert answer["ResponseMetadata"]["RetryAttempts"] == 0


def test_calls_share_one_kept_alive_connection_per_thread(dynamodb: ScriptedDynamoDB) -> None:
    # Given a writer
    writer = writer_for(dynamodb)

    # When it makes three calls from one thread and one from another
    for _ in range(3):
        writer.put_item(TableName="mirror", Item=ITEM)
    other = threading.Thread(target=lambda: writer.update_item(TableName="mirror", Key=ITEM))
    other.start()
    other.join()

    # Then the first three went over one connection and the other thread used its own
    connections = [seen.connection for seen in dynamodb.seen]
    assert len(set(connections[:3])) == 1
    assert connections[3] != connections[0]
    assert dynamodb.seen[3].headers["x-amz-target"] == "DynamoDB_20120810.UpdateItem"


def test_a_failed_condition_raises_the_clients_modeled_error_with_the_old_item(
    dynamodb: ScriptedDynamoDB,
) -> None:
    # Given DynamoDB refuses the write because of its condition, returning the item that failed it
    old = {"pk": {"S": "B#app#R#rec1"}, "version": {"N": "7"}}
    dynamodb.script = [
        error_reply("ConditionalCheckFailedException", "The conditional request failed", Item=old)
    ]
    writer = writer_for(dynamodb)

    # When the writer puts the item
    with pytest.raises(ClientError) as raised:
        writer.put_item(TableName="mirror", Item=ITEM, ReturnValuesOnConditionCheckFailure="ALL_OLD")

    # Then the error is the boto3 client's own class, with code, message and item, after one attempt
    assert type(raised.value).__name__ == "ConditionalCheckFailedException"
    assert raised.value.response["Error"] == {
        "Code": "ConditionalCheckFailedException",
        "Message": "The conditional request failed",
    }
    assert dict(raised.value.response)["Item"] == old
    assert len(dynamodb.seen) == 1


def test_a_validation_error_is_not_retried(dynamodb: ScriptedDynamoDB) -> None:
    # Given DynamoDB rejects the item as too large
    dynamodb.script = [error_reply("ValidationException", "Item size has exceeded the maximum allowed size")]
    sleeps: list[float] = []
    writer = writer_for(dynamodb, sleeps)

    # When the writer puts it, Then the ValidationException comes out at once, message intact
    with pytest.raises(ClientError, match="Item size has exceeded"):
        writer.put_item(TableName="mirror", Item=ITEM)
    assert len(dynamodb.seen) == 1 and sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        error_reply("ProvisionedThroughputExceededException", "slow down"),
        error_reply("ThrottlingException", "Rate of requests exceeds the allowed throughput"),
        error_reply("InternalServerError", "Internal server error", status=500),
        Reply(503, {}),
        Reply(200, {}, crc32=12345),
        DROP,
    ],
    ids=[
        "throughput exceeded",
        "throttling",
        "internal error",
        "503 without a body",
        "crc32 mismatch",
        "dropped",
    ],
)
def test_throttling_server_errors_bad_checksums_and_dropped_connections_are_retried_with_backoff(
    dynamodb: ScriptedDynamoDB, failure: Reply | str
) -> None:
    # Given DynamoDB fails twice, then accepts the write
    dynamodb.script = [failure, failure, Reply(200, {"ConsumedCapacity": {"CapacityUnits": 1.0}})]
    sleeps: list[float] = []
    writer = writer_for(dynamodb, sleeps, retries={"mode": "standard", "total_max_attempts": 3})

    # When the writer puts the item
    answer = writer.put_item(TableName="mirror", Item=ITEM, ReturnConsumedCapacity="TOTAL")

    # Then it was sent three times, after two jittered waits, and the answer is the last one
    assert len(dynamodb.seen) == 3
    assert len(sleeps) == 2 and all(0 <= wait <= 20 for wait in sleeps)
    assert answer["ConsumedCapacity"] == {"CapacityUnits": 1.0}
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2


def test_when_attempts_run_out_the_last_error_comes_out_as_botocore_raises_it(
    dynamodb: ScriptedDynamoDB,
) -> None:
    # Given DynamoDB throttles every attempt of a writer allowed three
    dynamodb.script = [error_reply("ProvisionedThroughputExceededException", "slow down")] * 3
    sleeps: list[float] = []
    writer = writer_for(dynamodb, sleeps, retries={"mode": "standard", "total_max_attempts": 3})

    # When it puts the item, Then the throttling error comes out after three attempts
    with pytest.raises(ClientError) as raised:
        writer.put_item(TableName="mirror", Item=ITEM)
    assert raised.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(dynamodb.seen) == 3 and len(sleeps) == 2


def test_a_server_that_keeps_dropping_the_connection_gives_botocores_connection_error(
    dynamodb: ScriptedDynamoDB,
) -> None:
    # Given a server that drops every connection
    dynamodb.script = [DROP] * 10
    writer = writer_for(dynamodb, [], retries={"mode": "standard", "total_max_attempts": 2})

    # When the writer puts an item, Then the error is botocore's, not http.client's
    with pytest.raises(ConnectionClosedError):
        writer.put_item(TableName="mirror", Item=ITEM)


def test_nothing_listening_gives_botocores_endpoint_connection_error() -> None:
    # Given an endpoint where nothing listens
    client = boto3_client(f"http://127.0.0.1:{free_loopback_port()}")
    writer = DirectWriteClient(client, CREDENTIALS, max_attempts=2, sleep=lambda _: None)

    # When the writer puts an item, Then it fails as a boto3 client does
    with pytest.raises(EndpointConnectionError):
        writer.put_item(TableName="mirror", Item=ITEM)


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_retry(
    dynamodb: ScriptedDynamoDB,
) -> None:
    # Given a writer whose kept-alive connection the server then closes
    sleeps: list[float] = []
    writer = writer_for(dynamodb, sleeps)
    writer.put_item(TableName="mirror", Item=ITEM)
    dynamodb.script = [DROP]

    # When it writes again
    answer = writer.put_item(TableName="mirror", Item=ITEM)

    # Then the write went through on a new connection at once, with no backoff and no retry counted
    assert answer["ResponseMetadata"]["RetryAttempts"] == 0
    assert sleeps == []
    assert len({seen.connection for seen in dynamodb.seen}) == 2


def test_the_clients_event_hooks_see_each_call(dynamodb: ScriptedDynamoDB) -> None:
    # Given hooks on the boto3 client the writer is built from, as the capacity meters register them
    client = boto3_client(f"http://127.0.0.1:{dynamodb.port}")
    writer = DirectWriteClient(client, CREDENTIALS)
    after: list[tuple[str, dict[str, Any]]] = []

    def ask_for_capacity(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def record(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        after.append((model.name, parsed))

    client.meta.events.register("provide-client-params.dynamodb.PutItem", ask_for_capacity)
    client.meta.events.register("after-call.dynamodb.PutItem", record)
    dynamodb.script = [Reply(200, {"ConsumedCapacity": {"CapacityUnits": 2.0}})]

    # When the writer puts an item
    writer.put_item(TableName="mirror", Item=ITEM)

    # Then the parameters the hook added were sent, and the after-call hook saw the parsed answer
    assert json.loads(dynamodb.seen[0].body)["ReturnConsumedCapacity"] == "TOTAL"
    assert after == [
        (
            "PutItem",
            {"ConsumedCapacity": {"CapacityUnits": 2.0}, "ResponseMetadata": after[0][1]["ResponseMetadata"]},
        )
    ]


def test_a_client_behind_a_proxy_is_not_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a client configured with a proxy, and one in an environment with HTTPS_PROXY
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxied = boto3_client("https://dynamodb.eu-west-1.amazonaws.com", proxies={"https": "http://proxy:3128"})
    plain = boto3_client("https://dynamodb.eu-west-1.amazonaws.com")

    # Then the writer is usable only for the plain one, and for neither once HTTPS_PROXY is set
    assert not DirectWriteClient.usable_for(proxied)
    assert DirectWriteClient.usable_for(plain)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    assert not DirectWriteClient.usable_for(plain)


def test_the_writer_takes_the_number_of_attempts_from_the_clients_config() -> None:
    # Given a boto3 client allowed 5 retries (6 attempts) and one with botocore's defaults
    retrying = boto3_client("http://127.0.0.1:1", retries={"mode": "standard", "max_attempts": 5})
    default = boto3_client("http://127.0.0.1:1")

    # Then the writer makes as many attempts as each
    assert DirectWriteClient(retrying, CREDENTIALS).max_attempts == 6
    assert DirectWriteClient(default, CREDENTIALS).max_attempts >= 3


def test_an_endpoint_that_is_not_http_is_refused() -> None:
    client = boto3_client("http://127.0.0.1:1")
    client.meta._endpoint_url = "ftp://example.com"

    with pytest.raises(ValueError, match="cannot send to the endpoint"):
        DirectWriteClient(client, CREDENTIALS)
