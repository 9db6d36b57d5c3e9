"""Opt-in: native mode's details, and client mode's files beside the files Materialize writes itself.

The provider-side refusals need only ``MATERIALIZE_TEST_URL`` (nothing reaches the server, but they
are the contract with Materialize's own limits); the rest also needs the shared S3 store of
``test_real_native_mode.py`` (``MATERIALIZE_TEST_S3_*``). Each test names the Materialize source
file its expectation comes from.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from airflow_provider_materialize.export.native.copy_runner import MaterializeCopy
from airflow_provider_materialize.export.native.error_hints import NativeCopyError
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from tests.materialize.conftest import HAS_STORE, MATERIALIZE_URL, NO_MATERIALIZE, NO_STORE
from tests.materialize.conftest import S3_BUCKET as BUCKET
from tests.materialize.parquet_checks import arrow_fields, has_statistics, nullability, parquet_layout
from tests.support.operator_run import run_operator
from tests.support.s3_objects import file_keys, list_keys, read_parquet

pytestmark = [pytest.mark.materialize, pytest.mark.skipif(not MATERIALIZE_URL, reason=NO_MATERIALIZE)]
needs_store = pytest.mark.skipif(not HAS_STORE, reason=NO_STORE)
NEVER_TOUCHED = "s3://bucket-never-touched/refused/"  # refused before any S3 request


@pytest.fixture
def sent_copies(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every COPY statement native mode sends to Materialize during the test."""
    statements: list[str] = []
    original = MaterializeCopy.run

    def run(self: MaterializeCopy, statement: str) -> int:
        statements.append(statement)
        return original(self, statement)

    monkeypatch.setattr(MaterializeCopy, "run", run)
    yield statements


def new_prefix() -> str:
    return f"fidelity/{uuid.uuid4().hex[:8]}/"


def export_both(store: Any, aws_connection: str, **kwargs: Any) -> tuple[list[Any], list[Any]]:
    """Export the same rows natively and in client mode into the shared store; each one's Parquet files."""
    files: dict[str, list[Any]] = {}
    for mode, extra in (("native", {"aws_connection": aws_connection}), ("client", {"reader": "adbc"})):
        stats = run_operator(s3_uri=f"s3://{BUCKET}/{new_prefix()}", **extra, **kwargs)
        assert stats["mode"] == mode
        files[mode] = [read_parquet(store, BUCKET, key) for key in file_keys(stats)]
    return files["native"], files["client"]


def raw_copy_error(aws_connection: str, prefix: str, options: str) -> str:
    """Materialize's error for a COPY TO S3 sent as written, without the provider."""
    target = f"s3://{BUCKET}/{prefix}"
    statement = f"COPY (SELECT 1 AS x) TO '{target}' WITH (AWS CONNECTION = {aws_connection}, {options})"
    with MaterializeHook().get_conn() as conn:
        conn.autocommit = True
        with pytest.raises(psycopg.Error) as error:
            conn.execute(statement)
    return str(error.value)


# -- MAX FILE SIZE: powers of 1024, from 16MB ----------------------------------------------------------


@needs_store
def test_16mb_is_accepted_by_materialize_and_sent_as_16777216_bytes(
    materialize, store, aws_connection, sent_copies
) -> None:
    # MIN_S3_SINK_FILE_SIZE = ByteSize::mb(16), inclusive, powers of 1024: src/storage-types/src/sinks.rs
    stats = run_operator(
        query="SELECT 1 AS x",
        s3_uri=f"s3://{BUCKET}/{new_prefix()}",
        aws_connection=aws_connection,
        max_file_size="16MB",
    )
    assert stats["mode"] == "native" and stats["rows"] == 1
    (statement,) = sent_copies
    assert re.search(r"\bMAX FILE SIZE = 16777216\)$", statement), statement


def test_16_000_000_bytes_are_refused_before_anything_is_sent(materialize, sent_copies) -> None:
    # Materialize: "MAX FILE SIZE cannot be less than 16MB": src/sql/src/plan/statement/dml.rs
    with pytest.raises(ValueError, match=r"\(16,000,000 bytes\), but native mode takes 16MB to 4GB"):
        run_operator(
            query="SELECT 1 AS x",
            s3_uri=NEVER_TOUCHED,
            aws_connection=f"{materialize}.s3_writer",
            max_file_size=16_000_000,
        )
    assert sent_copies == []


@needs_store
def test_materialize_refuses_max_file_size_16000000_as_less_than_16mb(
    materialize, store, aws_connection
) -> None:
    # plan_copy_to_expr compares with MIN_S3_SINK_FILE_SIZE: src/sql/src/plan/statement/dml.rs
    prefix = new_prefix()
    message = raw_copy_error(aws_connection, prefix, "FORMAT = 'parquet', MAX FILE SIZE = 16000000")
    assert "MAX FILE SIZE cannot be less than 16MB" in message
    assert list_keys(store, BUCKET, prefix) == []


