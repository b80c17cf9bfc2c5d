from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from airtable_mirror.airtable.models import AirtableRecord, FieldSchema, PayloadPage, RecordPage


def test_record_keeps_the_created_time_string_and_parses_it() -> None:
    record = AirtableRecord.model_validate(
        {
            "id": "rec560UJdUtocSouk",
            "createdTime": "2022-09-12T21:03:48.000Z",
            "fields": {"fldA": 1},
            "commentCount": 3,
        }
    )

    assert record.created_time_iso == "2022-09-12T21:03:48.000Z"
    assert record.created_time == datetime(2022, 9, 12, 21, 3, 48, tzinfo=UTC)
    assert record.fields == {"fldA": 1}


def test_record_built_by_attribute_names() -> None:
    record = AirtableRecord(id="rec560UJdUtocSouk", created_time="2022-09-12T21:03:48.000Z")  # type: ignore[arg-type, call-arg]

    assert record.created_time_iso == "2022-09-12T21:03:48.000Z"
    assert record.fields == {}


def test_record_refuses_a_created_time_that_is_not_a_time() -> None:
    with pytest.raises(ValidationError):
        AirtableRecord.model_validate({"id": "rec560UJdUtocSouk", "createdTime": "yesterday", "fields": {}})


def test_an_empty_offset_marks_the_last_page() -> None:
    assert RecordPage.model_validate({"records": [], "offset": ""}).offset is None


def test_field_schema_accepts_unknown_types_and_ignores_unknown_keys() -> None:
    field = FieldSchema.model_validate({"id": "fldX", "name": "X", "type": "hologram", "shiny": True})

    assert field.type == "hologram"
    assert not hasattr(field, "shiny")


def test_payload_page_keeps_payloads_raw() -> None:
    payload = {"baseTransactionNumber": 4, "error": True, "code": "INVALID_HOOK"}

    page = PayloadPage.model_validate({"cursor": 5, "mightHaveMore": False, "payloads": [payload]})

    assert page.payloads == [payload]
