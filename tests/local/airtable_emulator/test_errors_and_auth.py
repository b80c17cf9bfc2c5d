"""Auth, scopes and error envelopes: unknown routes, bases, tables, records, bad bodies, server bugs."""

import json
import logging
from http.client import HTTPConnection
from typing import Any

import pytest

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import Client, MakeEmulator, error_type

MODEL_NOT_FOUND = "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}],
)
def test_requests_without_the_token_get_401(
    emulator: Emulator, items_base: Base, headers: dict[str, str]
) -> None:
    client = Client(emulator)
    client.session.headers.pop("Authorization")
    response = client.get(f"/v0/{items_base.id}/Items", headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}
    }


def test_api_key_query_parameter_is_not_auth(emulator: Emulator, items_base: Base) -> None:
    client = Client(emulator)
    client.session.headers.pop("Authorization")
    assert client.get(f"/v0/{items_base.id}/Items", params={"api_key": emulator.token}).status_code == 401


def test_custom_token(make_emulator: MakeEmulator) -> None:
    emulator = make_emulator(token="patCustom.123")
    assert Client(emulator).get("/v0/meta/bases").status_code == 200
    assert Client(emulator, token="patEmulatorLocalToken.0000").get("/v0/meta/bases").status_code == 401


@pytest.mark.parametrize(
    ("scopes", "method", "path", "body"),
    [
        ({"data.records:write", "schema.bases:read", "webhook:manage"}, "GET", "/v0/{base}/Items", None),
        ({"data.records:write"}, "POST", "/v0/{base}/Items/listRecords", {}),
        ({"data.records:read"}, "POST", "/v0/{base}/Items", {"fields": {}}),
        ({"data.records:read"}, "DELETE", "/v0/{base}/Items/recAAAAAAAAAAAAAA", None),
        ({"data.records:read"}, "GET", "/v0/meta/bases/{base}/tables", None),
        ({"data.records:read"}, "GET", "/v0/meta/bases", None),
        ({"data.records:read"}, "GET", "/v0/bases/{base}/webhooks", None),
        (
            {"webhook:manage"},
            "POST",
            "/v0/bases/{base}/webhooks",
            {"specification": {"options": {"filters": {"dataTypes": ["tableData"]}}}},
        ),
        (
            {"webhook:manage", "data.records:read"},
            "POST",
            "/v0/bases/{base}/webhooks",
            {"specification": {"options": {"filters": {"dataTypes": ["tableFields"]}}}},
        ),
    ],
)
def test_missing_scopes_get_403(
    make_emulator: MakeEmulator, scopes: set[str], method: str, path: str, body: Any
) -> None:
    emulator = make_emulator(scopes=scopes)
    base = emulator.state.create_base(
        "b", [{"name": "Items", "fields": [{"name": "N", "type": "singleLineText"}]}]
    )
    response = Client(emulator).request(method, path.format(base=base.id), json=body)
    assert response.status_code == 403
    assert error_type(response) == MODEL_NOT_FOUND


def test_webhook_creation_with_the_data_scopes_passes_through(make_emulator: MakeEmulator) -> None:
    emulator = make_emulator(scopes={"webhook:manage", "data.records:read"})
    base = emulator.state.create_base(
        "b", [{"name": "Items", "fields": [{"name": "N", "type": "singleLineText"}]}]
    )
    spec = {"options": {"filters": {"dataTypes": ["tableData"]}}}
    response = Client(emulator).post(f"/v0/bases/{base.id}/webhooks", json={"specification": spec})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"id", "macSecretBase64", "expirationTime"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/v0"),
        ("GET", "/v1/{base}/Items"),
        ("GET", "/v0/{base}"),
        ("GET", "/v0/{base}/Items/recAAAAAAAAAAAAAA/extra"),
        ("GET", "/v0/{base}/Items/"),
        ("GET", "/v0/meta/whoami"),
        ("GET", "/v0/meta/bases/{base}"),
        ("POST", "/v0/meta/bases"),
        ("GET", "/v0/bases/{base}"),
        ("POST", "/v0/{base}/Items/recAAAAAAAAAAAAAA"),
        ("GET", "/v0/bases/{base}/webhooks/achAAAAAAAAAAAAAA/nothing"),
        ("OPTIONS", "/v0/{base}/Items"),
        ("BREW", "/v0/{base}/Items"),
    ],
)
def test_unknown_routes_and_wrong_methods_are_string_not_found(
    items_base: Base, http: Client, method: str, path: str
) -> None:
    response = http.request(method, path.format(base=items_base.id))
    assert response.status_code == 404
    assert response.json() == {"error": "NOT_FOUND"}


def test_head_gets_headers_only(items_base: Base, http: Client) -> None:
    response = http.request("HEAD", f"/v0/{items_base.id}/Items/nothing")
    assert response.status_code == 404
    assert response.content == b""
    assert int(response.headers["Content-Length"]) > 0
    assert http.get(f"/v0/{items_base.id}/Items").status_code == 200  # the connection is still usable


@pytest.mark.parametrize(
    "path",
    [
        "/v0/appAAAAAAAAAAAAAA/Items",
        "/v0/{base}/Nope",
        "/v0/meta/bases/appAAAAAAAAAAAAAA/tables",
        "/v0/{base}/Nope/recAAAAAAAAAAAAAA",
    ],
)
def test_unknown_bases_and_tables_are_403(items_base: Base, http: Client, path: str) -> None:
    response = http.get(path.format(base=items_base.id))
    assert response.status_code == 403
    assert response.json()["error"]["type"] == MODEL_NOT_FOUND
    assert response.json()["error"]["message"].startswith(
        "Invalid permissions, or the requested model was not found."
    )


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"fields": NaN}', b"\xff\xfe", b"[" * 100_000])
def test_invalid_json_bodies_are_400(items_base: Base, http: Client, raw: bytes) -> None:
    response = http.post(f"/v0/{items_base.id}/Items", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {
        "error": {"type": "INVALID_REQUEST_BODY", "message": "Could not parse request body"}
    }


def test_empty_write_body_is_422(items_base: Base, http: Client) -> None:
    response = http.post(f"/v0/{items_base.id}/Items")
    assert response.status_code == 422
    assert error_type(response) == "INVALID_REQUEST_UNKNOWN"


def test_oversized_bodies_are_413(emulator: Emulator, items_base: Base, http: Client) -> None:
    emulator.settings.max_request_body_bytes = 1000
    response = http.post(f"/v0/{items_base.id}/Items", json={"fields": {"Notes": "x" * 2000}})
    assert response.status_code == 413
    assert error_type(response) == "REQUEST_TOO_LARGE"
    assert http.get(f"/v0/{items_base.id}/Items").status_code == 200


def test_a_bug_in_a_handler_is_a_logged_500_and_the_server_survives(
    emulator: Emulator,
    items_base: Base,
    http: Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(emulator.reader, "list_records", broken)
    with caplog.at_level(logging.ERROR, logger="airtable_emulator"):
        response = http.get(f"/v0/{items_base.id}/Items")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"type": "SERVER_ERROR", "message": "Server encountered an unexpected condition"}
    }
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)
    monkeypatch.undo()
    assert http.get(f"/v0/{items_base.id}/Items").status_code == 200


def test_header_names_are_case_insensitive(emulator: Emulator, items_base: Base) -> None:
    host, port = emulator.url.removeprefix("http://").split(":")
    connection = HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("GET", f"/v0/{items_base.id}/Items")
    connection.putheader("authorization", f"bearer {emulator.token}")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read()) == {"records": []}
    connection.close()
