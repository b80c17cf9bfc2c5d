"""A records query as the API takes it: its parameters, their limits and the patterns they follow.

The handler declares these to powertools (validation and the OpenAPI document) and the service
enforces them. This module is small on purpose: the handler imports it on every cold start, while
the service and the repository load with the first request that reads the mirror (runtime.py).
"""

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Literal, NamedTuple

SortBy = Literal["created_at", "changed_at"]
SortOrder = Literal["asc", "desc"]

MAX_LIMIT = 100
MAX_SKIP = 1000
EXAMINE_FACTOR = 5  # a filtered page examines at most this many times `limit` records
MAX_TABLE_REFERENCE_LENGTH = 255
MAX_CURSOR_LENGTH = 2048

RECORD_ID_PATTERN = r"^rec[A-Za-z0-9]{14}$"
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
# What the service resolves as a table: no control character, and not only white space
TABLE_REFERENCE_PATTERN = f"^[^{CONTROL_CHARACTERS}]*[^\\s{CONTROL_CHARACTERS}][^{CONTROL_CHARACTERS}]*$"


NO_FILTERS: Mapping[str, str] = MappingProxyType({})


class RecordQuery(NamedTuple):
    limit: int = MAX_LIMIT
    sort_by: SortBy = "created_at"
    sort_order: SortOrder = "asc"
    skip: int = 0
    cursor: str | None = None
    filters: Mapping[str, str] = NO_FILTERS
    created_after: datetime | None = None
    created_before: datetime | None = None
