"""Key layout of the single mirror table (docs/architecture.md, "DynamoDB single table").

Every key is built here so that the layout lives in one place. Identifiers are checked before
they go into a key: a `#` inside an id would let one base's keys collide with another's.
"""

import re

from airtable_mirror.repository.errors import InvalidIdentifierError

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"

TABLE_KEY = "table_key"
CREATED_KEY = "created_key"
CHANGED_KEY = "changed_key"
INDEX_BY_CREATED = "by_created"
INDEX_BY_CHANGED = "by_changed"
INDEX_SORT_KEYS = {INDEX_BY_CREATED: CREATED_KEY, INDEX_BY_CHANGED: CHANGED_KEY}

RECORD_SK = "RECORD"
RUN_SK = "RUN"
ACTIVE_RUN_SK = "RUN"
LOCK_SK = "SYNC"
RATE_SK = "SLOTS"
CHECKPOINT_SK_PREFIX = "PAGE#"
MAX_PAGE_NUMBER = 999_999

# Airtable ids are `app`/`tbl`/`rec` + 14 alphanumerics; run ids are chosen by us (uuid, ulid, ...).
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,128}")


def check_identifier(kind: str, value: object) -> str:
    """Return `value` if it is safe inside a key, else raise InvalidIdentifierError."""
    if not isinstance(value, str) or _IDENTIFIER.fullmatch(value) is None:
        raise InvalidIdentifierError(f"{kind} must be 1-128 characters of [A-Za-z0-9_-], got {value!r}")
    return value


def record_pk(base_id: str, record_id: str) -> str:
    return f"B#{check_identifier('base_id', base_id)}#R#{check_identifier('record_id', record_id)}"


def record_id_from_pk(base_id: str, pk: str) -> str:
    prefix = f"B#{base_id}#R#"
    if not pk.startswith(prefix):
        raise ValueError(f"{pk!r} is not a record key of base {base_id!r}")
    return pk[len(prefix) :]


def table_key(base_id: str, table_id: str) -> str:
    return f"B#{check_identifier('base_id', base_id)}#T#{check_identifier('table_id', table_id)}"


def index_sort_key(moment: str, record_id: str) -> str:
    """`created_key` / `changed_key`: a fixed-width UTC time, then the record id to break ties."""
    return f"{moment}#{record_id}"


def run_pk(base_id: str, run_id: str) -> str:
    return f"B#{check_identifier('base_id', base_id)}#RUN#{check_identifier('run_id', run_id)}"


def run_log_pk(base_id: str, table_id: str | None = None) -> str:
    """The base's run log (every run), or one table's: entries sorted by creation, newest last."""
    base_log = f"B#{check_identifier('base_id', base_id)}#RUNS"
    return base_log if table_id is None else f"{base_log}#T#{check_identifier('table_id', table_id)}"


def run_log_sk(created_at: str, run_id: str) -> str:
    """A run's entry in a run log: its fixed-width creation time, then its id to break ties."""
    return f"{created_at}#{check_identifier('run_id', run_id)}"


def checkpoint_sk(page_number: int) -> str:
    if isinstance(page_number, bool) or not isinstance(page_number, int):
        raise TypeError(f"page_number must be an int, got {page_number!r}")
    if not 0 <= page_number <= MAX_PAGE_NUMBER:
        raise ValueError(f"page_number must be within 0..{MAX_PAGE_NUMBER}, got {page_number}")
    return f"{CHECKPOINT_SK_PREFIX}{page_number:06d}"


def page_number_from_sk(sk: str) -> int:
    return int(sk.removeprefix(CHECKPOINT_SK_PREFIX))


def active_run_pk(base_id: str, table_id: str) -> str:
    return f"B#{check_identifier('base_id', base_id)}#ACTIVE#{check_identifier('table_id', table_id)}"


def lock_pk(base_id: str) -> str:
    return f"B#{check_identifier('base_id', base_id)}#LOCK"


def rate_pk(base_id: str) -> str:
    return f"B#{check_identifier('base_id', base_id)}#RATE"
