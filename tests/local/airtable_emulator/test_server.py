"""The HTTP server itself: keep-alive, framing, lifecycle."""

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection

import pytest
import requests

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import Client, MakeEmulator


def _connection(emulator: Emulator) -> HTTPConnection:
    host, port = emulator.url.removeprefix("http://").split(":")
    return HTTPConnection(host, int(port), timeout=10)


def test_keep_alive_serves_many_requests_on_one_connection(emulator: Emulator, items_base: Base) -> None:
    connection = _connection(emulator)
    headers = {"Authorization": f"Bearer {emulator.token}", "Content-Type": "application/json"}
    for index in range(5):
        connection.request(
            "POST", f"/v0/{items_base.id}/Items", json.dumps({"fields": {"Count": index}}), headers
        )
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200
        assert response.getheader("Content-Length") == str(len(body))
        assert response.getheader("Content-Type") == "application/json; charset=utf-8"
        assert response.version == 11
    connection.request("GET", "/nowhere", headers=headers)
    missing = connection.getresponse()
    assert missing.status == 404 and json.loads(missing.read()) == {"error": "NOT_FOUND"}
    connection.close()


def test_chunked_request_bodies_are_read(emulator: Emulator, items_base: Base, http: Client) -> None:
    def body() -> object:
        yield b'{"fields": '
        yield b'{"Name": "chunked"}}'

    response = http.post(
        f"/v0/{items_base.id}/Items", data=body(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["fields"] == {"Name": "chunked"}


def test_garbage_on_the_socket_gets_a_json_400(emulator: Emulator) -> None:
    host, port = emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"NOT A REQUEST\r\n\r\n")
        answer = raw.recv(65536)
        head, _, payload = answer.partition(b"\r\n\r\n")
        # The head and the body may come in separate segments: read the body to its length
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(payload) < length:
            chunk = raw.recv(65536)
            if not chunk:
                break
            payload += chunk
    assert head.startswith(b"HTTP/1.1 400")
    assert "error" in json.loads(payload)


def test_bad_content_length_is_400(emulator: Emulator) -> None:
    host, port = emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"POST /v0/meta/bases HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n")
        answer = raw.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400")


def test_url_requires_a_started_emulator_and_restart_keeps_the_port() -> None:
    emulator = Emulator()
    with pytest.raises(RuntimeError, match="not started"):
        _ = emulator.url
    with emulator:
        url = emulator.url
        assert emulator.running
        assert Client(emulator).get("/v0/meta/bases").status_code == 200
    assert not emulator.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v0/meta/bases", timeout=5)
    emulator.start()
    try:
        assert emulator.url == url
        assert Client(emulator).get("/v0/meta/bases").status_code == 200
    finally:
        emulator.stop()
    emulator.stop()  # stopping twice is harmless


def test_stop_cuts_idle_keep_alive_connections(make_emulator: MakeEmulator) -> None:
    emulator = make_emulator()
    url = f"{emulator.url}/v0/meta/bases"
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {emulator.token}"
        assert session.get(url, timeout=10).status_code == 200
        emulator.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(url, timeout=10)


def test_concurrent_clients_are_served_consistently(emulator: Emulator, items_base: Base) -> None:
    def work(worker: int) -> list[int]:
        with Client(emulator) as client:
            statuses = []
            for index in range(10):
                created = client.post(
                    f"/v0/{items_base.id}/Items", json={"fields": {"Name": f"{worker}-{index}"}}
                )
                statuses.append(created.status_code)
                statuses.append(
                    client.get(f"/v0/{items_base.id}/Items", params={"pageSize": "7"}).status_code
                )
            return statuses

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(work, range(6)))
    assert all(status == 200 for statuses in results for status in statuses)
    assert len(emulator.state.table(items_base.id, "Items").records) == 60
