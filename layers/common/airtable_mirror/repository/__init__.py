"""DynamoDB repository of the mirror: records, sync runs, locks and shared rate slots.

Knows nothing of Airtable's HTTP API or of HTTP events. The caller creates one boto3 DynamoDB
client per warm container and passes it in with the table name.

The names below load with the module that defines them, on first use: importing one submodule (the
records API needs only the record and schema modules) does not load the sync-run, lock and
rate-slot code, whose import a cold start would otherwise pay for.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    from airtable_mirror.repository.record_hashes import (
        hash_record_id,
        pack_hashes,
        sorted_hashes,
        unpack_hashes,
    )
    from airtable_mirror.repository.records import RecordOrder, RecordRepository
    from airtable_mirror.repository.sync_runs import SyncRunRepository

# Where each public name is defined (tests/functions/records/test_cold_start.py checks this against
# __all__ and the imports above)
_MODULE_OF: dict[str, str] = {
    name: module
    for module, names in {
        "attribute_values": ("JsonValue", "canonical_json"),
        "batch_get": ("BatchGetter",),
        "errors": (
            "CorruptItemError",
            "InvalidCursorError",
            "InvalidIdentifierError",
            "InvalidObservationError",
            "RateSlotContentionError",
            "RepositoryError",
            "UnprocessedKeysError",
        ),
        "models": (
            "BaseLock",
            "Checkpoint",
            "CreateRunResult",
            "RecordObservation",
            "RecordState",
            "RunFailure",
            "RunStatus",
            "StoredRecord",
            "SyncRun",
            "WriteOutcome",
            "WriteStatus",
            "content_hash",
        ),
        "rate_slots": ("DynamoPacer",),
        "record_hashes": ("hash_record_id", "pack_hashes", "sorted_hashes", "unpack_hashes"),
        "records": ("RecordOrder", "RecordRepository"),
        "sync_runs": ("SyncRunRepository",),
    }.items()
    for name in names
}

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


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))
