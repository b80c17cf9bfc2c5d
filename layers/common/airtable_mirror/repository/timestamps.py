"""Fixed-width UTC time strings. Index sort keys compare as strings, so every time in a key must have
the same width and zone: `2024-05-01T12:00:00.000000Z` (microseconds) for our own times, Airtable's
`2024-05-01T12:00:00.000Z` (milliseconds) for created times.
"""

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

# Naive, read as UTC: isoformat() then writes no offset (and costs a fifth of strftime, which a sync
# calls a few times a record).
_EPOCH = datetime(1970, 1, 1)
_AIRTABLE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


@lru_cache(maxsize=64)  # a sync page's records share one version
def iso_from_micros(micros: int) -> str:
    """Version (microseconds since the epoch) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""
    moment = _EPOCH + timedelta(microseconds=micros)
    return moment.isoformat(timespec="microseconds") + "Z"


def iso_from_seconds(seconds: float) -> str:
    return iso_from_micros(round(seconds * 1_000_000))


def micros_from_seconds(seconds: float) -> int:
    return round(seconds * 1_000_000)


def normalize_created_time(created_time: str) -> str:
    """Airtable's createdTime in its own millisecond format, whatever ISO form it arrived in.

    Raises ValueError for text that is not an ISO time with a zone.
    """
    moment = datetime.fromisoformat(created_time)
    if moment.tzinfo is None:
        raise ValueError(f"created_time {created_time!r} has no time zone")
    if _AIRTABLE_TIME.fullmatch(created_time):
        return created_time  # already in that format (Airtable always sends it so), and a real time
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
