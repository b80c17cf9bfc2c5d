"""The HTTP API and the webhook function URL, served locally by invoking the handlers in this process.

`HttpApiGateway` serves every HttpApi route of template.yaml as API Gateway HTTP APIs serve them to a
Lambda proxy integration with payload format 2.0; `FunctionUrlServer` serves a function URL. What
they reproduce, with AWS's documentation for each point:

Requests (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html)
- The event is payload format 2.0: version, routeKey, rawPath, rawQueryString, cookies, headers,
  queryStringParameters, pathParameters, requestContext (accountId, apiId, domainName, domainPrefix,
  http {method, path, protocol, sourceIp, userAgent}, requestId, routeKey, stage, time, timeEpoch),
  body and isBase64Encoded. Keys with nothing to carry (cookies, queryStringParameters,
  pathParameters, body) are left out, as API Gateway leaves them out.
- Header names are lower case; repeated headers are joined with commas. Cookie headers are not among
  the headers: every cookie goes to `cookies`. API Gateway adds x-forwarded-for (the client's address
  after any the client sent), x-forwarded-port, x-forwarded-proto, x-amzn-trace-id and content-length.
- `queryStringParameters` holds the decoded values, a repeated name's values joined with commas;
  `rawQueryString` is the query string as sent.
- API Gateway decodes URL-encoded request parameters (routes page, below), the path included: an HTTP
  API's rawPath and http.path are the decoded path, and routes are matched on it, so `/a%2Fb` is
  `/a/b` (reported from live events: github.com/fastify/aws-lambda-fastify/issues/169,
  github.com/honojs/hono/issues/2156). A function URL passes the path as sent.
- A body whose content type is text (text/*, JSON, JavaScript, XML, YAML, and +json/+xml types) is
  passed as text; any other body, or one that is not valid UTF-8, base64-encoded with
  isBase64Encoded true (https://aws.amazon.com/blogs/compute/handling-binary-data-using-amazon-api-gateway-http-apis/).
- No authorization runs locally: requests are not signed and the event has no requestContext.authorizer.

Routes (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html)
- The most specific route wins: a full match over a match by a greedy `{proxy+}` (which must match at
  least one segment), then literal segments over path variables (leftmost first), then the route's
  own method over ANY; the `$default` route takes what no route matches.
- No route: 404 `{"message":"Not Found"}`. The dev stack adds one answer API Gateway does not give: a
  path that has routes, none for the method, is 405 `{"message":"Method Not Allowed"}` with `Allow`.

Responses (same Lambda integration page, "Lambda function response format")
- A result with statusCode is the response: statusCode, headers, cookies (each a Set-Cookie header),
  body, isBase64Encoded (the body is then decoded to bytes).
- A result without statusCode (any JSON value) is a 200 with content-type application/json and the
  result as the body.
- A failed invocation, or a result that is not a valid response, is 500 `{"message":"Internal Server
  Error"}`; a function URL answers 502 with `Internal Server Error` (as reported in
  github.com/awsdocs/aws-lambda-developer-guide/issues/430).
- The routes' answers, 404 and 405 included, carry API Gateway's `apigw-requestid` header (a
  function URL's answers: `x-amzn-requestid`).
- Requests over 6 MB are refused with 413 (Lambda's synchronous payload limit, under the HTTP API's
  own 10 MB; a function URL's limit too).

Function URLs (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html): every method and
path go to the function; the event is format 2.0 with routeKey `$default`, no pathParameters, and
accountId `anonymous` (AuthType NONE).
"""

import base64
import binascii
import json
import logging
import re
import secrets
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from dev_stack.invoker import InvocationResult, Invoker
from dev_stack.template import DEFAULT_ROUTE, LOCAL_ACCOUNT_ID, StackDefinition

gateway_logger = logging.getLogger("dev_stack.gateway")
function_url_logger = logging.getLogger("dev_stack.function_url")

