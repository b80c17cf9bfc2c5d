"""PutItem and UpdateItem for a full sync's record writes, without botocore's per-call machinery.

A full sync makes one conditional PutItem per record. Through a boto3 client each costs this process
2 to 3 ms of CPU (event hooks, endpoint rules, the shape serializer and parser, header parsing through
`email`), and the GIL keeps all of it on one core: about 350 writes per second at best, below the 500
records per second that Airtable's rate limit allows a sync to fetch. `DirectWriteClient` sends the same
request, DynamoDB's JSON protocol signed with botocore's own SigV4 signer, over a keep-alive
`http.client` connection per thread: about 0.7 ms (`python -m bench.sync_bench` prints the CPU per
record of both).

What it keeps from the boto3 client it is built from:
- endpoint, region, timeouts and the number of attempts;
- credentials from botocore's provider chain, refreshed by botocore when they expire;
- the client's `provide-client-params`, `before-send` and `after-call` event hooks, so that moto's
  mock answers its calls and the capacity meters of the tests and benchmarks see them;
- errors: `ClientError` (the client's modeled subclass) with DynamoDB's code, message and any item
  returned with a failed condition;
- retries as botocore's standard mode makes them: throttling, 5xx, dropped connections and timeouts,
  a response whose CRC32 does not match, with full-jitter exponential backoff capped at 20 s
  (tenacity).

What it leaves out: parameter validation and shape serialization (the caller passes DynamoDB JSON,
as it would to the low-level client, and the record repository builds every item), X-Ray subsegments
per call, clock-skew correction, and proxies: a client configured with proxies, or an environment with
HTTP(S)_PROXY, gets the boto3 client itself from `record_write_client`.
"""

import base64
import http.client
import json
import os
import ssl
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.hooks import first_non_none_response
from botocore.httpsession import get_cert_path
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "DynamoDB_20120810."
MAX_BACKOFF_SECONDS = 20.0
DEFAULT_MAX_ATTEMPTS = 3

# botocore.retries.standard: the codes its standard mode retries (throttling and transient errors).
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalServerError",
    }
)
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


