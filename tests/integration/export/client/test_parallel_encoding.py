"""Two encoders end to end: the folder holds every row once, in bounded files with one numbering."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from airflow_provider_materialize.export.client import writer as client_writer
from tests.support.operator_run import run_operator
from tests.support.s3_objects import read_parquet

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

ROWS = 200_000


def test_two_encoders_export_every_row_once(
    postgres: Any, s3: Any, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    postgres.execute(
        "DROP TABLE IF EXISTS encode_me; "
        "CREATE TABLE encode_me (id bigint, doc jsonb, amount numeric(12, 2)); "
        "INSERT INTO encode_me SELECT i, jsonb_build_object('note', 'row ' || i, 'n', i), i / 100.0 "
        f"FROM generate_series(1, {ROWS}) AS i"
    )
    monkeypatch.setattr(client_writer, "default_encoders", lambda: 2)
    result = run_operator(source="encode_me", s3_uri=f"s3://{bucket}/encoders/", max_file_size="1MB")
    names = [entry["uri"].rsplit("/", 1)[1] for entry in result["files"]]
    assert len(names) > 2 and [name.split("-")[1] for name in names] == [
        f"{i:05d}" for i in range(len(names))
    ]
    tables = [
        read_parquet(s3, bucket, entry["uri"].split(f"{bucket}/", 1)[1]).read() for entry in result["files"]
    ]
    assert [t.num_rows for t in tables] == [entry["rows"] for entry in result["files"]]
    assert all(entry["bytes"] <= 1.1 * 1024 * 1024 for entry in result["files"])
    table = pa.concat_tables(tables)
    assert sorted(table.column("id").to_pylist()) == list(range(1, ROWS + 1))
    assert table.filter(pa.compute.equal(table.column("id"), 7)).column("doc").to_pylist() == [
        '{"n": 7, "note": "row 7"}'
    ]