LOCAL_API_ID = "local"
LOCAL_FUNCTION_URL_ID = "local"
ADMIN_PREFIX = "/_local/"
MAX_REQUEST_BYTES = 6 * 1024 * 1024
TEXT_MEDIA_TYPES = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/graphql",
    }
)
# Hop-by-hop headers concern one connection; a proxy does not pass them on.
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)
RESPONSE_HEADERS_SET_BY_SERVER = frozenset(
    {"content-length", "transfer-encoding", "connection", "date", "server"}
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

type AdminRoute = Callable[[dict[str, str], bytes], tuple[int, Any]]
"""A local-only route: (path parameters, body) → (status, JSON-serializable body)."""


# --- events ----------------------------------------------------------------------------------------


def build_http_api_event(
    *,
    method: str,
    raw_path: str,
    raw_query_string: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    route_key: str,
    path_parameters: Mapping[str, str],
    source_ip: str,
    domain_name: str,
    stage: str = "$default",
    server_port: int | None = None,
    scheme: str = "http",
    protocol: str = "HTTP/1.1",
    request_id: str | None = None,
    time_epoch_ms: int | None = None,
    account_id: str = LOCAL_ACCOUNT_ID,
    api_id: str = LOCAL_API_ID,
) -> dict[str, Any]:
    """The event API Gateway sends a Lambda proxy integration (payload format 2.0) for a request.

    `raw_path` is the path as the client sent it, percent-encoded: the event carries it decoded.
    """
    return _format_2_event(
        method=method,
        path=decode_path(raw_path),
        raw_query_string=raw_query_string,
        headers=headers,
        body=body,
        route_key=route_key,
        path_parameters=path_parameters,
        source_ip=source_ip,
        domain_name=domain_name,
        stage=stage,
        server_port=server_port,
        scheme=scheme,
        protocol=protocol,
        request_id=request_id or _api_gateway_request_id(),
        time_epoch_ms=time_epoch_ms,
        account_id=account_id,
        api_id=api_id,
    )


def build_function_url_event(
    *,
    method: str,
    raw_path: str,
    raw_query_string: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    domain_name: str,
    server_port: int | None = None,
    scheme: str = "http",
    protocol: str = "HTTP/1.1",
    request_id: str | None = None,
    time_epoch_ms: int | None = None,
    url_id: str = LOCAL_FUNCTION_URL_ID,
) -> dict[str, Any]:
    """The event a function URL (AuthType NONE) sends its function: format 2.0, route `$default`."""
    return _format_2_event(
        method=method,
        path=raw_path or "/",
        raw_query_string=raw_query_string,
        headers=headers,
        body=body,
        route_key=DEFAULT_ROUTE,
        path_parameters={},
        source_ip=source_ip,
        domain_name=domain_name,
        stage="$default",
        server_port=server_port,
        scheme=scheme,
        protocol=protocol,
        request_id=request_id or str(uuid.uuid4()),
        time_epoch_ms=time_epoch_ms,
        account_id="anonymous",
        api_id=url_id,
    )


def _format_2_event(
    *,
    method: str,
    path: str,
    raw_query_string: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    route_key: str,
    path_parameters: Mapping[str, str],
    source_ip: str,
    domain_name: str,
    stage: str,
    server_port: int | None,
    scheme: str,
    protocol: str,
    request_id: str,
    time_epoch_ms: int | None,
    account_id: str,
    api_id: str,
) -> dict[str, Any]:
    epoch_ms = time_epoch_ms if time_epoch_ms is not None else int(time.time() * 1000)
    joined, cookies = _event_headers(headers, body, source_ip, server_port, scheme, epoch_ms)
    host = _host_without_port(domain_name)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    query_parameters = query_string_parameters(raw_query_string)
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": method,
            "path": path,
            "protocol": protocol,
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": _request_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        text = _body_text(body, joined.get("content-type"))
        event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def _event_headers(
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    server_port: int | None,
    scheme: str,
    epoch_ms: int,
) -> tuple[dict[str, str], list[str]]:
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        elif lower not in HOP_BY_HOP_HEADERS and lower != "content-length":
            joined[lower] = f"{joined[lower]},{value}" if lower in joined else value
    forwarded_for = joined.get("x-forwarded-for")
    joined["x-forwarded-for"] = f"{forwarded_for}, {source_ip}" if forwarded_for else source_ip
    if server_port is not None:
        joined["x-forwarded-port"] = str(server_port)
    joined["x-forwarded-proto"] = scheme
    joined.setdefault("x-amzn-trace-id", f"Root=1-{epoch_ms // 1000:08x}-{secrets.token_hex(12)}")
    joined["content-length"] = str(len(body))
    return joined, cookies


def _host_without_port(authority: str) -> str:
    if authority.startswith("["):  # [::1]:3000
        return authority[1:].split("]", 1)[0]
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def query_string_parameters(raw_query_string: str) -> dict[str, str]:
    """Decoded query parameters, a repeated name's values joined with commas (format 2.0)."""
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query_string, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def decode_path(raw_path: str) -> str:
    return unquote(raw_path or "/", errors="replace")


def is_text_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return (
        media_type.startswith("text/")
        or media_type in TEXT_MEDIA_TYPES
        or media_type.endswith(("+json", "+xml"))
    )


def _body_text(body: bytes, content_type: str | None) -> str | None:
    if not is_text_media_type(content_type):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _api_gateway_request_id() -> str:
    # API Gateway's request ids look like "Cx8tFhRyIAMEV6Q=": 11 random bytes in base64.
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")


def _request_time(epoch_ms: int) -> str:
    moment = time.gmtime(epoch_ms / 1000)
    month = _MONTHS[moment.tm_mon - 1]  # not %b: that follows the locale
    return f"{moment.tm_mday:02d}/{month}/{moment.tm_year}:{time.strftime('%H:%M:%S', moment)} +0000"


# --- responses -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class MalformedResponseError(ValueError):
    """The handler's result is not a response API Gateway can send."""


def json_response(status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> HttpResponse:
    encoded = json.dumps(body, default=str).encode("utf-8")
    return HttpResponse(status, (("content-type", "application/json"), *headers), encoded)


NOT_FOUND = json_response(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
INTERNAL_SERVER_ERROR = json_response(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "Internal Server Error"})
REQUEST_TOO_LARGE = json_response(
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": "Request Entity Too Large"}
)


def response_from_payload(payload: Any) -> HttpResponse:
    """The HTTP response API Gateway sends for a format 2.0 result (MalformedResponseError if none)."""
    if not (isinstance(payload, dict) and "statusCode" in payload):
        return json_response(HTTPStatus.OK, payload)
    status = payload["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponseError(f"statusCode must be an HTTP status, got {status!r}")
    headers: list[tuple[str, str]] = []
    raw_headers = payload.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise MalformedResponseError(f"headers must be an object, got {raw_headers!r}")
    for name, value in raw_headers.items():
        if isinstance(value, dict | list) or value is None:
            raise MalformedResponseError(f"header {name} must be a text value, got {value!r}")
        if str(name).lower() not in RESPONSE_HEADERS_SET_BY_SERVER:
            headers.append((str(name), _header_text(value)))
    cookies = payload.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
        raise MalformedResponseError(f"cookies must be a list of text, got {cookies!r}")
    headers.extend(("set-cookie", cookie) for cookie in cookies)
    body = payload.get("body")
    if body is None:
        content = b""
    elif not isinstance(body, str):
        raise MalformedResponseError(f"body must be text, got {type(body).__name__}")
    elif payload.get("isBase64Encoded"):
        try:
            content = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResponseError("isBase64Encoded is true but the body is not base64") from None
    else:
        content = body.encode("utf-8")
    return HttpResponse(status, tuple(headers), content)


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- routing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteTarget:
    route_key: str
    function: str | None  # the function's logical id, or None for an admin route
    admin: AdminRoute | None = None


@dataclass(frozen=True)
class RouteMatch:
    target: RouteTarget
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class MethodNotAllowed:
    allowed: tuple[str, ...]


class _PathTemplate:
    """One route's path, matched segment by segment; literal beats {variable} beats {greedy+}."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.segments = path.split("/")[1:]

    def match(self, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
        """(specificity, path parameters), or None when the path does not match."""
        parts = path.split("/")[1:]
        parameters: dict[str, str] = {}
        score: list[int] = []
        for index, segment in enumerate(self.segments):
            if segment.startswith("{") and segment.endswith("+}"):
                rest = "/".join(parts[index:])
                if not rest:
                    return None
                parameters[segment[1:-2]] = rest
                score.append(0)
                return tuple(score), parameters
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                if not parts[index]:
                    return None
                parameters[segment[1:-1]] = parts[index]
                score.append(1)
            elif segment == parts[index]:
                score.append(2)
            else:
                return None
        if len(parts) != len(self.segments):
            return None
        return tuple(score), parameters


class Router:
    """API Gateway's route selection over (method, path, target) entries."""

    def __init__(self, entries: Iterable[tuple[str, str, RouteTarget]]) -> None:
        self._routes: list[tuple[str, _PathTemplate, RouteTarget]] = []
        self._default: RouteTarget | None = None
        for method, path, target in entries:
            if path == DEFAULT_ROUTE:
                self._default = target
            else:
                self._routes.append((method.upper(), _PathTemplate(path), target))

    def match(self, method: str, path: str) -> RouteMatch | MethodNotAllowed | None:
        best: tuple[tuple[int, tuple[int, ...], int], RouteMatch] | None = None
        path_methods: set[str] = set()
        for route_method, template, target in self._routes:
            matched = template.match(path)
            if matched is None:
                continue
            path_methods.add(route_method)
            if route_method not in (method, "ANY"):
                continue
            specificity = matched[0]
            greedy = specificity[-1:] == (0,)
            rank = (0 if greedy else 1, specificity, 1 if route_method == method else 0)
            if best is None or rank > best[0]:
                best = (rank, RouteMatch(target, matched[1]))
        if best is not None:
            return best[1]
        if self._default is not None:
            return RouteMatch(self._default, {})
        if path_methods:
            return MethodNotAllowed(tuple(sorted(path_methods)))
        return None


# --- servers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query as sent
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client_ip: str
    protocol: str

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0] or "/"

    @property
    def raw_query_string(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class _RequestTooLargeError(Exception):
    pass


class _BadRequestError(Exception):
    pass


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a long invocation to finish

    def __init__(self, address: tuple[str, int], owner: "LocalHttpServer") -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.owner = owner
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dev_stack"
    sys_version = ""
    server: _ThreadingServer

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches a request to do_<METHOD>: every method is served, routes decide.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        owner = self.server.owner
        started = time.perf_counter()
        try:
            body = self._read_body()
        except _RequestTooLargeError:
            self.close_connection = True
            response, label = REQUEST_TOO_LARGE, "-"
        except _BadRequestError as error:
            self.close_connection = True
            response, label = json_response(HTTPStatus.BAD_REQUEST, {"message": str(error)}), "-"
        else:
            request = HttpRequest(
                method=self.command,
                target=self.path if self.path.startswith("/") else _origin_form(self.path),
                headers=tuple(self.headers.items()),
                body=body,
                client_ip=str(self.client_address[0]),
                protocol=self.request_version,
            )
            try:
                response, label = owner.respond(request)
            except Exception:  # the server must answer whatever goes wrong in it
                owner.logger.exception("%s %s failed in the local server", self.command, self.path)
                response, label = INTERNAL_SERVER_ERROR, "-"
        elapsed_ms = (time.perf_counter() - started) * 1000
        # Logged before the answer goes out, so a client that has its answer finds the line logged.
        owner.logger.info(
            "%s %s %d %.1fms %s", self.command, self.path.split("?", 1)[0], response.status, elapsed_ms, label
        )
        self._send(response)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("content-length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BadRequestError("Content-Length is not a number") from None
        if length < 0:
            raise _BadRequestError("Content-Length is negative")
        if length > MAX_REQUEST_BYTES:
            raise _RequestTooLargeError
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _BadRequestError("malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                raise _RequestTooLargeError
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        # 1xx, 204 and 304 responses have no body; a HEAD response announces the GET body's length.
        bodiless_status = response.status < 200 or response.status in (204, 304)
        if not bodiless_status:
            self.send_header("content-length", str(len(response.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if not bodiless_status and self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed requests http.server rejects itself (bad request line, headers too long) get
        # the gateway's JSON body, not an HTML page.
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self.close_connection = True
        body = json.dumps({"message": message or phrase}).encode("utf-8")
        self.send_response(code, message)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        self.server.owner.logger.debug(format, *args)


def _origin_form(target: str) -> str:
    # An absolute-form request target (http://host/path?query) names the same resource as /path?query.
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*", target)
    rest = target[match.end() :] if match else target
    return rest if rest.startswith("/") else "/" + rest


class LocalHttpServer(ABC):
    """A ThreadingHTTPServer on host:port (0: any free port), bound at construction, served by start()."""

    logger: logging.Logger = gateway_logger

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _ThreadingServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"{type(self).__name__}:{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "LocalHttpServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @abstractmethod
    def respond(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        """The response, and what served it (a function's logical id, "admin" or "-") for the access log."""

    def domain_name(self, request: HttpRequest) -> str:
        return request.header("host") or f"{self.host}:{self.port}"

    def event_fields(self, request: HttpRequest, request_id: str) -> dict[str, Any]:
        """What an API Gateway event and a function URL event both take from the request."""
        return {
            "method": request.method,
            "raw_path": request.raw_path,
            "raw_query_string": request.raw_query_string,
            "headers": request.headers,
            "body": request.body,
            "source_ip": request.client_ip,
            "domain_name": self.domain_name(request),
            "server_port": self.port,
            "protocol": request.protocol,
            "request_id": request_id,
        }


class HttpApiGateway(LocalHttpServer):
    """Every HttpApi route of the stack, plus local-only admin routes under /_local/."""

    logger = gateway_logger

    def __init__(
        self,
        stack: StackDefinition,
        invoker: Invoker,
        host: str = "127.0.0.1",
        port: int = 0,
        admin_routes: Mapping[tuple[str, str], AdminRoute] = {},
    ) -> None:
        entries: list[tuple[str, str, RouteTarget]] = [
            (route.method, route.path, RouteTarget(route.route_key, route.function)) for route in stack.routes
        ]
        for (method, path), admin in admin_routes.items():
            if not path.startswith(ADMIN_PREFIX):
                raise ValueError(f"admin route {method} {path} must be under {ADMIN_PREFIX}")
            entries.append((method.upper(), path, RouteTarget(f"{method.upper()} {path}", None, admin)))
        self._router = Router(entries)
        self._invoker = invoker
        super().__init__(host, port)

    def respond(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        request_id = _api_gateway_request_id()
        path = decode_path(request.raw_path)
        matched = self._router.match(request.method, path)
        if matched is None:
            return _with_request_id(NOT_FOUND, request_id), "-"
        if isinstance(matched, MethodNotAllowed):
            response = json_response(
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"message": "Method Not Allowed"},
                [("allow", ", ".join(matched.allowed))],
            )
            return _with_request_id(response, request_id), "-"
        target = matched.target
        if target.admin is not None:
            return self._admin(target, matched.path_parameters, request), "admin"
        assert target.function is not None
        event = build_http_api_event(
            **self.event_fields(request, request_id),
            route_key=target.route_key,
            path_parameters=matched.path_parameters,
        )
        result = self._invoker.invoke(target.function, event)
        return _with_request_id(self._http_response(result), request_id), target.function

    def _http_response(self, result: InvocationResult) -> HttpResponse:
        if result.error is not None:
            return INTERNAL_SERVER_ERROR
        try:
            return response_from_payload(result.payload)
        except MalformedResponseError as error:
            self.logger.error("%s returned a malformed response: %s", result.function, error)
            return INTERNAL_SERVER_ERROR

    def _admin(
        self, target: RouteTarget, path_parameters: dict[str, str], request: HttpRequest
    ) -> HttpResponse:
        assert target.admin is not None
        try:
            status, body = target.admin(path_parameters, request.body)
            return json_response(status, body)
        except Exception:
            self.logger.exception("admin route %s failed", target.route_key)
            return INTERNAL_SERVER_ERROR


class FunctionUrlServer(LocalHttpServer):
    """A function's URL: every method and path invoke the function with a function URL event."""

    logger = function_url_logger

    def __init__(
        self, stack: StackDefinition, invoker: Invoker, function: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        definition = stack.functions.get(function)
        if definition is None:
            raise ValueError(f"the stack has no function {function}")
        if not definition.has_function_url:
            raise ValueError(f"{function} has no FunctionUrlConfig in the template")
        self._function = function
        self._invoker = invoker
        super().__init__(host, port)

    @property
    def function(self) -> str:
        return self._function

    def respond(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        # A function URL's requestContext.requestId is the invocation's Lambda request id.
        request_id = str(uuid.uuid4())
        event = build_function_url_event(**self.event_fields(request, request_id))
        result = self._invoker.invoke(self._function, event, request_id=request_id)
        request_header = ("x-amzn-requestid", result.request_id)
        if result.error is None:
            try:
                response = response_from_payload(result.payload)
                return HttpResponse(
                    response.status, (*response.headers, request_header), response.body
                ), self._function
            except MalformedResponseError as error:
                self.logger.error("%s returned a malformed response: %s", self._function, error)
        failure = (("content-type", "text/plain; charset=utf-8"), request_header)
        return HttpResponse(HTTPStatus.BAD_GATEWAY, failure, b"Internal Server Error"), self._function


def _with_request_id(response: HttpResponse, request_id: str) -> HttpResponse:
    return HttpResponse(response.status, (*response.headers, ("apigw-requestid", request_id)), response.body)