class _Retryable(Exception):
    """An attempt worth repeating; carries the error the caller gets when no attempt is left."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class DirectWriteClient:
    """`put_item` and `update_item` with the boto3 client's call signature (DynamoDB JSON in, the
    parsed response out). Thread-safe: each thread keeps its own connection."""

    def __init__(
        self,
        client: "DynamoDBClient",
        credentials: Credentials,
        *,
        max_attempts: int | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """`max_attempts` defaults to the client's (`retries` in its Config) or botocore's 3."""
        if max_attempts is None:
            retries = getattr(client.meta.config, "retries", None) or {}
            max_attempts = int(retries.get("total_max_attempts", DEFAULT_MAX_ATTEMPTS))
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        self.max_attempts = max_attempts
        endpoint = urlsplit(client.meta.endpoint_url)
        if endpoint.scheme not in ("http", "https") or not endpoint.hostname:
            raise ValueError(f"cannot send to the endpoint {client.meta.endpoint_url!r}")
        self._client = client
        self._credentials = credentials
        self._region = client.meta.region_name
        self.endpoint_url: str = client.meta.endpoint_url
        self._url = f"{endpoint.scheme}://{endpoint.netloc}/"
        self._host = endpoint.hostname
        self._port = endpoint.port
        self._secure = endpoint.scheme == "https"
        default_port = 443 if self._secure else 80
        self._host_header = endpoint.hostname if endpoint.port in (None, default_port) else endpoint.netloc
        self._user_agent = f"airtable-mirror-direct-writes Botocore/{botocore.__version__}"
        config = client.meta.config
        # One socket timeout serves both: the longer of the client's two (botocore's default is 60 s).
        self._timeout = float(
            max(getattr(config, "connect_timeout", 60), getattr(config, "read_timeout", 60))
        )
        self._ssl_context = ssl.create_default_context(cafile=get_cert_path(True)) if self._secure else None
        self._events = client.meta.events
        self._local = threading.local()
        retry_options: dict[str, Any] = {
            "stop": stop_after_attempt(max_attempts),
            "wait": wait_random_exponential(multiplier=1, max=MAX_BACKOFF_SECONDS),
            "retry": retry_if_exception_type(_Retryable),
            "reraise": True,
        }
        if sleep is not None:
            retry_options["sleep"] = sleep
        self._retrying = Retrying(**retry_options)

    @classmethod
    def usable_for(cls, client: "DynamoDBClient") -> bool:
        """False when the client goes through a proxy or to an endpoint this writer cannot reach."""
        if getattr(client.meta.config, "proxies", None) or any(
            os.environ.get(name) for name in _PROXY_VARIABLES
        ):
            return False
        return urlsplit(client.meta.endpoint_url).scheme in ("http", "https")

    def put_item(self, **params: Any) -> dict[str, Any]:
        return self._call("PutItem", params)

    def update_item(self, **params: Any) -> dict[str, Any]:
        return self._call("UpdateItem", params)

    def _call(self, operation_name: str, params: dict[str, Any]) -> dict[str, Any]:
        model = self._client.meta.service_model.operation_model(operation_name)
        context: dict[str, Any] = {}
        self._events.emit(
            f"provide-client-params.dynamodb.{operation_name}", params=params, model=model, context=context
        )
        body = json.dumps(params, separators=(",", ":"), default=_blob_as_base64).encode("utf-8")
        attempts = 0
        try:
            for attempt in self._retrying:
                with attempt:
                    attempts += 1
                    status, headers, payload = self._send(operation_name, body)
                    parsed = _parse(operation_name, status, headers, payload, attempts - 1, self._client)
        except _Retryable as last:
            if isinstance(last.error, ClientError):
                self._after_call(operation_name, model, context, last.error.response)
            raise last.error from None
        self._after_call(operation_name, model, context, parsed)
        error = parsed.get("Error")
        if error:
            raise _client_error(self._client, parsed, operation_name)
        return parsed

    def _after_call(
        self, operation_name: str, model: Any, context: dict[str, Any], parsed: Mapping[str, Any]
    ) -> None:
        metadata = parsed.get("ResponseMetadata", {})
        self._events.emit(
            f"after-call.dynamodb.{operation_name}",
            http_response=_Response(metadata.get("HTTPStatusCode", 500), metadata.get("HTTPHeaders", {})),
            parsed=parsed,
            model=model,
            context=context,
        )

    def _send(self, operation_name: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """(status, headers with lower-case names, body) of one attempt."""
        request = AWSRequest(
            "POST",
            self._url,
            data=body,
            headers={
                "Host": self._host_header,
                "Content-Type": JSON_CONTENT_TYPE,
                "X-Amz-Target": TARGET_PREFIX + operation_name,
                "User-Agent": self._user_agent,
            },
        )
        SigV4Auth(self._credentials.get_frozen_credentials(), "dynamodb", self._region).add_auth(request)
        prepared = request.prepare()
        stubbed = first_non_none_response(
            self._events.emit(f"before-send.dynamodb.{operation_name}", request=prepared)
        )
        if stubbed is not None:
            return stubbed.status_code, _lowered(stubbed.headers.items()), stubbed.content
        headers = dict(prepared.headers.items())
        connection, reused = self._connection()
        try:
            return self._exchange(connection, headers, body)
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            if not reused or isinstance(error, TimeoutError):
                raise _Retryable(self._connection_error(error)) from error
        # A kept-alive connection the server had closed: one more try at once, on a new connection.
        connection, _ = self._connection()
        try:
            return self._exchange(connection, headers, body)
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            raise _Retryable(self._connection_error(error)) from error

    def _exchange(
        self, connection: http.client.HTTPConnection, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        connection.request("POST", "/", body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if response.will_close:
            self._drop_connection()
        return response.status, _lowered(response.getheaders()), payload

    def _connection_error(self, error: Exception) -> Exception:
        """The botocore exception a boto3 client raises for the same failure."""
        if isinstance(error, TimeoutError):
            return ReadTimeoutError(endpoint_url=self._url, error=error)
        if isinstance(error, OSError) and not isinstance(error, ConnectionResetError | BrokenPipeError):
            return EndpointConnectionError(endpoint_url=self._url, error=error)
        return ConnectionClosedError(endpoint_url=self._url, error=error)

    def _drop_connection(self) -> None:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it has carried a request before."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection, True
        if self._secure:
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._ssl_context
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        self._local.connection = connection
        return connection, False


class _Response:
    """What after-call hooks read from the HTTP response."""

    def __init__(self, status_code: int, headers: dict[str, str]) -> None:
        self.status_code = status_code
        self.headers = headers


def _lowered(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def _parse(
    operation_name: str,
    status: int,
    headers: dict[str, str],
    payload: bytes,
    retries: int,
    client: "DynamoDBClient",
) -> dict[str, Any]:
    """The response as botocore parses it; raises `_Retryable` for one worth retrying."""
    metadata = {
        "RequestId": headers.get("x-amzn-requestid", ""),
        "HTTPStatusCode": status,
        "HTTPHeaders": headers,
        "RetryAttempts": retries,
    }
    expected_crc = headers.get("x-amz-crc32")
    if expected_crc is not None and zlib.crc32(payload) != int(expected_crc):
        raise _Retryable(
            ClientError(
                {"Error": {"Code": "CRC32CheckFailed", "Message": "the response's CRC32 does not match"}},
                operation_name,
            )
        )
    try:
        document = json.loads(payload) if payload else {}
    except ValueError:
        document = None
    if not isinstance(document, dict):
        document = {}
        if status < 300:
            raise _Retryable(
                ClientError({"Error": {"Code": "InvalidResponse", "Message": "not JSON"}}, operation_name)
            )
    if status < 300:
        document["ResponseMetadata"] = metadata
        return document
    code = str(document.pop("__type", "") or "").rpartition("#")[2] or str(status)
    message = str(document.pop("message", None) or document.pop("Message", None) or "")
    parsed = {**document, "Error": {"Code": code, "Message": message}, "ResponseMetadata": metadata}
    if code in RETRYABLE_CODES or status in RETRYABLE_STATUSES:
        raise _Retryable(_client_error(client, parsed, operation_name))
    return parsed


def _client_error(client: "DynamoDBClient", parsed: dict[str, Any], operation_name: str) -> ClientError:
    """The exception botocore raises for this error: the client's modeled class for its code."""
    error_class = cast("type[ClientError]", client.exceptions.from_code(parsed["Error"]["Code"]))
    return error_class(parsed, operation_name)  # type: ignore[arg-type]


def _blob_as_base64(value: object) -> str:
    """DynamoDB's JSON protocol carries binary values (`B`, `BS`) as base64, as botocore sends them."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
