"""Smoke test of the full-sync benchmark: tiny tables, scaled rates; the report's structure and the
figures that do not depend on timing (record writes, completeness), never durations or rates."""

import pytest

from bench.sync_bench import (
    FULL,
    MIRROR,
    NAIVE,
    PYAIRTABLE,
    RESYNC,
    BenchConfig,
    format_report,
    parse_arguments,
    run_benchmark,
)
from tests.support.dynamodb import DynaliteServer

RECORDS = 150
MEMORY_SMALL = 40
MEMORY_LARGE = 120


@pytest.mark.dynalite
def test_quick_run_reports_every_figure(aws_credentials: None, dynalite: DynaliteServer) -> None:
    config = BenchConfig.quick(
        records=RECORDS, memory_small=MEMORY_SMALL, memory_large=MEMORY_LARGE, trace_python_heap=True
    )
    progress: list[str] = []

    report = run_benchmark(config, dynalite=dynalite, progress=progress.append)

    summary = report.as_dict()
    assert set(summary) == {
        "config",
        "ceiling_records_per_second",
        "passes",
        "memory",
        "checks",
        "elapsed_seconds",
    }
    assert {(entry["approach"], entry["sync"]) for entry in summary["passes"]} == {
        (approach, sync) for approach in (MIRROR, NAIVE, PYAIRTABLE) for sync in (FULL, RESYNC)
    }
    for entry in summary["passes"]:
        assert {
            "records_synced",
            "seconds",
            "records_per_second",
            "count_429",
            "write_units_records",
            "write_units_bookkeeping",
            "failure",
        } <= set(entry)

    full, resync = report.find(MIRROR, FULL), report.find(MIRROR, RESYNC)
    assert full.failure is None and resync.failure is None
    assert full.mirror_records == RECORDS and resync.mirror_records == RECORDS
    assert full.records_written == RECORDS and full.write_units.record_calls == RECORDS
    # The re-sync of an unchanged table writes no record, only its own bookkeeping: a checkpoint a page.
    assert resync.records_synced == RECORDS and resync.records_written == 0
    assert resync.write_units.records == 0 and resync.write_units.record_calls == 0
    assert resync.write_units.refused == 0
    assert resync.write_units.calls["checkpoint"] == resync.pages == RECORDS // 100 + 1
    assert resync.write_units.bookkeeping > 0
    assert resync.airtable_requests == resync.pages + 1  # the schema, then one request a page

    for approach in (NAIVE, PYAIRTABLE):
        for sync in (FULL, RESYNC):
            baseline = report.find(approach, sync)
            # Every record copied is written again, one write per record, and nothing else is written.
            assert baseline.write_units.record_calls == baseline.records_synced > 0
            assert baseline.write_units.bookkeeping == 0
            if baseline.failure is None:
                assert baseline.records_synced == RECORDS == baseline.mirror_records

    assert [memory.records for memory in report.memory] == [MEMORY_SMALL, MEMORY_LARGE]
    for memory in report.memory:
        assert memory.rss.records == memory.records and memory.rss.peak_rss_bytes > 0
        assert memory.heap is not None and (memory.heap.python_heap_peak_bytes or 0) > 0

    checks = {check.name: check for check in report.checks()}
    assert checks["mirror complete"].passed
    assert checks["re-sync record writes"].passed
    assert any(name.endswith("(peak RSS)") for name in checks)
    assert any(name.endswith("(Python heap)") for name in checks)

    text = format_report(report)
    assert "NOT THE ISSUE'S BENCHMARK" in text
    assert "targets" in text and all(approach in text for approach in (MIRROR, NAIVE, PYAIRTABLE))
    assert len(progress) >= 6


def test_arguments_choose_the_run() -> None:
    default, json_path = parse_arguments([])
    assert default.is_issue_benchmark and json_path is None
    assert (default.records, default.memory_small, default.memory_large) == (20_000, 2_000, 50_000)

    quick, _ = parse_arguments(
        ["--quick", "--records", "120", "--memory-records", "10", "30", "--heap-trace"]
    )
    assert not quick.is_issue_benchmark
    assert (quick.records, quick.memory_small, quick.memory_large) == (120, 10, 30)
    assert quick.trace_python_heap and quick.emulator_rate > default.emulator_rate


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_arguments(["--records", "0"])
    with pytest.raises(ValueError, match="records"):
        BenchConfig(records=-5)
