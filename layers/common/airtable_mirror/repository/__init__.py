"""DynamoDB repository of the mirror: records, sync runs, locks and shared rate slots.

Knows nothing of Airtable's HTTP API or of HTTP events. The caller creates one boto3 DynamoDB
client per warm container and passes it in with the table name.
"""

from airtable_mirror.repository.attribute_values import JsonValue, canonical_json
from airtable_mirror.repository.batch_get import BatchGetter
from airtable_mirror.repository.errors import (
    CorruptItemError,
    InvalidCursorError,
    InvalidIdentifierError,
    InvalidObservationError,
    RateSlotContentionError,
    RepositoryError,
    UnprocessedKeysError,
)
from airtable_mirror.repository.models import (
    BaseLock,
    Checkpoint,
    CreateRunResult,
    RecordObservation,
    RecordState,
    RunFailure,
    RunStatus,
    StoredRecord,
    SyncRun,
    WriteOutcome,
    WriteStatus,
    content_hash,
)
from airtable_mirror.repository.rate_slots import DynamoPacer
from airtable_mirror.repository.record_hashes import hash_record_id, pack_hashes, sorted_hashes, unpack_hashes
from airtable_mirror.repository.records import RecordOrder, RecordRepository
from airtable_mirror.repository.sync_runs import SyncRunRepository

__all__ = [
    "BaseLock",
    "BatchGetter",
    "Checkpoint",
    "CorruptItemError",
    "CreateRunResult",
    "DynamoPacer",
    "InvalidCursorError",
    "InvalidIdentifierError",
    "InvalidObservationError",
    "JsonValue",
    "RateSlotContentionError",
    "RecordObservation",
    "RecordOrder",
    "RecordRepository",
    "RecordState",
    "RepositoryError",
    "RunFailure",
    "RunStatus",
    "StoredRecord",
    "SyncRun",
    "SyncRunRepository",
    "UnprocessedKeysError",
    "WriteOutcome",
    "WriteStatus",
    "canonical_json",
    "content_hash",
    "hash_record_id",
    "pack_hashes",
    "sorted_hashes",
    "unpack_hashes",
]
