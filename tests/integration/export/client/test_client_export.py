"""Client-mode exports against the real PostgreSQL and S3-compatible servers: what lands in S3."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

from tests.support.operator_run import ROOT, run_operator
from tests.support.parity import parity_field
from tests.support.s3_objects import file_keys, list_keys, list_objects, read_parquet

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

ALL_TYPES_DDL = """
CREATE TABLE IF NOT EXISTS all_types (
    b boolean, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
    n numeric(18, 4), nu numeric, tx text, vc varchar, vc10 varchar(10), ch5 char(5),
    by bytea, u uuid, j jsonb, d date, tm time, ts timestamp, tz timestamptz,
    ai integer[], at text[], an numeric(10, 2)[]
);
TRUNCATE all_types;
INSERT INTO all_types VALUES
  (true, -32768, 2147483647, -9223372036854775808, 1.5, -2.25e300,
   12345678901234.5678, 1234, 'héllo', '', 'ten chars!', 'ab',
   '\\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": [1, 2.5], "a": "x, y: z"}',
   '2024-02-29', '23:59:59.999999', '1999-12-31 23:59:59.000001', '2024-01-02 03:04:05.5+02',
   '{{1,2},{3,4}}', '{"a",NULL,"c d"}', '{1.5,NULL}'),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (false, 0, 0, 0, 'NaN', 'Infinity', -0.0001, 0.0000000001, 'x', 'y', 'z', 'abcde',
   '\\x', '00000000-0000-0000-0000-000000000000', '[]', '0001-01-01', '00:00', '0001-01-01 00:00',
   '1970-01-01 00:00+00', '{}', '{}', '{}');
