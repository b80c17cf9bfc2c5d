"""Signed cursors: they round-trip, and nothing else decodes (tampered, truncated, foreign, garbage)."""

import base64
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airtable_mirror.records_api.cursor import (
    DEVELOPMENT_SIGNING_KEY,
    SECRET_CACHE_SECONDS,
    CursorCodec,
    CursorPosition,
    SecretSigningKey,
    make_signing_key_provider,
)
from airtable_mirror.records_api.errors import InvalidQueryError
from airtable_mirror.records_api.query import MAX_CURSOR_LENGTH
from airtable_mirror.settings import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

BASE_ID = "appTestBase000001"
KEY = b"k" * 32
POSITION = CursorPosition(
    table_id="tblTestTable00001",
    order="created",
    descending=True,
    query_fingerprint="0123456789abcdef",
    index_sort_key="2024-01-01T00:00:00.000Z#rec00000000000007",
    partition_key="B#appTestBase000001#R#rec00000000000007",
    sort_key="RECORD",
)


def codec(key: bytes = KEY, base_id: str = BASE_ID) -> CursorCodec:
    return CursorCodec(base_id, lambda: key)


def unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def raw_bytes(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def assert_refused(token: str, using: CursorCodec | None = None) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        (using or codec()).decode(token)
    assert raised.value.parameter == "cursor"


def test_a_cursor_round_trips_and_is_url_safe() -> None:
    token = codec().encode(POSITION)

    assert codec().decode(token) == POSITION
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(token) < 300


def test_every_single_byte_change_is_refused() -> None:
    raw = raw_bytes(codec().encode(POSITION))
    for position in range(len(raw)):
        altered = bytearray(raw)
        altered[position] ^= 0x01
        assert_refused(unpadded(bytes(altered)))


def test_every_truncation_is_refused() -> None:
    token = codec().encode(POSITION)
    for length in range(len(token)):
        assert_refused(token[:length])


def test_a_cursor_of_another_deployment_or_base_is_refused() -> None:
    token = codec().encode(POSITION)
    assert_refused(token, codec(key=b"another key, 32 bytes long......"))
    assert_refused(token, codec(base_id="appOtherBase00001"))


def test_a_well_signed_document_of_another_shape_is_refused() -> None:
    signer = codec()
    for document in (
        {"v": 2, "t": "tblA", "o": "c", "d": 0, "f": "0" * 16, "k": ["a", "b", "c"]},
        {"v": 1, "t": "tbl#A", "o": "c", "d": 0, "f": "0" * 16, "k": ["a", "b", "c"]},
        {"v": 1, "t": "tblA", "o": "x", "d": 0, "f": "0" * 16, "k": ["a", "b", "c"]},
        {"v": 1, "t": "tblA", "o": "c", "d": True, "f": "0" * 16, "k": ["a", "b", "c"]},
        {"v": 1, "t": "tblA", "o": "c", "d": 0, "f": "xyz", "k": ["a", "b", "c"]},
        {"v": 1, "t": "tblA", "o": "c", "d": 0, "f": "0" * 16, "k": ["a", "b"]},
        {"v": 1, "t": "tblA", "o": "c", "d": 0, "f": "0" * 16, "k": ["a", "b", ""]},
        {"v": 1, "t": "tblA", "o": "c", "d": 0, "f": "0" * 16, "k": ["a", "b", 3]},
        {"v": 1, "t": "tblA", "o": "c", "d": 0, "f": "0" * 16, "k": ["a", "b", "c"], "x": 1},
        ["not", "an", "object"],
    ):
        payload = json.dumps(document).encode()
        assert_refused(unpadded(payload + signer._mac(payload)))
    payload = b"\xff\xfe not json"
    assert_refused(unpadded(payload + signer._mac(payload)))


@pytest.mark.parametrize(
    "token",
    ["", "=", "a", "not a cursor", "abc$", "A" * (MAX_CURSOR_LENGTH + 1), "AAAA", "é", "A===", "\x00"],
)
def test_garbage_is_refused(token: str) -> None:
    assert_refused(token)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_no_string_decodes_unless_this_deployment_signed_it(token: str) -> None:
    assert_refused(token)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_no_byte_string_decodes_unless_this_deployment_signed_it(raw: bytes) -> None:
    assert_refused(unpadded(raw))


def test_the_local_key_or_the_development_default_signs() -> None:
    assert make_signing_key_provider(None, None)() == DEVELOPMENT_SIGNING_KEY.encode()
    assert make_signing_key_provider(None, "a local key of some length")() == b"a local key of some length"
    with pytest.raises(ConfigurationError):
        make_signing_key_provider(None, "short")


SECRET_NAME = "airtable-mirror/cursor-signing"
SECRET = "generated-secret-of-sixty-four-characters-0123456789abcdefghijkl"


@pytest.fixture
def secrets(aws_credentials: None) -> Iterator["SecretsManagerClient"]:
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


class CountingClient:
    """The Secrets Manager client the composition root would hand over, counting the reads."""

    def __init__(self, client: "SecretsManagerClient") -> None:
        self.client = client
        self.created = 0

    def __call__(self) -> "SecretsManagerClient":
        self.created += 1
        return self.client


def test_in_aws_the_key_comes_from_the_secret_read_through_the_given_client(
    secrets: "SecretsManagerClient",
) -> None:
    secrets.create_secret(Name=SECRET_NAME, SecretString=SECRET + "\n")
    client = CountingClient(secrets)
    provider = make_signing_key_provider(SECRET_NAME, "a local key that is ignored", secrets_client=client)

    assert client.created == 0, "no client is made before a cursor needs the key"
    assert provider() == SECRET.encode()
    assert provider() == SECRET.encode()
    assert client.created == 1, "the key is read once, then kept"


def test_a_binary_secret_is_used_as_its_bytes(secrets: "SecretsManagerClient") -> None:
    secrets.create_secret(Name=SECRET_NAME, SecretBinary=b"\x00\x01binary-key-of-some-length\xff")

    assert make_signing_key_provider(SECRET_NAME, None, secrets_client=lambda: secrets)() == (
        b"\x00\x01binary-key-of-some-length\xff"
    )


def test_the_secret_is_read_again_after_the_cache_time_so_a_rotation_is_picked_up(
    secrets: "SecretsManagerClient",
) -> None:
    secrets.create_secret(Name=SECRET_NAME, SecretString=SECRET)
    now = [1000.0]
    key = SecretSigningKey(SECRET_NAME, lambda: secrets, clock=lambda: now[0])
    assert key() == SECRET.encode()
    secrets.put_secret_value(SecretId=SECRET_NAME, SecretString="the-rotated-secret-value-0123456789")

    now[0] += SECRET_CACHE_SECONDS - 1
    assert key() == SECRET.encode()
    now[0] += 1
    assert key() == b"the-rotated-secret-value-0123456789"


def test_a_short_or_unreadable_secret_is_a_configuration_error_not_a_key(
    secrets: "SecretsManagerClient",
) -> None:
    secrets.create_secret(Name=SECRET_NAME, SecretString="short")

    with pytest.raises(ConfigurationError, match="at least 16 bytes"):
        make_signing_key_provider(SECRET_NAME, None, secrets_client=lambda: secrets)()
    with pytest.raises(ConfigurationError, match="cannot be read"):
        make_signing_key_provider("no-such-secret", None, secrets_client=lambda: secrets)()
    with pytest.raises(ConfigurationError, match="no Secrets Manager client"):
        make_signing_key_provider(SECRET_NAME, None)
