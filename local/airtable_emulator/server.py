"""The HTTP side: one request in, Airtable's answer out.

:class:`ApiApp` turns a raw request into a :class:`Reply` (URL length, auth, routing, rate limits,
faults, scopes, handlers, errors); :class:`ApiServer` is a ``ThreadingHTTPServer`` speaking HTTP/1.1
keep-alive around it. No request may crash or hang the server: every handler error becomes a logged
500 ``SERVER_ERROR``.
"""

import contextlib
import hmac
import json
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from .attachments import PATH_PREFIX as ATTACHMENTS_PREFIX
from .attachments import AttachmentUrls
from .errors import AirtableApiError, model_not_found, route_not_found
from .faults import FaultInjector
from .listing import Query
from .ratelimit import RateLimiter
from .rest import MetadataApi, RecordsApi
from .settings import EmulatorSettings

logger = logging.getLogger("airtable_emulator")

READ = "data.records:read"
WRITE = "data.records:write"
SCHEMA = "schema.bases:read"
SCHEMA_WRITE = "schema.bases:write"
WEBHOOKS = "webhook:manage"
ALL_SCOPES = frozenset({READ, WRITE, SCHEMA, SCHEMA_WRITE, WEBHOOKS})
JSON_CONTENT_TYPE = "application/json; charset=utf-8"


class WebhookHandler(Protocol):
    def handle(
        self, method: str, base_id: str, rest: list[str], query: dict[str, list[str]], body: Any | None
    ) -> tuple[int, Any]: ...


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Close the connection without answering (an injected "drop").
    drop: bool = False


