"""Smoke test of the full-sync benchmark: tiny tables, scaled rates; the report's structure and the
figures that do not depend on timing (record writes, completeness), never durations or rates."""

import pytest
import requests

from airtable_emulator.emulator import Emulator
from bench.sync_bench import (
    FULL,
    MIRROR,
    NAIVE,
    PYAIRTABLE,
    RESYNC,
    BenchConfig,
    EmulatorSpec,
    RequestTimes,
    emulator_process,
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
    # The session's dynalite keeps its tables on disk; the comparison pass starts an in-memory one.
    config = BenchConfig.quick(
        records=RECORDS,
        memory_small=MEMORY_SMALL,
        memory_large=MEMORY_LARGE,
        trace_python_heap=True,
        dynalite_storage="disk",
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
        "machine",
    }
    assert summary["machine"]["cores"] > 0 and len(summary["machine"]["load_at_start"]) == 3
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
    compared = report.find(MIRROR, FULL, "memory")
    assert full.dynalite_storage == "disk" and compared.dynalite_storage == "memory"
    assert compared.failure is None and compared.records_written == RECORDS
    for ours in (full, resync, compared):
        # Where the time went: CPU of both processes, the run's tail, and how close the requests came.
        assert ours.python_cpu_seconds is not None and ours.python_cpu_seconds > 0
        assert ours.dynalite_cpu_seconds is not None and ours.dynalite_cpu_seconds >= 0
        assert ours.tail_seconds is not None and ours.tail_seconds > 0
        # Three requests (the schema, two pages): too few for a span of the quick run's 50-request limit
        assert ours.airtable_requests == 3 and ours.closest_request_span is None
    # The index is walked once per run, between pages; an unchanged table leaves nothing to tombstone.
    assert full.index_walks == 1 and resync.index_walks == 1
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


def test_request_times_give_the_closest_span_over_limit_plus_one_requests() -> None:
    moments = iter([10.0, 10.5, 11.2, 11.3, 13.0])
    with Emulator() as emulator:
        times = RequestTimes(emulator, "appBase0000000001", clock=lambda: next(moments))
        for _ in range(5):
            emulator.rate_limiter.check(token="patToken", base_id="appBase0000000001")
        emulator.rate_limiter.check(token="patToken", base_id="appOther000000001")  # another base

        assert times.take_closest_span(2) == pytest.approx(0.8)  # 10.5 -> 11.3
        assert times.take_closest_span(2) is None  # taken: nothing since


def test_the_emulator_process_serves_the_loaded_table_and_reports_its_rate_limiter() -> None:
    spec = EmulatorSpec(records=3, requests_per_second=5, penalty_seconds=0.5, seed=1)
    with emulator_process(spec) as source, requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {source.token}"
        url = f"{source.url}/v0/{source.base_id}/{source.table_id}"

        responses = [session.get(url, timeout=10) for _ in range(6)]

        # The loaded table; six requests within a second: the sixth refused, the six under a second apart
        assert len(responses[0].json()["records"]) == 3
        assert [response.status_code for response in responses] == [200] * 5 + [429]
        assert source.count_429() == 1
        span = source.take_closest_span(5)
        assert span is not None and 0 < span < 1
        assert source.take_closest_span(5) is None  # taken

        source.reset_rate_limits()
        assert source.count_429() == 0


def test_arguments_choose_the_run() -> None:
    default, json_path = parse_arguments([])
    assert default.is_issue_benchmark and json_path is None
    assert (default.records, default.memory_small, default.memory_large) == (20_000, 2_000, 50_000)

    assert default.dynalite_storage == "memory" and default.compare_storage

    quick, _ = parse_arguments(
        ["--quick", "--records", "120", "--memory-records", "10", "30", "--heap-trace", "--dynalite", "disk"]
    )
    assert not quick.is_issue_benchmark
    assert (quick.records, quick.memory_small, quick.memory_large) == (120, 10, 30)
    assert quick.trace_python_heap and quick.emulator_rate > default.emulator_rate
    assert quick.dynalite_storage == "disk" and quick.other_storage == "memory"
    assert not parse_arguments(["--no-storage-comparison"])[0].compare_storage


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_arguments(["--records", "0"])
    with pytest.raises(ValueError, match="records"):
        BenchConfig(records=-5)
