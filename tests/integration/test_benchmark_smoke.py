"""The benchmark (bench/compare.py) must keep working: a smoke run of every mode, no timing asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from tests.support.benchmark_plan import DEFAULT_NARROW_MODES, MODES, REPEATED_MODES, SMOKE
from tests.support.parity import PARITY_SCHEMAS, schema_differences, type_differences

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_smoke_benchmark_runs_every_mode_and_checks_the_output(tmp_path: Path) -> None:
    # Its own PostgreSQL and S3 servers, stopped when it ends; the results go to tmp_path.
    completed = subprocess.run(
        [sys.executable, "-m", "bench.compare", "--smoke", "--results-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    # Everything below is read from what the run wrote, checked against the plan it shares with bench/.
    document = json.loads((tmp_path / "compare-smoke.json").read_text())
    settings = document["settings"]
    assert settings["smoke"] is True
    assert settings["modes"] == list(MODES) and settings["narrow_modes"] == DEFAULT_NARROW_MODES
    assert settings["repeated_modes"] == list(REPEATED_MODES) and settings["repeat"] == SMOKE["repeat"]
    assert settings["scaling_rows"] == SMOKE["scaling"] and settings["narrow_rows"] == SMOKE["narrow_rows"]
    assert (tmp_path / "compare-smoke.md").read_text().count("| (b) our operator, reader=adbc |") == 2

    by_kind: dict[str, list[str]] = {}
    for result in document["comparison"]:
        by_kind.setdefault(result["kind"], []).append(result["mode"])
    assert by_kind == {"mixed": list(MODES), "narrow": DEFAULT_NARROW_MODES}
    assert [r["rows"] for r in document["scaling"]] == SMOKE["scaling"]

    for result in document["results"]:
        table_rows = SMOKE["narrow_rows"] if result["kind"] == "narrow" else result["rows"]
        assert result["rows"] == table_rows
        assert result["peak_rss_mib"] > 0
        if result["mode"] == "raw_copy":
            assert result["output_bytes"] > 0
        elif result["mode"] == "raw_copy_psql":
            assert result["output_bytes"] is None
        elif result["mode"].startswith("operator_"):
            assert result["schema_matches_parity"] is True
            assert result["footer_rows"] == result["xcom_rows"] == result["rows"]
            assert result["files"] == len(result["file_bytes"]) >= 1
        else:
            assert result["footer_rows"] == result["rows"]
    for result in document["comparison"]:  # repeated modes: one row, the median of the runs
        expected_runs = SMOKE["repeat"] if result["mode"] in REPEATED_MODES else 1
        assert len(result["runs_operation_seconds"]) == expected_runs
        assert result["peak_rss_mib"] == max(result["runs_peak_rss_mib"])
    assert {"b/a", "b/c", "b-csv/a", "b-csv/c"} <= set(document["ratios"]["mixed"])
    assert document["machine"]["cpu_count"] >= 1


def test_parity_check_names_every_difference() -> None:
    expected = PARITY_SCHEMAS["narrow"]
    assert schema_differences(expected, expected) == []
    wrong_type = pa.schema([expected.field("id"), expected.field("value").with_type(pa.float32())])
    assert [d.split(":")[0] for d in schema_differences(wrong_type, expected)] == ["value"]
    no_metadata = pa.schema([expected.field("id"), expected.field("value").remove_metadata()])
    assert [d.split(":")[0] for d in schema_differences(no_metadata, expected)] == ["value"]
    assert schema_differences(pa.schema([expected.field("id")]), expected) != []
    assert type_differences(wrong_type, expected) == ["value float (parity: double)"]
