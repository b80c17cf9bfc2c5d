"""One stack per xdist worker for the read-mostly tests (tests that need their own use `running_stack`)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import RunningStack, running_stack, synced_tables, wait_for

FIRST_SYNC_TIMEOUT_SECONDS = 120.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    data_dir: Path = tmp_path_factory.mktemp("e2e") / "local-data"
    with running_stack(data_dir) as running:
        wait_for(
            lambda: synced_tables(running),
            timeout=FIRST_SYNC_TIMEOUT_SECONDS,
            what="the first sync of People and Tasks",
            stack=running,
        )
        yield running
