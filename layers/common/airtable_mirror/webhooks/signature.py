"""The ``X-Airtable-Content-MAC`` header: ``hmac-sha256=`` + hex HMAC-SHA256 of the raw request body.

Airtable keys the HMAC with the webhook's base64-decoded MAC secret (reference §6); the seed push format
uses the same header with the bytes of ``WEBHOOK_SECRET`` (UTF-8) as the key. The body is taken as the
bytes that arrived, never re-serialised: Airtable's exact JSON serialisation is not documented.
"""

import base64
import binascii
import hashlib
import hmac

MAC_HEADER = "X-Airtable-Content-MAC"
MAC_PREFIX = "hmac-sha256="


def decode_mac_secret(mac_secret_base64: str) -> bytes:
    """The key Airtable's ``macSecretBase64`` stands for; ValueError if it is not base64."""
    try:
        return base64.b64decode(mac_secret_base64, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("the MAC secret is not valid base64") from error


def content_mac(key: bytes, body: bytes) -> str:
    """The header value a sender holding ``key`` puts on ``body``."""
    return MAC_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def mac_matches(header: str | None, key: bytes, body: bytes) -> bool:
    """Whether ``header`` is the MAC of ``body`` under ``key``, compared in constant time.

    A missing header, another scheme or a malformed value is simply not a match. Hex digits are
    compared without regard to case (the digest is the same either way).
    """
    if not header or not key:
        return False
    try:
        presented = header.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    expected = content_mac(key, body).encode("ascii")
    return hmac.compare_digest(presented, expected)