"""

SCALARS = [
    "b",
    "i2",
    "i4",
    "i8",
    "f4",
    "f8",
    "n",
    "nu",
    "tx",
    "vc",
    "vc10",
    "ch5",
    "by",
    "u",
    "j",
    "d",
    "tm",
    "ts",
    "tz",
]


def _array(name: str, element: pa.DataType, element_mz: str) -> pa.Field:
    # list elements are named "item", as arrow-rs names them in Materialize's own files
    items = parity_field(
        "items", pa.list_(parity_field("item", element, element_mz)), "array_items", nullable=False
    )
    dims = parity_field("dimensions", pa.uint8(), "array_dimensions", nullable=False)
    return parity_field(name, pa.struct([items, dims]), "array")


EXPECTED_SCHEMA = pa.schema(
    [
        parity_field("b", pa.bool_(), "boolean"),
        parity_field("i2", pa.int16(), "smallint"),
        parity_field("i4", pa.int32(), "integer"),
        parity_field("i8", pa.int64(), "bigint"),
        parity_field("f4", pa.float32(), "real"),
        parity_field("f8", pa.float64(), "double"),
        parity_field("n", pa.decimal128(38, 4), "numeric"),
        parity_field("nu", pa.decimal128(38, 10), "numeric"),
        parity_field("tx", pa.large_string(), "text"),
        parity_field("vc", pa.large_string(), "text"),
        parity_field("vc10", pa.string(), "text"),
        parity_field("ch5", pa.string(), "text"),
        parity_field("by", pa.large_binary(), "bytea"),
        parity_field("u", pa.binary(16), "uuid"),
        parity_field("j", pa.large_string(), "jsonb"),
        parity_field("d", pa.date32(), "date"),
        parity_field("tm", pa.time64("us"), "time"),
        parity_field("ts", pa.timestamp("us"), "timestamp"),
        parity_field("tz", pa.timestamp("us", tz="+00:00"), "timestamptz"),
        _array("ai", pa.int32(), "integer"),
        _array("at", pa.large_string(), "text"),
        _array("an", pa.decimal128(38, 2), "numeric"),
    ]
)

UTC = dt.UTC
EXPECTED_FIRST_ROW = {
    "b": True,
    "i2": -32768,
    "i4": 2147483647,
    "i8": -9223372036854775808,
    "f4": 1.5,
    "f8": -2.25e300,
    "n": Decimal("12345678901234.5678"),
    "nu": Decimal("1234.0000000000"),
    "tx": "héllo",
    "vc": "",
    "vc10": "ten chars!",
    "ch5": "ab   ",
    "by": b"\x00\xff\x10",
    "u": uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").bytes,
    "j": '{"a": "x, y: z", "b": [1, 2.5]}',  # PostgreSQL's spelling, kept as printed
    "d": dt.date(2024, 2, 29),
    "tm": dt.time(23, 59, 59, 999999),
    "ts": dt.datetime(1999, 12, 31, 23, 59, 59, 1),
    "tz": dt.datetime(2024, 1, 2, 1, 4, 5, 500000, tzinfo=UTC),
    "ai": {"items": [1, 2, 3, 4], "dimensions": 2},
    "at": {"items": ["a", None, "c d"], "dimensions": 1},
    "an": {"items": [Decimal("1.50"), None], "dimensions": 1},
}


@pytest.fixture(scope="module")
def all_types_table(postgres) -> str:
    postgres.execute(ALL_TYPES_DDL)
    return "all_types"


@pytest.mark.parametrize("reader", ["adbc", "csv"])
def test_every_postgres_parity_type(all_types_table, s3, bucket, reader) -> None:
    columns = [*SCALARS, "ai", "at", "an"] if reader == "adbc" else SCALARS  # the CSV reader has no arrays
    stats = run_operator(
        query=f"SELECT {', '.join(columns)} FROM all_types", s3_uri=f"s3://{bucket}/types/", reader=reader
    )
    (key,) = file_keys(stats)
    parquet = read_parquet(s3, bucket, key)
    expected_schema = pa.schema([EXPECTED_SCHEMA.field(name) for name in columns])
    assert parquet.schema_arrow.equals(expected_schema, check_metadata=True)
    for name in columns:  # metadata of every field, nested ones included
        assert parquet.schema_arrow.field(name).metadata == expected_schema.field(name).metadata
    rows = parquet.read().to_pylist()
    assert stats["rows"] == len(rows) == 3
    assert rows[0] == {name: EXPECTED_FIRST_ROW[name] for name in columns}
    assert rows[1] == dict.fromkeys(columns)
    third = rows[2]
    assert third["f4"] != third["f4"] and third["f8"] == float("inf")  # NaN, Infinity floats pass through
    assert third["n"] == Decimal("-0.0001") and third["nu"] == Decimal("1E-10")
    assert third["by"] == b"" and third["j"] == "[]" and third["ch5"] == "abcde"
    assert third["ts"] == dt.datetime(1, 1, 1)
    if reader == "adbc":
        assert third["ai"] == {"items": [], "dimensions": 0}


def test_an_export_does_not_import_pandas(all_types_table, bucket) -> None:
    # pandas is installed here (the benchmark's baseline needs it); loading it costs a worker ~40 MB.
    script = (
        "import sys\n"
        "from tests.support.operator_run import prepare_environment, run_operator\n"
        "prepare_environment()\n"
        f"run_operator(source='all_types', s3_uri='s3://{bucket}/no-pandas/', reader='adbc')\n"
        "print(sorted(m for m in ('pandas', 'pyarrow.dataset') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_field_metadata_survives_in_every_file(postgres, s3, bucket) -> None:
    postgres.execute(
        "CREATE TABLE IF NOT EXISTS wide_rows AS "
        "SELECT i AS id, md5(i::text) AS h, (i / 7.0)::numeric(12, 3) AS x FROM generate_series(1, 120000) i"
    )
    stats = run_operator(source="public.wide_rows", s3_uri=f"s3://{bucket}/w", max_file_size="1MB")
    schemas = [
        read_parquet(s3, bucket, f["uri"].split(f"{bucket}/", 1)[1]).schema_arrow for f in stats["files"]
    ]
    assert len(schemas) > 2
    assert all(schema.equals(schemas[0], check_metadata=True) for schema in schemas)


def test_empty_result_writes_one_empty_file_with_the_full_schema(all_types_table, s3, bucket) -> None:
    stats = run_operator(query="SELECT * FROM all_types WHERE false", s3_uri=f"s3://{bucket}/empty/")
    assert stats["rows"] == 0 and len(stats["files"]) == 1 and stats["files"][0]["rows"] == 0
    (key,) = file_keys(stats)
    parquet = read_parquet(s3, bucket, key)
    assert parquet.metadata.num_rows == 0
    assert parquet.schema_arrow.equals(EXPECTED_SCHEMA, check_metadata=True)
    assert list_keys(s3, bucket) == ["empty/_manifest.json", key]
    assert re.fullmatch(r"empty/part-00000-[0-9a-f]{8}\.parquet", key)  # a per-try token in the name


@pytest.fixture(scope="module")
def rolling_table(postgres) -> str:
    postgres.execute(
        "CREATE TABLE IF NOT EXISTS rolling AS SELECT i AS id, md5(i::text) AS h, i * 1.5 AS x, "
        "now() - i * interval '1 second' AS at FROM generate_series(1, 400000) i"
    )
    return "rolling"


def test_files_roll_within_the_size_bounds_and_statistics_match_s3(rolling_table, s3, bucket) -> None:
    limit = 2_000_000
    stats = run_operator(source=rolling_table, s3_uri=f"s3://{bucket}/roll/", max_file_size="2MB")
    files = stats["files"]
    assert len(files) >= 4
    token = files[0]["uri"].rsplit("-", 1)[1].removesuffix(".parquet")
    assert [f["uri"] for f in files] == [
        f"s3://{bucket}/roll/part-{i:05d}-{token}.parquet" for i in range(len(files))
    ]
    sizes = list_objects(s3, bucket, "roll/")
    for index, entry in enumerate(files):
        key = entry["uri"].split(f"{bucket}/", 1)[1]
        assert entry["bytes"] == sizes[key] <= 1.1 * limit
        if index < len(files) - 1:
            assert entry["bytes"] >= 0.5 * limit
        assert entry["rows"] == read_parquet(s3, bucket, key).metadata.num_rows
    assert stats["rows"] == sum(f["rows"] for f in files) == 400000
    assert stats["bytes"] == sum(sizes[k] for k in sizes if k.endswith(".parquet"))
    assert sorted(sizes) == sorted(
        [*(f["uri"].split(f"{bucket}/", 1)[1] for f in files), "roll/_manifest.json"]
    )


def test_manifest_describes_the_export(rolling_table, s3, bucket) -> None:
    stats = run_operator(source=rolling_table, s3_uri=f"s3://{bucket}/m", max_file_size="4MB")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="m/_manifest.json")["Body"].read())
    assert stats["manifest_uri"] == f"s3://{bucket}/m/_manifest.json"
    assert (
        manifest["format"] == "parquet"
        and manifest["rows"] == stats["rows"]
        and manifest["bytes"] == stats["bytes"]
    )
    assert manifest["files"] == stats["files"]
    assert manifest["entries"] == [
        {"url": f["uri"], "mandatory": True, "meta": {"content_length": f["bytes"]}} for f in stats["files"]
    ]
    assert [(c["name"], c["type"]) for c in manifest["schema"]] == [
        ("id", "int32"),
        ("h", "large_string"),
        ("x", "decimal128(38, 10)"),
        ("at", "timestamp[us, tz=+00:00]"),
    ]
    assert manifest["snapshot_timestamp"] is None  # PostgreSQL has no Materialize timestamp
    assert set(stats) == {
        "uri",
        "mode",
        "format",
        "rows",
        "bytes",
        "files",
        "manifest_uri",
        "snapshot_timestamp",
        "duration_seconds",
    }
    assert stats["mode"] == "client" and stats["uri"] == f"s3://{bucket}/m/"
    json.dumps(stats)


def test_duplicate_column_names_get_suffixes(postgres, s3, bucket) -> None:
    stats = run_operator(query="SELECT 1 AS a, 2 AS a, 'x' AS b", s3_uri=f"s3://{bucket}/dup/")
    table = read_parquet(s3, bucket, file_keys(stats)[0]).read()
    assert table.column_names == ["a", "a2", "b"] and table.to_pylist() == [{"a": 1, "a2": 2, "b": "x"}]
    assert stats["rows"] == 1


def test_queries_with_percent_signs_and_quotes_pass_through_untouched(s3, bucket) -> None:
    query = "SELECT 'a%s b%%' AS pct, $$it's {{ x }}$$ AS q WHERE 'x' LIKE '%'"
    stats = run_operator(query=query, s3_uri=f"s3://{bucket}/pct/")
    rows = read_parquet(s3, bucket, file_keys(stats)[0]).read().to_pylist()
    assert rows == [{"pct": "a%s b%%", "q": "it's {{ x }}"}]


def test_compression_and_upload_arguments_are_applied(rolling_table, s3, bucket) -> None:
    stats = run_operator(
        source=rolling_table,
        s3_uri=f"s3://{bucket}/z/",
        compression="zstd",
        s3_extra_args={"ServerSideEncryption": "AES256"},
        max_file_size="64MB",
    )
    key = file_keys(stats)[0]
    parquet = read_parquet(s3, bucket, key)
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
