from bench.measure import format_table, latency_summary_ms, percentile


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
