"""Fixed-width UTC times for index keys."""

from datetime import UTC, datetime, timedelta

import pytest

from airtable_mirror.repository.timestamps import iso_from_micros, iso_from_seconds, normalize_created_time


def test_versions_become_microsecond_utc_text() -> None:
    assert iso_from_micros(1_714_564_800_000_001) == "2024-05-01T12:00:00.000001Z"
    assert iso_from_seconds(1_714_564_800.5) == "2024-05-01T12:00:00.500000Z"


def test_times_of_equal_width_sort_as_text_in_time_order() -> None:
    moments = [iso_from_micros(micros) for micros in (9_000_000, 10_000_000, 1_714_564_800_000_000)]
    assert sorted(moments) == moments


@pytest.mark.parametrize(
    ("created_time", "normalized"),
    [
        ("2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z"),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z"),
        ("2024-01-01T01:00:00.123456+01:00", "2024-01-01T00:00:00.123Z"),
    ],
)
def test_created_times_are_normalized_to_airtables_format(created_time: str, normalized: str) -> None:
    assert normalize_created_time(created_time) == normalized


@pytest.mark.parametrize(
    "micros",
    [0, 1, 951_782_400_123_456, 1_709_164_800_000_000, 4_102_444_799_999_999, 253_402_300_799_999_999],
)
def test_versions_read_like_strftime_would_write_them(micros: int) -> None:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    assert iso_from_micros(micros) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("created_time", ["2024-02-30T00:00:00.000Z", "2024-13-01T00:00:00.000Z"])
def test_created_times_in_airtables_format_must_still_be_real_times(created_time: str) -> None:
    with pytest.raises(ValueError):
        normalize_created_time(created_time)


@pytest.mark.parametrize("created_time", ["2024-01-01T00:00:00", "not a time", ""])
def test_created_times_without_zone_or_format_are_refused(created_time: str) -> None:
    with pytest.raises(ValueError):
        normalize_created_time(created_time)
