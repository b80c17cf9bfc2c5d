"""RecordObservation validation and the content hash."""

import hashlib

import pytest

from airtable_mirror.repository import (
    InvalidIdentifierError,
    InvalidObservationError,
    RecordObservation,
    content_hash,
)
from tests.support.records import BASE_ID, TABLE_ID, VERSION_ORIGIN


def _observation(**changes: object) -> RecordObservation:
    fields: dict[str, object] = {
        "base_id": BASE_ID,
        "table_id": TABLE_ID,
        "record_id": "recAbCdEfGhIjKlMn",
        "created_time": "2024-01-01T00:00:00.000Z",
        "cells": {"fldB": [1, 2.5], "fldA": "é"},
        "version": VERSION_ORIGIN,
    }
    fields.update(changes)
    return RecordObservation(**fields)  # type: ignore[arg-type]


def test_content_hash_is_sha256_of_canonical_json_of_created_time_and_cells() -> None:
    canonical = '{"cells":{"fldA":"é","fldB":[1,2.5]},"created_time":"2024-01-01T00:00:00.000Z"}'
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert _observation().content_hash == expected
    assert content_hash("2024-01-01T00:00:00.000Z", {"fldB": [1, 2.5], "fldA": "é"}) == expected


def test_content_hash_ignores_key_order_but_not_values_or_types() -> None:
    reordered = _observation(cells={"fldA": "é", "fldB": [1, 2.5]})
    assert reordered.content_hash == _observation().content_hash
    assert _observation(cells={"fldA": "é", "fldB": [True, 2.5]}).content_hash != _observation().content_hash
    assert _observation(created_time="2024-01-01T00:00:01.000Z").content_hash != _observation().content_hash


@pytest.mark.parametrize(
    "changes",
    [
        {"version": 0},
        {"version": -5},
        {"version": True},
        {"version": 1.5},
        {"created_time": "yesterday"},
        {"created_time": "2024-01-01T00:00:00"},
        {"created_time": None},
        {"cells": ["not", "a", "mapping"]},
    ],
)
def test_bad_observations_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidObservationError):
        _observation(**changes)


def test_bad_ids_are_refused() -> None:
    with pytest.raises(InvalidIdentifierError):
        _observation(table_id="tbl#1")


def test_cells_that_are_not_json_fail_when_hashed() -> None:
    with pytest.raises(InvalidObservationError):
        _ = _observation(cells={"fldX": float("inf")}).content_hash