# -- Client mode's files beside Materialize's own ------------------------------------------------------


@needs_store
@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("source", "typed_arrays"),  # numeric(38,16)[] and varchar(5)[]
        ("query", "SELECT sum(n) AS s FROM (VALUES (1.5::numeric), (2)) AS t(n)"),
        ("query", "SELECT '{{1,2},{3,4}}'::int[] AS grid"),
    ],
    ids=["array-element-typmods", "unconstrained-numeric", "two-dimensional-array"],
)
def test_client_mode_writes_the_arrow_fields_and_values_native_mode_writes(
    fidelity, store, aws_connection, argument, value
) -> None:
    # desc_to_schema / ArrowBuilder: src/arrow-util/src/builder.rs
    kwargs = {"source": f"{fidelity}.{value}"} if argument == "source" else {"query": value}
    native, client = export_both(store, aws_connection, **kwargs)
    assert arrow_fields(client[0].schema_arrow) == arrow_fields(native[0].schema_arrow)

    def rows(files: list[Any]) -> list[dict[str, Any]]:
        return sorted((row for f in files for row in f.read().to_pylist()), key=repr)

    assert rows(client) == rows(native)


@needs_store
@pytest.mark.parametrize("relation", ["nn", "nn_mv"])
def test_not_null_columns_are_required_as_in_native_mode(fidelity, store, aws_connection, relation) -> None:
    # Each field is nullable iff col_type.nullable (ArrowBuilder::new): src/arrow-util/src/builder.rs
    native, client = export_both(store, aws_connection, source=f"{fidelity}.{relation}")
    assert nullability(native[0]) == {"id": False, "label": False, "tags": False, "note": True}
    assert nullability(client[0]) == nullability(native[0])


@needs_store
def test_uint4_list_item_and_statistics_are_written_as_native_mode_writes_them(
    materialize, store, aws_connection
) -> None:
    # arrow-rs writer, no statistics (PR #31513): src/storage-operators/src/s3_oneshot_sink/parquet.rs
    native, client = export_both(store, aws_connection, query=f"SELECT u, a FROM {materialize}.t")
    native_layout, client_layout = parquet_layout(native[0]), parquet_layout(client[0])
    assert native_layout["u"][:2] == ("INT32", "Int(bitWidth=32, isSigned=false)")
    assert client_layout["u"] == native_layout["u"]
    assert "a.items.list.item" in native_layout
    assert {path: kind[0] for path, kind in client_layout.items()} == {
        path: kind[0] for path, kind in native_layout.items()
    }
    assert not any(has_statistics(f) for f in native) and not has_statistics(client[0])


@needs_store
def test_duplicate_names_are_suffixed_as_native_mode_suffixes_them(
    materialize, store, aws_connection
) -> None:
    # seen_names counts only the original names (a, a, a2 -> a, a2, a2): src/arrow-util/src/builder.rs
    native, client = export_both(store, aws_connection, query="SELECT 1 AS a, 2 AS a, 3 AS a2")
    assert native[0].schema_arrow.names == ["a", "a2", "a2"]
    assert client[0].schema_arrow.names == native[0].schema_arrow.names


# -- CSV options and the AWS connection ----------------------------------------------------------------


def test_a_two_byte_csv_delimiter_is_refused_before_anything_is_sent(materialize, sent_copies) -> None:
    # Materialize: "COPY delimiter must be a single one-byte character": src/sql/src/plan/statement/dml.rs
    with pytest.raises(ValueError, match="csv_delimiter must be a single one-byte character"):
        run_operator(
            query="SELECT 1 AS x",
            s3_uri=NEVER_TOUCHED,
            aws_connection=f"{materialize}.s3_writer",
            format="csv",
            csv_delimiter="é",
        )
    assert sent_copies == []


@needs_store
def test_materialize_refuses_a_two_byte_delimiter_with_its_own_text(
    materialize, store, aws_connection
) -> None:
    # extract_byte_param_value checks the byte length: src/sql/src/plan/statement/dml.rs
    prefix = new_prefix()
    message = raw_copy_error(aws_connection, prefix, "FORMAT = 'csv', DELIMITER = 'é'")
    assert "COPY delimiter must be a single one-byte character" in message
    assert list_keys(store, BUCKET, prefix) == []


@needs_store
def test_a_table_named_as_aws_connection_keeps_materialize_text_and_adds_the_hint(materialize, store) -> None:
    # A table is no connection: CatalogError (UnknownConnection / UnexpectedType) in src/sql/src/catalog.rs
    prefix = new_prefix()
    with pytest.raises(NativeCopyError) as error:
        run_operator(
            query="SELECT 1 AS x", s3_uri=f"s3://{BUCKET}/{prefix}", aws_connection=f"{materialize}.t"
        )
    message, cause = str(error.value), error.value.__cause__
    assert cause is not None and str(cause).strip() in message  # Materialize's text, as it said it
    assert "What to do: Create the AWS connection first" in message
    assert list_keys(store, BUCKET, prefix) == []
