"""BatchGetter against a scripted client: chunking and unprocessed-key retries."""

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from airtable_mirror.repository import BatchGetter, UnprocessedKeysError


class ScriptedBatchClient:
    """Answers BatchGetItem from a dict, leaving the first `unprocessed_rounds` answers' last key out."""

    def __init__(self, items: Mapping[str, dict[str, Any]], unprocessed_rounds: int) -> None:
        self._items = items
        self._unprocessed_rounds = unprocessed_rounds
        self.requests: list[Sequence[str]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        keys = [key["pk"]["S"] for key in request["Keys"]]
        self.requests.append(keys)
        answered, left = keys, []
        if self._unprocessed_rounds > 0:
            self._unprocessed_rounds -= 1
            answered, left = keys[:-1], keys[-1:]
        unprocessed = {table: {**request, "Keys": [{"pk": {"S": key}} for key in left]}} if left else {}
        return {
            "Responses": {table: [self._items[key] for key in answered if key in self._items]},
            "UnprocessedKeys": unprocessed,
        }


def _items(count: int) -> dict[str, dict[str, Any]]:
    return {f"k{number}": {"pk": {"S": f"k{number}"}, "n": {"N": str(number)}} for number in range(count)}


def test_keys_are_read_100_at_a_time() -> None:
    # Given 250 stored items
    client = ScriptedBatchClient(_items(250), unprocessed_rounds=0)
    getter = BatchGetter(client, "mirror")  # type: ignore[arg-type]

    # When all of them and an unknown key are asked for
    found = getter.get([{"pk": {"S": f"k{number}"}} for number in range(251)])

    # Then three requests of at most 100 keys return every known item
    assert [len(keys) for keys in client.requests] == [100, 100, 51]
    assert sorted(int(item["n"]["N"]) for item in found) == list(range(250))


def test_unprocessed_keys_are_retried_with_growing_jittered_backoff() -> None:
    # Given a table that leaves a key unprocessed three times running
    client = ScriptedBatchClient(_items(5), unprocessed_rounds=3)
    sleeps: list[float] = []
    ceilings: list[float] = []

    def jitter(low: float, high: float) -> float:
        ceilings.append(high)
        return high / 2

    getter = BatchGetter(client, "mirror", sleep=sleeps.append, jitter=jitter)  # type: ignore[arg-type]

    # When the five keys are read
    found = getter.get([{"pk": {"S": f"k{number}"}} for number in range(5)])

    # Then every item arrives, after three backoffs under doubling ceilings
    assert len(found) == 5
    assert client.requests[1:] == [["k4"], ["k4"], ["k4"]]
    assert ceilings == [0.05, 0.1, 0.2]
    assert sleeps == [0.025, 0.05, 0.1]


def test_keys_still_unprocessed_after_every_attempt_raise_a_typed_error() -> None:
    client = ScriptedBatchClient(_items(5), unprocessed_rounds=100)
    getter = BatchGetter(client, "mirror", max_attempts=4, sleep=lambda _: None)  # type: ignore[arg-type]

    with pytest.raises(UnprocessedKeysError) as raised:
        getter.get([{"pk": {"S": f"k{number}"}} for number in range(5)])

    assert raised.value.remaining == 1
    assert raised.value.attempts == 4
    assert len(client.requests) == 4
