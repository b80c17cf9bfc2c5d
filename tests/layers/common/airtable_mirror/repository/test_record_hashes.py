"""8-byte record id hashes and their packed form."""

import bisect
import hashlib

import pytest

from airtable_mirror.repository import hash_record_id, pack_hashes, sorted_hashes, unpack_hashes
from tests.support.records import record_id


def test_hash_is_the_first_eight_bytes_of_blake2b_big_endian() -> None:
    expected = int.from_bytes(hashlib.blake2b(b"recAbCdEfGhIjKlMn").digest()[:8], "big")
    assert hash_record_id("recAbCdEfGhIjKlMn") == expected
    assert hash_record_id("recAbCdEfGhIjKlMn") != hash_record_id("recAbCdEfGhIjKlMm")


def test_packed_hashes_round_trip_in_order() -> None:
    hashes = [hash_record_id(record_id(number)) for number in range(100)] + [0, 2**64 - 1]
    packed = pack_hashes(hashes)
    assert len(packed) == 8 * len(hashes)
    assert packed[:8] == hashes[0].to_bytes(8, "big")
    assert list(unpack_hashes(packed)) == hashes


def test_pages_merge_into_one_sorted_array_for_membership_tests() -> None:
    # Given two pages of seen ids
    pages = [
        pack_hashes(hash_record_id(record_id(number)) for number in range(0, 100)),
        pack_hashes(hash_record_id(record_id(number)) for number in range(100, 150)),
    ]

    # When merged
    merged = sorted_hashes(pages)

    # Then every seen id is found by bisection, an unseen one is not
    assert merged.typecode == "Q"
    assert list(merged) == sorted(merged)

    def seen(record: str) -> bool:
        value = hash_record_id(record)
        index = bisect.bisect_left(merged, value)
        return index < len(merged) and merged[index] == value

    assert all(seen(record_id(number)) for number in range(150))
    assert not seen(record_id(150))


def test_bad_hashes_are_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        unpack_hashes(b"1234567")
    for bad in (-1, 2**64, True):
        with pytest.raises(ValueError, match="unsigned 64-bit"):
            pack_hashes([bad])
