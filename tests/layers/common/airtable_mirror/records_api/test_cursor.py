"""Signed cursors: they round-trip, and nothing else decodes (tampered, truncated, foreign, garbage)."""

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airtable_mirror.records_api.cursor import (
    DEVELOPMENT_SIGNING_KEY,
    MAX_CURSOR_LENGTH,
    CursorCodec,
    CursorPosition,
    make_signing_key_provider,
)
from airtable_mirror.records_api.errors import InvalidQueryError
from airtable_mirror.settings import ConfigurationError

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


def test_in_aws_the_key_comes_from_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from aws_lambda_powertools.utilities import parameters

    asked: list[tuple[str, int | None]] = []

    def get_secret(name: str, max_age: int | None = None) -> str:
        asked.append((name, max_age))
        return "generated-secret-of-sixty-four-characters-0123456789abcdefghijkl\n"

    monkeypatch.setattr(parameters, "get_secret", get_secret)
    provider = make_signing_key_provider("arn:aws:secretsmanager:us-east-1:1:secret:cursor", None)

    assert provider() == b"generated-secret-of-sixty-four-characters-0123456789abcdefghijkl"
    assert asked == [("arn:aws:secretsmanager:us-east-1:1:secret:cursor", 300)]
    monkeypatch.setattr(parameters, "get_secret", lambda name, max_age=None: "short")
    with pytest.raises(ConfigurationError):
        provider()
