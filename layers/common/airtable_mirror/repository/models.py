"""Values the repository takes and returns. Plain frozen dataclasses: no boto3 types leak out."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from airtable_mirror.repository.attribute_values import JsonValue, canonical_json
from airtable_mirror.repository.errors import InvalidObservationError
from airtable_mirror.repository.keys import check_identifier
from airtable_mirror.repository.timestamps import normalize_created_time

WriteStatus = Literal["written", "unchanged", "stale", "too_large"]
RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ACTIVE_RUN_STATUSES: frozenset[RunStatus] = frozenset({"queued", "running"})
FINISHED_RUN_STATUSES: frozenset[RunStatus] = frozenset({"succeeded", "failed", "cancelled"})


ATTACHMENT_ID_PREFIX = "att"
_SIGNED_ATTACHMENT_KEYS = frozenset({"url", "thumbnails"})


def without_signed_urls(value: JsonValue) -> JsonValue:
    """The value with attachment URLs (and thumbnails) left out.

    Airtable signs attachment URLs per response and lets them expire after two hours, so the same
    file comes back with a new URL on every read. Left in the hash, every re-sync would rewrite every
    record with an attachment.
    """
    if isinstance(value, list):
        return [without_signed_urls(item) for item in value]
    if isinstance(value, dict):
        identifier = value.get("id")
        if isinstance(identifier, str) and identifier.startswith(ATTACHMENT_ID_PREFIX):
            return {key: item for key, item in value.items() if key not in _SIGNED_ATTACHMENT_KEYS}
        return {key: without_signed_urls(item) for key, item in value.items()}
    return value


def content_hash(created_time: str, cells: Mapping[str, JsonValue]) -> str:
    """sha256 (hex) of the canonical JSON of `{"cells": ..., "created_time": ...}`, attachment URLs
    left out (`without_signed_urls`).

    Canonical JSON: keys sorted, no whitespace, non-ASCII characters as UTF-8 (not `\\u` escapes).
    """
    document = {"cells": without_signed_urls(dict(cells)), "created_time": created_time}
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version <= 0:
        raise InvalidObservationError(f"version must be a positive int (microseconds), got {version!r}")
    return version


@dataclass(frozen=True)
class RecordObservation:
    """One view of a record, stamped with the time it was made (`version`, microseconds)."""

    base_id: str
    table_id: str
    record_id: str
    created_time: str
    cells: Mapping[str, JsonValue]
    version: int

    def __post_init__(self) -> None:
        check_identifier("base_id", self.base_id)
        check_identifier("table_id", self.table_id)
        check_identifier("record_id", self.record_id)
        check_version(self.version)
        if not isinstance(self.created_time, str):
            raise InvalidObservationError(f"created_time must be a string, got {self.created_time!r}")
        try:
            normalize_created_time(self.created_time)
        except ValueError as error:
            raise InvalidObservationError(f"created_time {self.created_time!r}: {error}") from error
        if not isinstance(self.cells, Mapping):
            raise InvalidObservationError(f"cells must be a mapping, got {type(self.cells).__name__}")

    @cached_property
    def content_hash(self) -> str:
        return content_hash(self.created_time, self.cells)


@dataclass(frozen=True)
class StoredRecord:
    """A record as the mirror holds it. A tombstone has `deleted=True` and no cells."""

    base_id: str
    table_id: str
    record_id: str
    version: int
    deleted: bool
    created_time: str | None = None
    cells: dict[str, JsonValue] = field(default_factory=dict)
    content_hash: str | None = None
    changed_at: str | None = None
    synced_at: str | None = None
    expires_at: int | None = None


@dataclass(frozen=True)
class RecordState:
    """What the sync engine needs to decide whether to write: hash, version, tombstone flag."""

    record_id: str
    version: int
    deleted: bool
    content_hash: str | None


@dataclass(frozen=True)
class WriteOutcome:
    """Result of one record write.

    - `written`: the item now holds this observation (new content, a tombstone, or a resurrection);
    - `unchanged`: same content was stored from an older observation; only `version` and
      `synced_at` moved forward (`changed_at` kept);
    - `stale`: the stored item is as new or newer (or, for a sweep, is not a live record of the
      table); nothing was written;
    - `too_large`: even compressed the item would pass DynamoDB's 400 KB limit; nothing was written.
    """

    record_id: str
    status: WriteStatus
    version: int
    item_bytes: int
    compressed: bool = False


@dataclass(frozen=True)
class RunFailure:
    record_id: str
    reason: str


@dataclass(frozen=True)
class SyncRun:
    base_id: str
    table_id: str
    table_name: str
    run_id: str
    status: RunStatus
    version_at_start: int
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    totals: dict[str, int] = field(default_factory=dict)
    failures: tuple[RunFailure, ...] = ()
    failures_total: int = 0
    error: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES


@dataclass(frozen=True)
class CreateRunResult:
    """`created` is False when another run of the table is queued or running: `run` is that run."""

    run: SyncRun
    created: bool


@dataclass(frozen=True)
class Checkpoint:
    """Progress after one page: where to resume, cumulative counts, hashes of the ids on the page."""

    page_number: int
    next_offset: str | None
    counts: Mapping[str, int]
    seen_id_hashes: bytes
    listing_generation: int


@dataclass(frozen=True)
class BaseLock:
    base_id: str
    run_id: str
    lease_expires_at: float
