"""8-byte hashes of record ids, packed into checkpoints so a whole table's seen ids fit in memory.

`hash_record_id` is the first 8 bytes of BLAKE2b-512 over the UTF-8 id, read as a big-endian
unsigned int. A table of a million records has about a 3-in-100-million chance of any collision; a
collision can only make the sweep miss one deletion until the next full sync.
"""

import hashlib
from array import array
from collections.abc import Iterable

HASH_BYTES = 8


def hash_record_id(record_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(record_id.encode("utf-8")).digest()[:HASH_BYTES], "big")


def pack_hashes(hashes: Iterable[int]) -> bytes:
    """Big-endian 8-byte words, in the order given."""
    return b"".join(_word(value) for value in hashes)


def _word(value: int) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << (8 * HASH_BYTES):
        raise ValueError(f"hashes must be unsigned 64-bit ints, got {value!r}")
    return value.to_bytes(HASH_BYTES, "big")


def unpack_hashes(packed: bytes) -> array[int]:
    """The hashes `pack_hashes` wrote, as an `array('Q')` (native byte order in memory)."""
    if len(packed) % HASH_BYTES:
        raise ValueError(f"packed hashes must be a multiple of {HASH_BYTES} bytes, got {len(packed)}")
    values = array("Q")
    values.frombytes(packed)
    if values.itemsize != HASH_BYTES:
        raise RuntimeError(f"array('Q') is {values.itemsize} bytes on this platform")
    if array("Q", [1]).tobytes() != (1).to_bytes(HASH_BYTES, "big"):
        values.byteswap()
    return values


def sorted_hashes(pages: Iterable[bytes]) -> array[int]:
    """Every page's hashes in one sorted `array('Q')`, ready for `bisect` membership tests.

    Sorted in 256 buckets by the top byte: `sorted()` makes a list of Python ints (about 60 bytes a
    hash), so sorting one bucket at a time keeps the peak near 8 bytes a hash, not 70.
    """
    buckets: list[array[int]] = [array("Q") for _ in range(256)]
    shift = 8 * HASH_BYTES - 8
    for packed in pages:
        for value in unpack_hashes(packed):
            buckets[value >> shift].append(value)
    merged: array[int] = array("Q")
    for index, bucket in enumerate(buckets):
        merged.extend(sorted(bucket))
        buckets[index] = array("Q")
    return merged
