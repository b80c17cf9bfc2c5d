"""Airtable-shaped identifiers: a 3-letter prefix and 14 alphanumerics (17 characters)."""

import random
import re
import string
import threading

_ALPHABET = string.ascii_letters + string.digits
_ID_RE = re.compile(r"^[a-z]{3}[A-Za-z0-9]{14}$")

PREFIXES = {
    "base": "app",
    "table": "tbl",
    "field": "fld",
    "view": "viw",
    "record": "rec",
    "webhook": "ach",
    "user": "usr",
    "attachment": "att",
    "select_option": "sel",
    "iterator": "itr",
}


class IdFactory:
    """Makes unique ids; seeded for reproducible tests, random otherwise."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._issued: set[str] = set()

    def new(self, kind: str) -> str:
        prefix = PREFIXES[kind]
        with self._lock:
            while True:
                candidate = prefix + "".join(self._rng.choice(_ALPHABET) for _ in range(14))
                if candidate not in self._issued:
                    self._issued.add(candidate)
                    return candidate


def looks_like(kind: str, value: str) -> bool:
    return bool(_ID_RE.match(value)) and value.startswith(PREFIXES[kind])
