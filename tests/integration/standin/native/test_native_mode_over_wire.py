"""Native mode end to end over the wire: the operator's real ``MaterializeCopy`` against the stand-in.

``materialize_default`` leads to the Materialize stand-in (tests/support/materialize_standin) for
these tests only; the stand-in runs ``COPY ... TO 's3://...'`` as Materialize does and writes to the
test S3 server with its own client. Everything on the provider's side is the real code path: the
operator, the output contract, ``MaterializeCopy`` sending the COPY and cancelling it, the footers.

Here: a successful export, and what is refused before the COPY. Failing, retried and cancelled COPYs
and the AWS connection in Materialize are in test_native_mode_failures.py.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from airflow_provider_materialize.export.native.error_hints import NativeCopyError
from airflow_provider_materialize.export.output_folder import FolderNotEmptyError
from tests.integration.standin.native.native_runs import (
    ROWS,
    copies_sent,
    data_keys,
    export,
    materialize_denies,
    read_json,
)
from tests.support.s3_objects import assert_published_exactly, list_keys, list_objects, read_parquet

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("connections")]

MB16 = 16 * 1024 * 1024


# -- a successful export ------------------------------------------------------------------------


def test_parquet_export_writes_materializes_files_the_manifest_and_xcom(mz, s3, bucket) -> None:
    stats = export(f"s3://{bucket}/nightly/run1/", cluster="exports")

    assert copies_sent(mz)[-1] == (
        f'COPY "orders" TO \'s3://{bucket}/nightly/run1\' WITH (AWS CONNECTION = "s3_writer", '
        "FORMAT = 'parquet', MAX FILE SIZE = 16777216)"
    )
    assert 'SET cluster = "exports"' in mz.statements
    copy = mz.copies[-1]
    assert copy.error is None and copy.max_file_size == MB16  # the stand-in accepted the size in bytes
    names = data_keys(mz, "nightly/run1/", "parquet")
    assert [k.rsplit("-", 2)[1:] for k in names] == [["0000", "0000.parquet"], ["0001", "0000.parquet"]]
    sizes = list_objects(s3, bucket, "nightly/run1/")
    footers = {key: read_parquet(s3, bucket, key).metadata.num_rows for key in names}
    assert sum(footers.values()) == ROWS == copy.rows  # the COPY tag and the footers agree

    assert stats["mode"] == "native" and stats["format"] == "parquet"
    assert stats["uri"] == f"s3://{bucket}/nightly/run1/"
    assert stats["rows"] == ROWS and stats["bytes"] == sum(sizes[k] for k in names)
    assert stats["files"] == [
        {"uri": f"s3://{bucket}/{k}", "rows": footers[k], "bytes": sizes[k]} for k in names
    ]
    assert stats["snapshot_timestamp"] is None
    assert stats["manifest_uri"] == f"s3://{bucket}/nightly/run1/_manifest.json"

    manifest = assert_published_exactly(s3, bucket, "nightly/run1/", ROWS)
    assert manifest["mode"] == "native" and manifest["files"] == stats["files"]
    assert manifest["written_by"]["reader"] == "materialize"
    assert [e["url"] for e in manifest["entries"]] == [f["uri"] for f in stats["files"]]
    assert manifest["schema"] == [
        {"name": "id", "type": "int64", "nullable": False, "materialize_type": "materialize.v1.bigint"},
        {"name": "name", "type": "large_string", "nullable": True, "materialize_type": "materialize.v1.text"},
        {
            "name": "amount",
            "type": "decimal128(38, 2)",
            "nullable": True,
            "materialize_type": "materialize.v1.numeric",
        },
    ]


def test_csv_export_with_header_and_delimiter(mz, s3, bucket) -> None:
    stats = export(f"s3://{bucket}/csv/", format="csv", csv_header=True, csv_delimiter="|")

    assert copies_sent(mz)[-1].endswith(
        "FORMAT = 'csv', MAX FILE SIZE = 16777216, HEADER = true, DELIMITER = '|')"
    )
    names = data_keys(mz, "csv/", "csv")
    assert [k.rsplit("-", 1)[1] for k in names] == ["0001.csv", "0001.csv"]  # CSV numbers from 0001
    lines = []
    for key in names:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        assert body.startswith("id|name|amount\n")  # the header starts every file
        lines += body.splitlines()[1:]
    assert len(lines) == ROWS and "1|n1|1.25" in lines
    assert stats["mode"] == "native" and stats["format"] == "csv"
    assert stats["rows"] == ROWS and [f["rows"] for f in stats["files"]] == [None, None]  # from the tag
    assert [f["uri"] for f in stats["files"]] == [f"s3://{bucket}/{k}" for k in names]
    schema = read_json(s3, bucket, "csv/_manifest.json")["schema"]
    assert [(c["name"], c["type"], c["materialize_type"]) for c in schema] == [
        ("id", "string", "int8"),
        ("name", "string", "text"),
        ("amount", "string", "numeric"),
    ]


def test_an_empty_result_still_has_one_file(mz, s3, bucket) -> None:
    stats = export(f"s3://{bucket}/e/", source=None, query="SELECT id, name FROM orders WHERE false")
    (name,) = data_keys(mz, "e/", "parquet")
    assert name.endswith("-batch-0000-0000.parquet")  # batch 0 always gets a file
    assert stats["rows"] == 0 and stats["files"] == [
        {"uri": f"s3://{bucket}/{name}", "rows": 0, "bytes": list_objects(s3, bucket, "e/")[name]}
    ]
    assert_published_exactly(s3, bucket, "e/", 0)


def test_progress_is_logged_while_materialize_writes(mz, s3, bucket, caplog) -> None:
    query = "SELECT g AS id FROM generate_series(1, 6) g WHERE pg_sleep(0.15 + g * 0) IS NOT NULL"
    with caplog.at_level("INFO"):
        stats = export(f"s3://{bucket}/g/", source=None, query=query, progress_interval=0.2)
    assert stats["rows"] == 6
    assert re.search(r"COPY running for \d+s: Materialize has written \d+ file\(s\)", caplog.text)
    assert "Materialize reported COPY 6; checking the files it wrote" in caplog.text


# -- refused before the COPY --------------------------------------------------------------------


def test_a_raw_prefix_neighbour_is_refused_before_the_copy(mz, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="p/run10/part-00000.parquet", Body=b"other run")
    sent = len(copies_sent(mz))
    with pytest.raises(FolderNotEmptyError, match=r"no key starts with 'p/run1'.*p/run10/part-00000.parquet"):
        export(f"s3://{bucket}/p/run1/")
    assert len(copies_sent(mz)) == sent
    assert list_keys(s3, bucket) == ["p/run10/part-00000.parquet"]


def test_a_non_empty_folder_is_refused_and_overwrite_replaces_it(mz, s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="o/old.parquet", Body=b"x")
    sent = len(copies_sent(mz))
    with pytest.raises(FolderNotEmptyError, match="holds 1 object"):
        export(f"s3://{bucket}/o/")
    assert len(copies_sent(mz)) == sent
    stats = export(f"s3://{bucket}/o/", overwrite=True)
    assert stats["rows"] == ROWS and "o/old.parquet" not in list_keys(s3, bucket)
    assert_published_exactly(s3, bucket, "o/", ROWS)


def test_an_interrupted_copy_without_our_marker_is_refused_not_deleted(mz, s3, bucket) -> None:
    # A COPY of an earlier worker that was killed before it recorded anything: Materialize's leftovers only
    with mz.connect() as conn, pytest.raises(psycopg.Error, match="special numeric value NaN"):
        conn.execute(
            f"COPY (SELECT 'NaN'::numeric AS n) TO 's3://{bucket}/k' WITH "
            "(AWS CONNECTION = s3_writer, FORMAT = 'parquet')"
        )
    leftovers = list_keys(s3, bucket)
    assert leftovers == [f"k/mz-{mz.copies[-1].sink_id}-INCOMPLETE"]
    sent = len(copies_sent(mz))
    with pytest.raises(FolderNotEmptyError, match=r"k/mz-t\d+-INCOMPLETE marks an interrupted Materialize"):
        export(f"s3://{bucket}/k/", try_number=2)
    assert len(copies_sent(mz)) == sent and list_keys(s3, bucket) == leftovers


@pytest.mark.parametrize("size", ["16777215", "15.9MB", "4294967297", "5GB"])
def test_max_file_size_limits_are_enforced_before_anything_is_sent(mz, s3, bucket, size: str) -> None:
    sent = len(mz.statements)
    with pytest.raises(ValueError, match="native mode takes 16MB to 4GB"):
        export(f"s3://{bucket}/s/", max_file_size=int(size) if size.isdigit() else size)
    assert len(mz.statements) == sent and list_keys(s3, bucket) == []


def test_the_largest_max_file_size_is_accepted(mz, bucket) -> None:
    stats = export(f"s3://{bucket}/big/", max_file_size="4GB")
    assert copies_sent(mz)[-1].endswith("MAX FILE SIZE = 4294967296)")
    assert mz.copies[-1].max_file_size == 4 * 1024**3 and stats["rows"] == ROWS


def test_a_char_column_is_refused_at_plan_time_before_anything_is_written(mz, s3, bucket) -> None:
    query = "SELECT id, 'a'::\"char\" AS flag, interval '1 day' AS wait FROM orders"
    with pytest.raises(NativeCopyError) as error:
        export(f"s3://{bucket}/c/", source=None, query=query)
    message = str(error.value)
    assert 'Cannot encode the following columns/types: ["flag: PgLegacyChar", "wait: Interval"]' in message
    assert "What to do: Cast or leave out the named columns with query=" in message
    assert list_keys(s3, bucket) == []  # refused when planned: not even Materialize's sentinel


def test_an_unknown_aws_connection_names_create_aws_connection_and_leaves_s3_untouched(mz, s3, bucket):
    with pytest.raises(NativeCopyError) as error:
        export(f"s3://{bucket}/u/", aws_connection="nope")
    message = str(error.value)
    assert f"Materialize's COPY to s3://{bucket}/u/ failed: unknown catalog item 'nope'" in message
    assert (
        "What to do: Create the AWS connection first, e.g. MaterializeHook().create_aws_connection("
        in message
    )
    assert 'AWS CONNECTION = "nope"' in copies_sent(mz)[-1]  # Materialize refused the COPY itself
    assert list_keys(s3, bucket) == []


def test_materializes_missing_s3_permission_is_explained(mz, s3, bucket) -> None:
    with materialize_denies(mz, "DeleteObject"), pytest.raises(NativeCopyError) as error:
        export(f"s3://{bucket}/iam/run1/")
    message = str(error.value)
    assert "failed: AccessDenied error when using DeleteObject" in message  # preflight's probe
    assert "s3:PutObject and s3:DeleteObject" in message and f"arn:aws:s3:::{bucket}/iam/run1*" in message
    assert list_keys(s3, bucket) == []  # the probe comes before the sentinel
