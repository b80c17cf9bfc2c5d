from collections.abc import Callable
from typing import Any

import pytest
import requests

from airtable_mirror.airtable import AirtableClient
from tests.layers.common.airtable_mirror.airtable.fake_transport import RecordingPacer, ScriptedTransport

TOKEN = "patFAKEtoken00001.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
BASE_ID = "appAbCdEf01234567"
API_URL = "https://api.airtable.test"

ClientFactory = Callable[..., AirtableClient]


@pytest.fixture
def events() -> list[str]:
    """Pacer calls and sends, in order."""
    return []


@pytest.fixture
def transport(events: list[str]) -> ScriptedTransport:
    return ScriptedTransport(events)


@pytest.fixture
def pacer(events: list[str]) -> RecordingPacer:
    return RecordingPacer(events=events)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(transport: ScriptedTransport, pacer: RecordingPacer, sleeps: list[float]) -> ClientFactory:
    def make(**overrides: Any) -> AirtableClient:
        session = requests.Session()
        session.mount("https://", transport)
        session.mount("http://", transport)
        options: dict[str, Any] = {
            "base_id": BASE_ID,
            "token_provider": lambda: TOKEN,
            "api_url": API_URL,
            "pacer": pacer,
            "session": session,
            "sleep": sleeps.append,
        }
        options.update(overrides)
        return AirtableClient(**options)

    return make


@pytest.fixture
def client(make_client: ClientFactory) -> AirtableClient:
    return make_client()
