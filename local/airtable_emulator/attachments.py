"""Expiring, signed attachment download URLs served by the emulator itself.

Airtable's attachment URLs stop working a while (2 h) after the response that returned them. Here a URL
is ``{emulator url}/attachments/{attachment id}/{expiry}/{signature}/{filename}``: the expiry is epoch
seconds on the injectable clock, the signature an HMAC of the id and expiry with a per-emulator secret.
Downloads need no token, like Airtable's. An expired URL gets 410 Gone (Airtable's real status is not
documented), a forged or altered one 403.
"""

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .clock import Clock
from .errors import AirtableApiError
from .model import AirtableState

PATH_PREFIX = "/attachments/"


@dataclass(frozen=True)
class Download:
    content_type: str
    content: bytes
    filename: str


class AttachmentUrls:
    def __init__(self, state: AirtableState, clock: Clock, base_url: Callable[[], str]) -> None:
        self._state = state
        self._clock = clock
        self._base_url = base_url
        self._secret = secrets.token_bytes(32)

    def present(self, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Attachment objects as a response shows them: a fresh expiring ``url`` after the ``id``."""
        expires = math.ceil(self._clock.now().timestamp() + self._state.settings.attachment_url_ttl_seconds)
        presented: list[dict[str, Any]] = []
        for attachment in attachments:
            attachment_id = str(attachment.get("id", ""))
            filename = str(attachment.get("filename") or "file")
            url = (
                f"{self._base_url()}{PATH_PREFIX}{attachment_id}/{expires}/"
                f"{self._sign(attachment_id, expires)}/{quote(filename, safe='')}"
            )
            shown = {"id": attachment_id, "url": url}
            shown.update({key: value for key, value in attachment.items() if key not in shown})
            presented.append(shown)
        return presented

    def download(self, path: str) -> Download:
        """The file behind an attachment URL path, or the error its request gets."""
        parts = path[len(PATH_PREFIX) :].split("/")
        if len(parts) != 4 or not parts[1].isdigit():
            raise AirtableApiError(404, "NOT_FOUND", string_envelope=True)
        attachment_id, expires_text, signature, _filename = parts
        expires = int(expires_text)
        if not hmac.compare_digest(signature, self._sign(attachment_id, expires)):
            raise AirtableApiError(403, "ACCESS_DENIED", "The attachment URL signature is not valid")
        if self._clock.now().timestamp() >= expires:
            raise AirtableApiError(410, "ATTACHMENT_URL_EXPIRED", "This attachment URL has expired")
        with self._state.lock:
            stored = self._state.attachments.get(attachment_id)
        if stored is None:
            raise AirtableApiError(404, "NOT_FOUND", string_envelope=True)
        return Download(stored.content_type, stored.content, stored.filename)

    def _sign(self, attachment_id: str, expires: int) -> str:
        message = f"{attachment_id}/{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:40]
