"""Helpers for the emulator's HTTP tests: a requests client, error-body access, a small test base."""

from collections.abc import Callable
from typing import Any

import requests

from airtable_emulator.emulator import Emulator
from airtable_emulator.settings import EmulatorSettings

MakeEmulator = Callable[..., Emulator]

# A small base with one table of every common type, for the REST tests.
ITEMS_SPEC: dict[str, Any] = {
    "name": "Items",
    "fields": [
        {"name": "Name", "type": "singleLineText"},
        {"name": "Count", "type": "number", "options": {"precision": 0}},
        {"name": "Done", "type": "checkbox", "options": {"color": "greenBright", "icon": "check"}},
        {
            "name": "Color",
            "type": "singleSelect",
            "options": {"choices": [{"name": "red"}, {"name": "green"}, {"name": "blue"}]},
        },
        {
            "name": "Tags",
            "type": "multipleSelects",
            "options": {"choices": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
        },
        {"name": "Notes", "type": "multilineText"},
        {"name": "Due", "type": "date", "options": {"dateFormat": {"name": "iso", "format": "YYYY-MM-DD"}}},
        {"name": "Files", "type": "multipleAttachments", "options": {"isReversed": False}},
        {"name": "Owner", "type": "multipleRecordLinks", "options": {"linkedTable": "Owners"}},
    ],
    "views": [
        {"name": "Grid view"},
        {"name": "Open by count", "formula": "NOT({Done})", "sort": [("Count", "desc")]},
    ],
}
OWNERS_SPEC: dict[str, Any] = {"name": "Owners", "fields": [{"name": "Name", "type": "singleLineText"}]}


def quiet_settings(**overrides: Any) -> EmulatorSettings:
    """Default settings with rate limiting off, plus ``overrides``."""
    values: dict[str, Any] = {"rate_limit_enabled": False, **overrides}
    return EmulatorSettings(**values)


class Client:
    """requests against one emulator: paths are relative to its URL, the token is sent by default."""

    def __init__(self, emulator: Emulator, token: str | None = None) -> None:
        self.emulator = emulator
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token or emulator.token}"

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.emulator.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


def error_type(response: requests.Response) -> Any:
    """The ``error.type`` of an object envelope, or the bare string of ``{"error": "..."}``."""
    error = response.json()["error"]
    return error["type"] if isinstance(error, dict) else error
