import os

from bench.measure import (
    MachineCpuMeter,
    format_table,
    latency_summary_ms,
    percentile,
    process_cpu_seconds,
)


def test_percentile_by_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([], 50) == 0.0
    assert percentile([7], 99) == 7


def test_latency_summary_in_milliseconds():
    summary = latency_summary_ms([0.001, 0.002, 0.003])
    assert summary["p50"] == 2.0
    assert summary["max"] == 3.0


def test_table_is_markdown():
    table = format_table(["what", "n"], [["holds", 1234], ["ratio", 0.5]])
    lines = table.splitlines()
    assert lines[0].startswith("| what")
    assert set(lines[1]) <= {"|", "-"}
    assert "1,234" in table
    assert "0.5" in table


def test_cpu_of_a_process_that_cannot_be_read_is_none():
    assert process_cpu_seconds([2**22 + 12345]) is None  # no such process
    own = process_cpu_seconds([os.getpid()])
    assert own is not None
    assert own[os.getpid()] >= 0


def test_the_machine_is_busy_for_a_share_of_the_time():
    meter = MachineCpuMeter()
    sum(range(200_000))
    assert 0.0 <= meter.busy_share() <= 1.0
