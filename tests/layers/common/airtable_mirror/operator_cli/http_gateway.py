"""A minimal API Gateway for the CLI's tests: HTTP on a free loopback port, each route of the
template.yaml HTTP API the CLI uses handed to its real handler as a payload-format-2.0 event.

It records every request's headers, so a test can check what the CLI signed or sent.
"""

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote

from functions.records import app as records_app
from functions.sync_api import app as sync_api_app
from functions.webhook_status import app as webhook_status_app
from tests.functions.conftest import FakeLambdaContext

# (method, route key path, handler module); {name} is one path segment.
ROUTES: list[tuple[str, str, ModuleType]] = [
    ("POST", "/sync/{table}", sync_api_app),
    ("GET", "/sync/runs", sync_api_app),
    ("GET", "/sync/runs/{run_id}", sync_api_app),
    ("GET", "/tables", records_app),
    ("GET", "/webhooks", webhook_status_app),
]


def _pattern(route: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route) + "$")


_COMPILED = [(method, route, _pattern(route), module) for method, route, module in ROUTES]


@dataclass
class ReceivedRequest:
    method: str
    path: str  # as sent, with the query string
    headers: dict[str, str]


@dataclass
class Gateway:
    url: str
    requests: list[ReceivedRequest] = field(default_factory=list)
    # Handlers keep the current event on a module-level app: one invocation at a time, as in Lambda.
    lock: threading.Lock = field(default_factory=threading.Lock)


def _event(method: str, route: str, raw_path: str, query: str, headers: dict[str, str]) -> dict[str, Any]:
    path = unquote(raw_path)
    match = _pattern(route).match(path)
    parameters = dict(parse_qsl(query, keep_blank_values=True))
    route_key = f"{method} {route}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if parameters:
        event["queryStringParameters"] = parameters
    if match and match.groupdict():
        event["pathParameters"] = match.groupdict()
    return event


def _handler_class(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            gateway.requests.append(ReceivedRequest(method, self.path, headers))
            raw_path, _, query = self.path.partition("?")
            for route_method, route, pattern, module in _COMPILED:
                if route_method == method and pattern.match(unquote(raw_path)):
                    with gateway.lock:
                        event = _event(method, route, raw_path, query, headers)
                        result = module.lambda_handler(event, FakeLambdaContext())
                    self._answer(result["statusCode"], result.get("body") or "")
                    return
            self._answer(404, json.dumps({"message": "Not Found"}))

        def _answer(self, status: int, body: str) -> None:
            encoded = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(encoded)))
            self.end_headers()
            self.wfile.write(encoded)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve_gateway() -> Iterator[Gateway]:
    gateway = Gateway(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(gateway))
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
