"""Shared by the webhook tests: a small base with a webhook service over it, and a ping receiver."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from airtable_emulator.clock import Clock
from airtable_emulator.model import AirtableState
from airtable_emulator.settings import EmulatorSettings
from airtable_emulator.webhooks import WebhookService

BASE_ID = "appWebhookTest001"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

TABLES: list[dict[str, Any]] = [
    {
        "name": "People",
        "fields": [{"name": "Name", "type": "singleLineText"}, {"name": "Age", "type": "number"}],
    },
    {
        "name": "Projects",
        "fields": [
            {"name": "Title", "type": "singleLineText"},
            {
                "name": "Status",
                "type": "singleSelect",
                "options": {"choices": [{"name": "Todo", "color": "blueLight2"}, {"name": "Done"}]},
            },
            {
                "name": "Tags",
                "type": "multipleSelects",
                "options": {"choices": [{"name": "red"}, {"name": "blue"}]},
            },
            {"name": "Owner", "type": "multipleRecordLinks", "options": {"linkedTable": "People"}},
            {"name": "Finished", "type": "checkbox"},
            {"name": "Files", "type": "multipleAttachments"},
            {"name": "Budget", "type": "number"},
            {"name": "Notes", "type": "multilineText"},
        ],
        "views": [{"name": "Grid view"}, {"name": "Open", "formula": "NOT({Finished})"}],
    },
]


@dataclass
class PresentedAttachments:
    """A stand-in for the emulator's attachment presenter: gives each attachment a URL, counts calls."""

    calls: int = 0
    seen: list[list[dict[str, Any]]] = field(default_factory=list)

    def __call__(self, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls += 1
        self.seen.append(attachments)
        return [{**item, "url": f"https://files.test/{item['id']}/{self.calls}"} for item in attachments]


@dataclass
class Demo:
    state: AirtableState
    clock: Clock
    service: WebhookService
    presenter: PresentedAttachments

    def table_id(self, name: str) -> str:
        return self.state.table(BASE_ID, name).id

    def field_id(self, table: str, name: str) -> str:
        return self.state.table(BASE_ID, table).field(name).id

    def options(self, table: str, name: str) -> dict[str, Any]:
        options = self.state.table(BASE_ID, table).field(name).options
        assert options is not None
        return options

    def choice_ids(self, table: str, name: str) -> dict[str, str]:
        return {choice["name"]: choice["id"] for choice in self.options(table, name)["choices"]}

    def view_id(self, table: str, name: str) -> str:
        return self.state.table(BASE_ID, table).view(name).id

    def hook(
        self, filters: dict[str, Any], includes: dict[str, Any] | None = None, url: str | None = None
    ) -> str:
        options: dict[str, Any] = {"filters": filters}
        if includes is not None:
            options["includes"] = includes
        created = self.service.create_webhook(BASE_ID, {"options": options}, url)
        return str(created["id"])

    def payloads(self, webhook_id: str, cursor: int = 1) -> list[dict[str, Any]]:
        """Every payload from ``cursor`` on, following ``mightHaveMore``."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.service.payloads(webhook_id, cursor)
            found.extend(page["payloads"])
            if not page["mightHaveMore"]:
                return found
            cursor = page["cursor"]

    def listed(self, webhook_id: str) -> dict[str, Any]:
        return next(hook for hook in self.service.list_webhooks(BASE_ID) if hook["id"] == webhook_id)


def make_demo(**settings: Any) -> Demo:
    clock = Clock(START)
    state = AirtableState(clock=clock, settings=EmulatorSettings(**settings), seed=11)
    state.create_base("Webhook tests", TABLES, base_id=BASE_ID)
    presenter = PresentedAttachments()
    service = WebhookService(state, present_attachments=presenter)
    return Demo(state, clock, service, presenter)


def running(demo: Demo) -> Iterator[Demo]:
    """Yield ``demo`` with its ping thread started; stop it afterwards."""
    demo.service.start()
    try:
        yield demo
    finally:
        demo.service.stop()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A notification endpoint: records raw requests, answers scripted statuses, can stall."""

    statuses: list[int] = field(default_factory=list)  # answered in order, then default_status
    default_status: int = 204
    delay_seconds: float = 0.0
    hold: threading.Event | None = None  # when set, a request waits for it before answering
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/ping"

    def serve(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default_status
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(10)
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
