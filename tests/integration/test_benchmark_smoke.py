"""The benchmark (bench/compare.py) must keep working: every shape, mode and peer on tiny tables.

No timing is asserted. The peers' venvs are created on the first run (cached in .bench-venvs/).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from bench.checks import type_losses
from tests.support.benchmark_plan import CSV_SHAPES, MODES, REPEATED_MODES, SHAPES, SMALL_MODES, SMOKE
from tests.support.parity import PARITY_SCHEMAS, schema_differences, type_differences

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_smoke_benchmark_runs_every_shape_and_peer_and_checks_the_output(tmp_path: Path) -> None:
    # Its own PostgreSQL and S3 servers, stopped when it ends; the results go to tmp_path.
    completed = subprocess.run(
        [sys.executable, "-m", "bench.compare", "--smoke", "--results-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    # Everything below is read from what the run wrote, checked against the plan it shares with bench/.
    document = json.loads((tmp_path / "compare-smoke.json").read_text())
    settings = document["settings"]
    assert settings["smoke"] is True and settings["shapes"] == list(SHAPES)
    assert settings["repeated_modes"] == list(REPEATED_MODES) and settings["repeat"] == SMOKE["repeat"]
    assert settings["scaling_rows"] == SMOKE["scaling"]
    assert set(document["machine"]["peers"]) == {"duckdb", "dlt"}
    markdown = (tmp_path / "compare-smoke.md").read_text()
    assert markdown.count("| (b) our operator, reader=adbc |") == 2 * len(SHAPES)
    time_table = markdown.split("#### Where (b)'s time went", 1)[1].split("####", 1)[0]
    table_rows = [line for line in time_table.splitlines() if line.startswith("| ")][1:]  # after the header
    assert [line.split(" | ")[0].removeprefix("| ") for line in table_rows] == list(SHAPES)

    for shape in SHAPES:
        rows = [r for r in document["comparison"] if r["kind"] == shape]
        on_table = {r["mode"] for r in rows if r["rows"] == SMOKE["rows"]}
        on_small = {r["mode"] for r in rows if r["rows"] == SMOKE["small_rows"]}
        expected = set(MODES) - {"sql_to_s3", "dlt"} - (set() if shape in CSV_SHAPES else {"operator_csv"})
        assert on_table == expected, shape
        assert on_small == set(SMALL_MODES), shape
        assert {"b/a", "b/duckdb", "b/dlt"} <= set(document["ratios"][shape]), shape
    assert [r["rows"] for r in document["scaling"]] == SMOKE["scaling"]
    # Each scaling size has the raw COPY's time beside (b)'s, and its ratio
    assert all(r["raw_copy_seconds"] > 0 and r["of_raw_copy"] > 0 for r in document["scaling"])

    failed = [(r["kind"], r["mode"]) for r in document["results"] if "failed" in r]
    # SqlToS3Operator cannot write bytea (pandas decodes it as UTF-8): a finding the report records.
    assert failed == [("wide", "sql_to_s3")]
    for result in document["results"]:
        if "failed" in result:
            continue
        assert result["peak_rss_mib"] > 0 and result["operation_cpu_seconds"] >= 0
        assert set(result["server_cpu_seconds"]) == {"postgres", "s3"}
        if result["mode"] == "raw_copy":
            assert result["output_bytes"] > 0
        elif result["mode"].startswith("operator_"):
            assert result["schema_matches_parity"] is True
            assert result["footer_rows"] == result["xcom_rows"] == result["rows"]
            assert result["files"] == len(result["file_bytes"]) >= 1
            first, last = result["first_batch_seconds"], result["last_batch_seconds"]
            # Taken on two threads: on a one-batch table the first can come after the last
            assert 0 < first < result["operation_seconds"] and 0 < last <= result["operation_seconds"]
        elif result["mode"] != "raw_copy_psql":  # (c) and the peers: every row, types recorded
            assert result["footer_rows"] == result["rows"] and result["files"] >= 1
            assert isinstance(result["type_losses"], list)
    arrays = {r["mode"]: r for r in document["comparison"] if r["kind"] == "arrays"}
    assert any(loss.startswith("arrays:") for loss in arrays["dlt"]["type_losses"])
    for result in document["comparison"]:
        if "failed" not in result and result["rows"] == SMOKE["rows"]:
            expected_runs = SMOKE["repeat"] if result["mode"] in REPEATED_MODES else 1
            assert len(result["runs_operation_seconds"]) == expected_runs
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


def test_type_losses_name_what_changes_and_not_mere_spelling() -> None:
    parity = pa.schema(
        [
            pa.field("amount", pa.decimal128(38, 4)),
            pa.field("at", pa.timestamp("us", tz="+00:00")),
            pa.field("name", pa.large_string()),
            pa.field("uid", pa.binary(16)),
        ]
    )
    same_values = pa.schema(
        [
            pa.field("amount", pa.decimal128(18, 4)),
            pa.field("at", pa.timestamp("us", tz="UTC")),
            pa.field("name", pa.string()),
            pa.field("uid", pa.binary(16)),
        ]
    )
    assert type_losses(same_values, parity) == []
    lossy = pa.schema(
        [
            pa.field("amount", pa.float64()),
            pa.field("at", pa.timestamp("us")),
            pa.field("name", pa.string()),
            pa.field("uid", pa.string()),
        ]
    )
    assert type_losses(lossy, parity) == [
        "decimals: amount as double",
        "time zones: at as timestamp[us]",
        "uuids: uid as string",
    ]