def json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Reply:
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Reply(status, payload, {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def error_reply(error: AirtableApiError) -> Reply:
    return json_reply(error.status, error.body(), error.headers)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(raw: bytes) -> Any | None:
    """The request's JSON (None when empty); 400 ``INVALID_REQUEST_BODY`` when it is not JSON."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise AirtableApiError(400, "INVALID_REQUEST_BODY", "Could not parse request body") from None


Action = Callable[[Query, bytes], tuple[int, Any]]


@dataclass
class Route:
    base_id: str | None
    scopes: frozenset[str]
    action: Action


class ApiApp:
    def __init__(
        self,
        *,
        settings: EmulatorSettings,
        token: str,
        scopes: frozenset[str],
        records: RecordsApi,
        metadata: MetadataApi,
        attachments: AttachmentUrls,
        rate_limiter: RateLimiter,
        faults: FaultInjector,
        webhooks: WebhookHandler,
        wait: Callable[[float], bool],
    ) -> None:
        self.settings = settings
        self.token = token
        self.scopes = scopes
        self.records = records
        self.metadata = metadata
        self.attachments = attachments
        self.rate_limiter = rate_limiter
        self.faults = faults
        self._webhooks = webhooks
        # Sleeps for an injected delay; False when the server is stopping meanwhile.
        self._wait = wait

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one request; ``headers`` has lower-case names."""
        try:
            return self._handle(method, target, headers, body)
        except AirtableApiError as error:
            return error_reply(error)
        except Exception:
            logger.exception("emulator bug while answering %s %s", method, target[:300])
            return error_reply(
                AirtableApiError(500, "SERVER_ERROR", "Server encountered an unexpected condition")
            )

    def _handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        host = headers.get("host") or "localhost"
        if len("http://") + len(host) + len(target) >= self.settings.max_url_length:
            raise AirtableApiError(
                self.settings.url_too_long_status,
                "URL_TOO_LONG",
                f"Request URLs must be shorter than {self.settings.max_url_length} characters; "
                "use POST .../listRecords to list records with long parameters",
            )
        split = urlsplit(target)
        path = split.path
        if path.startswith(ATTACHMENTS_PREFIX):
            return self._download(method, path)
        self._authenticate(headers)
        query: Query = parse_qs(split.query, keep_blank_values=True)
        segments = [unquote(part) for part in path.split("/")[1:]]
        route = self._route(method, segments)
        self.rate_limiter.check(token=self.token, base_id=route.base_id if route else None)
        fault = self.faults.choose(path)
        if fault is not None:
            if fault.kind == "drop":
                return Reply(0, drop=True)
            if fault.kind == "delay":
                if not self._wait(fault.delay_seconds) or fault.after_delay == "drop":
                    return Reply(0, drop=True)
            else:
                raise fault.error()
        if route is None:
            raise route_not_found()
        if not route.scopes <= self.scopes:
            raise model_not_found()
        status, answer = route.action(query, body)
        return json_reply(status, answer)

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        scheme, _, credentials = (headers.get("authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.strip().encode(), self.token.encode()
        ):
            raise AirtableApiError(401, "AUTHENTICATION_REQUIRED", "Authentication required")

    def _download(self, method: str, path: str) -> Reply:
        if method not in {"GET", "HEAD"}:
            raise route_not_found()
        download = self.attachments.download(path)
        quoted = download.filename.replace('"', "")
        return Reply(
            200,
            download.content,
            {"Content-Type": download.content_type, "Content-Disposition": f'inline; filename="{quoted}"'},
        )

    # --- routing --------------------------------------------------------------------------------

    def _route(self, method: str, segments: list[str]) -> Route | None:
        if len(segments) < 2 or segments[0] != "v0" or any(not part for part in segments):
            return None
        rest = segments[1:]
        if rest[0] == "meta":
            return self._meta_route(method, rest[1:])
        if rest[0] == "bases":
            if len(rest) >= 3 and rest[2] == "webhooks":
                return self._webhook_route(method, rest[1], rest[3:])
            return None
        if len(rest) < 2:
            return None
        base_id, table_key, tail = rest[0], rest[1], rest[2:]
        records = self.records

        def route(scope: str, action: Action) -> Route:
            return Route(base_id, frozenset({scope}), action)

        if not tail:
            if method == "GET":
                return route(READ, lambda q, _b: (200, records.list_get(base_id, table_key, q)))
            if method == "POST":
                return route(
                    WRITE, lambda q, b: (200, records.create(base_id, table_key, q, parse_json_body(b)))
                )
            if method in {"PATCH", "PUT"}:
                replace = method == "PUT"
                return route(
                    WRITE,
                    lambda q, b: (
                        200,
                        records.update_many(base_id, table_key, q, parse_json_body(b), replace=replace),
                    ),
                )
            if method == "DELETE":
                return route(WRITE, lambda q, _b: (200, records.delete_many(base_id, table_key, q)))
            return None
        if len(tail) != 1:
            return None
        (name,) = tail
        if name == "listRecords" and method == "POST":
            return route(
                READ, lambda q, b: (200, records.list_post(base_id, table_key, q, parse_json_body(b)))
            )
        if method == "GET":
            return route(READ, lambda q, _b: (200, records.get(base_id, table_key, name, q)))
        if method in {"PATCH", "PUT"}:
            replace = method == "PUT"
            return route(
                WRITE,
                lambda q, b: (
                    200,
                    records.update_one(base_id, table_key, name, q, parse_json_body(b), replace=replace),
                ),
            )
        if method == "DELETE":
            return route(WRITE, lambda q, _b: (200, records.delete_one(base_id, table_key, name, q)))
        return None

    def _meta_route(self, method: str, rest: list[str]) -> Route | None:
        if method == "PATCH":
            return self._schema_write_route(rest)
        if method != "GET" or not rest or rest[0] != "bases":
            return None
        if len(rest) == 1:
            return Route(None, frozenset({SCHEMA}), lambda q, _b: (200, self.metadata.list_bases(q)))
        if len(rest) == 3 and rest[2] == "tables":
            base_id = rest[1]
            return Route(
                base_id, frozenset({SCHEMA}), lambda q, _b: (200, self.metadata.base_schema(base_id, q))
            )
        return None

    def _schema_write_route(self, rest: list[str]) -> Route | None:
        """Update table (``bases/{b}/tables/{t}``) and update field (``…/fields/{f}``)."""
        if len(rest) < 4 or rest[0] != "bases" or rest[2] != "tables":
            return None
        base_id, table_key = rest[1], rest[3]
        scopes = frozenset({SCHEMA_WRITE})
        if len(rest) == 4:
            return Route(
                base_id,
                scopes,
                lambda _q, raw: (200, self.metadata.update_table(base_id, table_key, parse_json_body(raw))),
            )
        if len(rest) == 6 and rest[4] == "fields":
            field_key = rest[5]
            return Route(
                base_id,
                scopes,
                lambda _q, raw: (
                    200,
                    self.metadata.update_field(base_id, table_key, field_key, parse_json_body(raw)),
                ),
            )
        return None

    def _webhook_route(self, method: str, base_id: str, rest: list[str]) -> Route:
        def action(query: Query, raw: bytes) -> tuple[int, Any]:
            body = parse_json_body(raw) if method in {"POST", "PATCH", "PUT"} else None
            if method == "POST" and not rest:
                self._check_webhook_data_scopes(body)
            return self._webhooks.handle(method, base_id, list(rest), dict(query), body)

        return Route(base_id, frozenset({WEBHOOKS}), action)

    def _check_webhook_data_scopes(self, body: Any) -> None:
        """Creating a hook also needs the scopes of the data it watches (reference §6)."""
        try:
            data_types = body["specification"]["options"]["filters"]["dataTypes"]
        except (KeyError, TypeError):
            return  # the webhook service reports the malformed specification
        if not isinstance(data_types, list):
            return
        needed = set()
        if "tableData" in data_types:
            needed.add(READ)
        if {"tableFields", "tableMetadata"} & set(map(str, data_types)):
            needed.add(SCHEMA)
        if not needed <= self.scopes:
            raise model_not_found()


# --- the HTTP server --------------------------------------------------------------------------


class _BodyError(Exception):
    def __init__(self, error: AirtableApiError) -> None:
        super().__init__(error.message)
        self.error = error


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: ApiApp, settings: EmulatorSettings) -> None:
        self.app = app
        self.settings = settings
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Cut every open (keep-alive or mid-request) connection, so stopping never waits on one."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # So even an unparsable request line gets a status line and headers with its error.
    default_request_version = "HTTP/1.1"
    server: ApiServer
    # Idle keep-alive connections are closed after this long.
    timeout = 60

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and delayed
        # ACKs add ~40 ms to every answer on a keep-alive connection.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self.connection)

    def __getattr__(self, name: str) -> Any:
        # Every method, known or not, gets an Airtable-style answer rather than http.server's 501 page.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except _BodyError as failure:
            self.close_connection = True
            self._send(error_reply(failure.error))
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.app.handle(self.command, self.path, headers, body)
        if reply.drop:
            self._drop()
            return
        self._send(reply)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BodyError(
                AirtableApiError(400, "INVALID_REQUEST_BODY", "Invalid Content-Length")
            ) from None
        if length < 0:
            raise _BodyError(AirtableApiError(400, "INVALID_REQUEST_BODY", "Invalid Content-Length"))
        if length > self.server.settings.max_request_body_bytes:
            raise _BodyError(self._too_large())
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError(AirtableApiError(400, "INVALID_REQUEST_BODY", "Invalid chunk")) from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > self.server.settings.max_request_body_bytes:
                raise _BodyError(self._too_large())
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _too_large(self) -> AirtableApiError:
        return AirtableApiError(413, "REQUEST_TOO_LARGE", "The request body is too large")

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and reply.body:
                self.wfile.write(reply.body)
        except OSError:
            # The client went away (typically after its own timeout during an injected delay).
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, oversized headers) in Airtable's JSON shape."""
        self.close_connection = True
        error = AirtableApiError(code, "INVALID_REQUEST", message or "Bad request")
        try:
            self.send_response(code, message)
            body = json.dumps(error.body()).encode()
            self.send_header("Content-Type", JSON_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)
