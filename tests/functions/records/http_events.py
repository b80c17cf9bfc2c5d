"""HTTP requests as API Gateway HTTP API (payload v2) events for the records handler, and a WSGI app
that serves the handler in-process (schemathesis drives it through its WSGI transport).

The events are built from events/records_list.json, so they keep the shape `sam local invoke` uses;
only the route, path and query change. Like API Gateway, the event carries the raw query string and
`queryStringParameters` with repeated names joined by commas.
"""

import base64
import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from functions.records import app
from tests.functions.conftest import FakeLambdaContext, load_event

type QueryPairs = Mapping[str, str] | Sequence[tuple[str, str]]


def http_event(method: str, path: str, raw_query: str = "") -> dict[str, Any]:
    event = copy.deepcopy(load_event("records_list.json"))
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["rawQueryString"] = raw_query
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    if parameters:
        event["queryStringParameters"] = parameters
    else:
        event.pop("queryStringParameters", None)
    event.pop("pathParameters", None)
    return event


def get_event(path: str, query: QueryPairs = ()) -> dict[str, Any]:
    pairs = list(query.items()) if isinstance(query, Mapping) else list(query)
    return http_event("GET", path, urlencode(pairs))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def invoke(event: dict[str, Any]) -> Answer:
    response = app.lambda_handler(event, FakeLambdaContext())
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return Answer(response["statusCode"], dict(response.get("headers") or {}), body)


def get(path: str, query: QueryPairs = ()) -> Answer:
    return invoke(get_event(path, query))


type StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def wsgi_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The records handler behind WSGI: each request becomes an HTTP API event, as API Gateway makes it."""
    raw_path = environ.get("RAW_URI", "").split("?", 1)[0] or environ.get("PATH_INFO", "/")
    event = http_event(environ["REQUEST_METHOD"], raw_path, environ.get("QUERY_STRING", ""))
    answer = invoke(event)
    reason = "OK" if answer.status < 400 else "Error"
    start_response(f"{answer.status} {reason}", list(answer.headers.items()))
    return [answer.text.encode("utf-8")]
