"""Fixtures for the emulator's HTTP tests: a started emulator on a free loopback port, and clients.

The default ``emulator`` has rate limiting off (5 req/s per base would throttle the tests); the rate
limit tests build their own with ``make_emulator`` and scaled figures.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from airtable_emulator.emulator import Emulator
from airtable_emulator.model import Base
from tests.local.airtable_emulator.http_support import (
    ITEMS_SPEC,
    OWNERS_SPEC,
    Client,
    MakeEmulator,
    quiet_settings,
)


@pytest.fixture
def make_emulator() -> Iterator[MakeEmulator]:
    """Start emulators with any constructor arguments; all are stopped at teardown."""
    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        kwargs.setdefault("seed", 7)
        kwargs.setdefault("settings", quiet_settings())
        emulator = Emulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator: MakeEmulator) -> Emulator:
    """A started emulator with no bases, rate limiting off."""
    return make_emulator()


@pytest.fixture
def items_base(emulator: Emulator) -> Base:
    """``Items`` (every common type) linked to ``Owners``, empty."""
    return emulator.state.create_base("Test base", [ITEMS_SPEC, OWNERS_SPEC])


@pytest.fixture
def http(emulator: Emulator) -> Iterator[Client]:
    with Client(emulator) as client:
        yield client
