"""Opaque page cursors that cannot be forged, truncated or used on another table or query.

A cursor is base64url (no padding) of a compact JSON document and a MAC:

    {"v":1,"t":"tbl…","o":"c","d":0,"f":"<query fingerprint>","k":["<index sort key>","<pk>","<sk>"]}

- `t` the table, `o` the order (`c` created, `m` changed), `d` 1 for descending, `f` a fingerprint
  of the filters, `k` DynamoDB's LastEvaluatedKey on the index (its `table_key` is not carried: it
  follows from the base and `t`);
- the MAC is HMAC-SHA256 over a domain tag, the base id and the JSON, truncated to 128 bits, with
  a key only the deployment knows (a Secrets Manager secret in AWS, `CURSOR_SIGNING_KEY` locally).

Anything that is not a cursor this deployment issued for this base is rejected before it reaches
DynamoDB. The service then checks that the cursor's table, order and fingerprint are the request's.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from airtable_mirror.records_api.errors import InvalidQueryError
from airtable_mirror.records_api.query import CURSOR_PATTERN, MAX_CURSOR_LENGTH
from airtable_mirror.settings import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CursorOrder = Literal["created", "changed"]

CURSOR_VERSION = 1
MAC_BYTES = 16
MAX_KEY_PART_LENGTH = 512
MIN_SIGNING_KEY_BYTES = 16
SECRET_CACHE_SECONDS = 300
# Local development and tests only: in AWS the template sets CURSOR_SIGNING_SECRET.
DEVELOPMENT_SIGNING_KEY = "airtable-mirror-development-cursor-key-not-for-deployments"

_DOMAIN = b"airtable-mirror/records-cursor"
_TOKEN = re.compile(CURSOR_PATTERN)
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")
_TABLE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_ORDER_CODES: dict[str, CursorOrder] = {"c": "created", "m": "changed"}
_CODES_BY_ORDER = {order: code for code, order in _ORDER_CODES.items()}
_FIELDS = {"v", "t", "o", "d", "f", "k"}


class CursorPosition(NamedTuple):
    table_id: str
    order: CursorOrder
    descending: bool
    query_fingerprint: str
    index_sort_key: str
    partition_key: str
    sort_key: str


def _invalid(reason: str) -> InvalidQueryError:
    return InvalidQueryError(
        "cursor", f"{reason}; use the next_cursor of a previous page unchanged, or leave cursor out"
    )


class CursorCodec:
    def __init__(self, base_id: str, signing_key: Callable[[], bytes]) -> None:
        self._base_id = base_id.encode("utf-8")
        self._signing_key = signing_key

    def encode(self, position: CursorPosition) -> str:
        document = {
            "v": CURSOR_VERSION,
            "t": position.table_id,
            "o": _CODES_BY_ORDER[position.order],
            "d": int(position.descending),
            "f": position.query_fingerprint,
            "k": [position.index_sort_key, position.partition_key, position.sort_key],
        }
        payload = json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        token = base64.urlsafe_b64encode(payload + self._mac(payload)).decode("ascii")
        return token.rstrip("=")

    def decode(self, token: str) -> CursorPosition:
        """The position the token names; InvalidQueryError("cursor", …) for anything else."""
        if not token or len(token) > MAX_CURSOR_LENGTH or _TOKEN.fullmatch(token) is None:
            raise _invalid("not a cursor")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise _invalid("not a cursor") from None
        payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        if len(raw) <= MAC_BYTES or not hmac.compare_digest(mac, self._mac(payload)):
            raise _invalid("the cursor was altered, truncated or issued elsewhere")
        try:
            document = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _invalid("not a cursor") from None
        return _position(document)

    def _mac(self, payload: bytes) -> bytes:
        key = self._signing_key()
        message = b"\x00".join((_DOMAIN, self._base_id, payload))
        return hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]


def _position(document: object) -> CursorPosition:
    # Only this code signs cursors, so a well-signed cursor of another shape is an older version
    if not isinstance(document, dict) or set(document) != _FIELDS or document["v"] != CURSOR_VERSION:
        raise _invalid("this cursor format is no longer served")
    table_id, order, descending, fingerprint, key = (document[name] for name in ("t", "o", "d", "f", "k"))
    if not (
        isinstance(table_id, str)
        and _TABLE_ID.fullmatch(table_id)
        and order in _ORDER_CODES
        and descending in (0, 1)
        and not isinstance(descending, bool)
        and isinstance(fingerprint, str)
        and _FINGERPRINT.fullmatch(fingerprint)
        and isinstance(key, list)
        and len(key) == 3
        and all(isinstance(part, str) and 0 < len(part) <= MAX_KEY_PART_LENGTH for part in key)
    ):
        raise _invalid("this cursor format is no longer served")
    return CursorPosition(
        table_id=table_id,
        order=_ORDER_CODES[order],
        descending=bool(descending),
        query_fingerprint=fingerprint,
        index_sort_key=key[0],
        partition_key=key[1],
        sort_key=key[2],
    )


def make_signing_key_provider(
    secret_name: str | None,
    local_key: str | None,
    secrets_client: "Callable[[], SecretsManagerClient] | None" = None,
) -> Callable[[], bytes]:
    """The key, from Secrets Manager when a secret is named (read with `secrets_client()`, cached
    SECRET_CACHE_SECONDS), else the local key or the development default."""
    if secret_name:
        if secrets_client is None:
            raise ConfigurationError("the cursor signing secret is named but no Secrets Manager client given")
        return SecretSigningKey(secret_name, secrets_client)
    key = _checked_key((local_key or DEVELOPMENT_SIGNING_KEY).encode("utf-8"), "CURSOR_SIGNING_KEY")
    return lambda: key


class SecretSigningKey:
    """The signing key kept in a Secrets Manager secret, read again after SECRET_CACHE_SECONDS so that
    a rotation is picked up.

    The client comes from the composition root: it shares the botocore session of the function's
    DynamoDB client, so its creation does not parse botocore's endpoint data a second time (a
    separate session, as powertools Parameters makes, costs about 100 ms on the first page).
    """

    def __init__(
        self,
        secret_name: str,
        client: "Callable[[], SecretsManagerClient]",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_name = secret_name
        self._client = client
        self._clock = clock
        self._key: bytes | None = None
        self._read_at = 0.0

    def __call__(self) -> bytes:
        now = self._clock()
        if self._key is None or now - self._read_at >= SECRET_CACHE_SECONDS:
            self._key = _checked_key(self._read().strip(), "the cursor signing secret")
            self._read_at = now
        return self._key

    def _read(self) -> bytes:
        try:
            answer = self._client().get_secret_value(SecretId=self._secret_name)
        except (ClientError, BotoCoreError) as error:
            raise ConfigurationError(f"the cursor signing secret cannot be read: {error}") from error
        text = answer.get("SecretString")
        return text.encode("utf-8") if text is not None else answer.get("SecretBinary", b"")


def _checked_key(key: bytes, source: str) -> bytes:
    if len(key) < MIN_SIGNING_KEY_BYTES:
        raise ConfigurationError(f"{source} must be at least {MIN_SIGNING_KEY_BYTES} bytes long")
    return key
