"""Attachment cells: expiring, signed URLs served by the emulator without a token."""

from typing import Any
from urllib.parse import urlsplit

import requests

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import Client, error_type


def _attachment(emulator: Emulator, base: Base, http: Client) -> dict[str, Any]:
    emulator.state.create_records(
        base.id,
        "Items",
        [
            {
                "Name": "x",
                "Files": [{"content": b"\x89PNG-bytes", "filename": "pic one.png", "type": "image/png"}],
            }
        ],
    )
    (record,) = http.get(f"/v0/{base.id}/Items").json()["records"]
    (attachment,) = record["fields"]["Files"]
    return dict(attachment)


def test_cells_read_back_with_a_url_to_the_emulator(
    emulator: Emulator, items_base: Base, http: Client
) -> None:
    attachment = _attachment(emulator, items_base, http)
    assert set(attachment) == {"id", "url", "filename", "size", "type"}
    assert attachment["id"].startswith("att")
    assert attachment["filename"] == "pic one.png"
    assert attachment["size"] == len(b"\x89PNG-bytes")
    assert attachment["type"] == "image/png"
    assert attachment["url"].startswith(f"{emulator.url}/attachments/{attachment['id']}/")


def test_download_needs_no_token_and_serves_the_bytes(
    emulator: Emulator, items_base: Base, http: Client
) -> None:
    attachment = _attachment(emulator, items_base, http)
    response = requests.get(attachment["url"], timeout=10)
    assert response.status_code == 200
    assert response.content == b"\x89PNG-bytes"
    assert response.headers["Content-Type"] == "image/png"


def test_urls_expire_on_the_clock(emulator: Emulator, items_base: Base, http: Client) -> None:
    attachment = _attachment(emulator, items_base, http)
    emulator.clock.advance(emulator.settings.attachment_url_ttl_seconds - 5)
    assert requests.get(attachment["url"], timeout=10).status_code == 200
    emulator.clock.advance(10)
    expired = requests.get(attachment["url"], timeout=10)
    assert expired.status_code == 410
    assert error_type(expired) == "ATTACHMENT_URL_EXPIRED"
    fresh = _fresh_url(http, items_base)
    assert fresh != attachment["url"]
    assert requests.get(fresh, timeout=10).status_code == 200


def _fresh_url(http: Client, base: Base) -> str:
    (record,) = http.get(f"/v0/{base.id}/Items").json()["records"]
    return str(record["fields"]["Files"][0]["url"])


def test_tampered_urls_are_refused(emulator: Emulator, items_base: Base, http: Client) -> None:
    url = _attachment(emulator, items_base, http)["url"]
    path = urlsplit(url).path
    _, _, attachment_id, expires, signature, filename = path.split("/")
    later = f"{emulator.url}/attachments/{attachment_id}/{int(expires) + 3600}/{signature}/{filename}"
    assert requests.get(later, timeout=10).status_code == 403
    forged = f"{emulator.url}/attachments/{attachment_id}/{expires}/{'0' * len(signature)}/{filename}"
    assert requests.get(forged, timeout=10).status_code == 403
    assert requests.get(f"{emulator.url}/attachments/nothing", timeout=10).status_code == 404
    assert requests.post(url, timeout=10).status_code == 404


def test_url_attachments_are_stored_with_a_guessed_type(
    emulator: Emulator, items_base: Base, http: Client
) -> None:
    created = http.post(
        f"/v0/{items_base.id}/Items",
        json={"fields": {"Files": [{"url": "https://example.com/report.pdf"}]}},
    ).json()
    (attachment,) = created["fields"]["Files"]
    assert attachment["filename"] == "report.pdf"
    assert attachment["type"] == "application/pdf"
    kept = http.patch(
        f"/v0/{items_base.id}/Items/{created['id']}", json={"fields": {"Files": [{"id": attachment["id"]}]}}
    ).json()
    assert kept["fields"]["Files"][0]["id"] == attachment["id"]
    assert requests.get(kept["fields"]["Files"][0]["url"], timeout=10).status_code == 200


def test_presenter_for_webhooks_adds_urls(emulator: Emulator) -> None:
    presented = emulator.attachments.present([{"id": "attAAAAAAAAAAAAAA", "filename": "a.txt", "size": 1}])
    assert presented[0]["url"].startswith(f"{emulator.url}/attachments/attAAAAAAAAAAAAAA/")
    assert presented[0]["filename"] == "a.txt"
