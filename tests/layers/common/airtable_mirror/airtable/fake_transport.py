"""A scripted stand-in for the network, and recorders for the client's pacer and sleep.

``ScriptedTransport`` is a requests adapter: mounted on a session, it answers each request with the next
scripted reply (a response or a raised requests exception) and records what it was sent.
"""

import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

_Reply = Callable[[requests.PreparedRequest], requests.Response]


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    timeout: object

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    def json(self) -> Any:
        assert self.body is not None, "the request has no body"
        return json.loads(self.body)


class ScriptedTransport(BaseAdapter):
    def __init__(self, events: list[str] | None = None) -> None:
        super().__init__()
        self.sent: list[SentRequest] = []
        self.events = events if events is not None else []
        self._replies: deque[_Reply] = deque()

    def reply_json(self, status: int, body: object, headers: Mapping[str, str] | None = None) -> None:
        self.reply_text(status, json.dumps(body), {"Content-Type": "application/json", **(headers or {})})

    def reply_text(self, status: int, text: str, headers: Mapping[str, str] | None = None) -> None:
        def reply(request: requests.PreparedRequest) -> requests.Response:
            response = requests.Response()
            response.status_code = status
            response.headers = CaseInsensitiveDict(headers or {})
            response._content = text.encode()
            response.encoding = "utf-8"
            response.url = request.url or ""
            response.request = request
            response.reason = "scripted"
            return response

        self._replies.append(reply)

    def raise_error(
        self, error_class: type[requests.RequestException], message: str = "scripted failure"
    ) -> None:
        def reply(request: requests.PreparedRequest) -> requests.Response:
            # Like requests, attach the request (and so its Authorization header) to the exception.
            raise error_class(message, request=request)

        self._replies.append(reply)

    @property
    def pending(self) -> int:
        return len(self._replies)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: object = None,
        verify: bool | str = True,
        cert: object = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        self.sent.append(
            SentRequest(
                method=request.method or "",
                url=request.url or "",
                headers=dict(request.headers),
                body=body if isinstance(body, bytes) else None,
                timeout=timeout,
            )
        )
        self.events.append("send")
        assert self._replies, f"unscripted request: {request.method} {request.url}"
        return self._replies.popleft()(request)

    def close(self) -> None:
        """Nothing to release."""


@dataclass
class RecordingPacer:
    """Implements the Pacer protocol structurally, recording the calls."""

    events: list[str] = field(default_factory=list)
    hold_offs: list[float] = field(default_factory=list)

    @property
    def acquires(self) -> int:
        return self.events.count("acquire")

    def acquire(self) -> None:
        self.events.append("acquire")

    def hold_off(self, seconds: float) -> None:
        self.hold_offs.append(seconds)
        self.events.append("hold_off")
