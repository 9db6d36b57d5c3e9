"""MaterializeCopyToS3Operator: a consistent snapshot of a view or table, as Parquet files in S3."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import BaseHook, BaseOperator
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider_materialize.dialect import copy_relation, has_top_level_order_by, source_select
from airflow_provider_materialize.export.native import MaterializeCopy, NativeExportRequest, run_native_export
from airflow_provider_materialize.export.options import (
    DEFAULT_MAX_FILE_SIZE,
    S3Folder,
    csv_copy_options,
    parse_size,
    validate_client_file_size,
    validate_compression,
    validate_format,
    validate_native_file_size,
    validate_native_format,
)
from airflow_provider_materialize.export.output_folder import RunIdentity
from airflow_provider_materialize.export.pipeline import READERS, ExportRequest, run_export
from airflow_provider_materialize.export.result import ExportResult
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from airflow_provider_materialize.links.s3 import S3ExportFolderLink

if TYPE_CHECKING:
    from airflow.sdk import Context

# Streaming uploads in 8 MiB parts, 4 in flight (the S3 stream also caps the parts boto3 holds at 4).
DEFAULT_TRANSFER_CONFIG = {"multipart_chunksize": 8 * 1024 * 1024, "max_concurrency": 4}


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


class MaterializeCopyToS3Operator(BaseOperator):
    """
    Write a consistent snapshot of a Materialize table, view or query to an S3 folder as Parquet.

    **Client mode** (the default): the rows stream through the worker. They are read as Arrow
    record batches from one snapshot, encoded into Parquet files of at most about
    ``max_file_size`` bytes, and uploaded with the AWS connection's credentials as
    ``part-00000.parquet``, ``part-00001.parquet``, ...

    **Native mode** (``aws_connection`` given): Materialize runs ``COPY ... TO 's3://...'`` on its
    own cluster and writes ``mz-<id>-batch-<NNNN>-<MMMM>.parquet`` (or ``.csv``) itself, so no data
    passes through the worker. The operator then lists the files with the Airflow AWS connection
    and reads each Parquet footer (ranged reads) to check the row count.

    Both modes end with ``_manifest.json`` as the completion signal, ``_INCOMPLETE`` marks a folder
    whose export has not finished, and both return (to XCom) a dict with ``uri``, ``mode``,
    ``format``, ``rows``, ``bytes``, ``files``, ``manifest_uri``, ``snapshot_timestamp`` and
    ``duration_seconds``.

    :param source: Table, view or materialized view to export, optionally qualified as
        ``schema.name`` or ``database.schema.name``. Give exactly one of ``source`` and ``query``.
        (templated)
    :param query: A SELECT statement to export instead of a whole object. (templated)
    :param s3_uri: Target folder, ``s3://bucket/path/``. It must be empty (see ``overwrite``).
        (templated)
    :param materialize_conn_id: Airflow connection of type ``materialize``.
    :param aws_conn_id: Airflow AWS connection used for every S3 call (``None``: boto3's default
        credential chain). Its extra may set ``endpoint_url`` for S3-compatible stores.
    :param aws_connection: Name of a Materialize AWS connection object (``CREATE CONNECTION ... TO
        AWS``; see :meth:`MaterializeHook.create_aws_connection`). Selects native mode. (templated)
    :param format: ``parquet``; in native mode also ``csv``.
    :param max_file_size: Largest size of one file: bytes as an int, or a size string such as
        ``"256MB"``, ``"2g"`` or ``"512MiB"`` (MB/GB are powers of 1000, MiB/GiB of 1024).
        Default 256 MB, as Materialize; native mode accepts 16 MB to 4 GB. (templated)
    :param cluster: Materialize cluster that serves the read (and, in native mode, writes the
        files); overrides the connection's ``cluster`` extra. (templated)
    :param compression: Parquet compression in client mode: ``snappy`` (default), ``zstd``,
        ``gzip``, ``lz4`` or ``none``. Native mode always writes snappy.
    :param csv_header: Native CSV only: write a header line (Materialize's default: no header).
    :param csv_delimiter: Native CSV only: the field delimiter (default ``,``).
    :param csv_quote: Native CSV only: the quote character (default ``"``).
    :param overwrite: Delete whatever the folder holds before writing. Without it a non-empty
        folder is refused, except for the leftovers of an earlier failed try of this same task.
    :param s3_extra_args: Client mode: extra upload arguments for every object, e.g.
        ``{"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "..."}``.
    :param s3_transfer_config: Client mode: boto3 ``TransferConfig`` settings for the streaming
        uploads; defaults: 8 MiB parts, 4 uploaded at a time.
    :param reader: Client mode: ``auto`` (the Arrow-native ADBC reader when the server supports
        it, else the CSV reader), ``adbc`` or ``csv``.
    :param progress_interval: Seconds between progress log lines on long exports.
    """

    template_fields: Sequence[str] = (
        "source",
        "query",
        "s3_uri",
        "cluster",
        "max_file_size",
        "aws_connection",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {"query": "sql"}
    operator_extra_links = (S3ExportFolderLink(),)
    ui_color = "#d4c5f9"

    def __init__(
        self,
        *,
        s3_uri: str,
        source: str | None = None,
        query: str | None = None,
        materialize_conn_id: str = MaterializeHook.default_conn_name,
        aws_conn_id: str | None = "aws_default",
        aws_connection: str | None = None,
        format: str = "parquet",
        max_file_size: int | str = DEFAULT_MAX_FILE_SIZE,
        cluster: str | None = None,
        compression: str = "snappy",
        overwrite: bool = False,
        csv_header: bool | None = None,
        csv_delimiter: str | None = None,
        csv_quote: str | None = None,
        s3_extra_args: dict[str, Any] | None = None,
        s3_transfer_config: dict[str, Any] | None = None,
        reader: str = "auto",
        progress_interval: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.query = query
        self.s3_uri = s3_uri
        self.materialize_conn_id = materialize_conn_id
        self.aws_conn_id = aws_conn_id
        self.aws_connection = aws_connection
        self.format = format.lower()
        self.max_file_size = max_file_size
        self.cluster = cluster
        self.compression = validate_compression(compression)
        self.overwrite = overwrite
        self.csv_header = csv_header
        self.csv_delimiter = csv_delimiter
        self.csv_quote = csv_quote
        self.s3_extra_args = s3_extra_args or {}
        self.s3_transfer_config = {**DEFAULT_TRANSFER_CONFIG, **(s3_transfer_config or {})}
        if reader not in READERS:
            raise ValueError(f"reader {reader!r} is not one of {', '.join(READERS)}")
        self.reader = reader
        self.progress_interval = progress_interval
        self._copy: MaterializeCopy | None = None
        # Catch mistakes when the DAG is parsed, for every value that needs no rendering first.
        if (source is None) == (query is None):
            raise ValueError(
                "give exactly one of source= (a table or view name) or query= (a SELECT statement)"
            )
        if not any(_is_template(value) for value in (source, query)):
            source_select(source, query)
        if not _is_template(s3_uri):
            S3Folder.parse(s3_uri)
        if _is_template(aws_connection):
            return
        if aws_connection is None:
            validate_format(self.format)
            csv_copy_options("parquet", csv_header, csv_delimiter, csv_quote)
            if not _is_template(max_file_size):
                validate_client_file_size(parse_size(max_file_size))
        else:
            self._native_settings(parse_time=True)

    def execute(self, context: Context) -> dict[str, Any]:
        select = source_select(self.source or None, self.query or None)
        folder = S3Folder.parse(self.s3_uri)
        mz_hook = MaterializeHook(materialize_conn_id=self.materialize_conn_id, cluster=self.cluster or None)
        s3_hook = self._s3_hook()
        _require_connection(self.materialize_conn_id, "Materialize", "materialize")
        if self.aws_conn_id:
            _require_connection(self.aws_conn_id, "AWS", "aws")

        ti = context["ti"]
        identity = RunIdentity(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            try_number=ti.try_number,
            map_index=getattr(ti, "map_index", -1),
        )
        S3ExportFolderLink.persist(
            context=context,
            operator=self,
            region_name=s3_hook.conn_region_name,
            aws_partition=s3_hook.conn_partition,
            bucket=folder.bucket,
            prefix=folder.prefix,
        )
        result: ExportResult
        if self.aws_connection:
            max_file_size, csv_options = self._native_settings(parse_time=False)
            native_request = NativeExportRequest(
                relation=copy_relation(self.source or None, self.query or None),
                select=select,
                folder=folder,
                identity=identity,
                aws_connection=self.aws_connection,
                max_file_size=max_file_size,
                file_format=self.format,
                csv_options=csv_options,
                overwrite=self.overwrite,
                progress_interval_seconds=self.progress_interval,
            )
            self._copy = MaterializeCopy(mz_hook)
            result = run_native_export(native_request, mz_hook, s3_hook, self._copy)
        else:
            validate_format(self.format)
            request = ExportRequest(
                select=select,
                folder=folder,
                identity=identity,
                max_file_size=validate_client_file_size(parse_size(self.max_file_size)),
                compression=self.compression,
                file_format=self.format,
                overwrite=self.overwrite,
                reader=self.reader,
                progress_interval_seconds=self.progress_interval,
            )
            result = run_export(request, mz_hook, s3_hook)
        return result.as_xcom()

    def on_kill(self) -> None:
        """A killed native-mode task cancels its COPY, so Materialize stops writing."""
        if self._copy is not None:
            self._copy.cancel()

    def _native_settings(self, parse_time: bool) -> tuple[int, dict[str, str | bool]]:
        """Check what native mode needs (before anything is sent); the file size and CSV options.

        At parse time, templated values are left for ``execute`` to check once rendered.
        """
        file_format = validate_native_format(self.format)
        csv_options = csv_copy_options(file_format, self.csv_header, self.csv_delimiter, self.csv_quote)
        client_only = {
            "compression": self.compression != "snappy",
            "reader": self.reader != "auto",
            "s3_extra_args": bool(self.s3_extra_args),
        }
        refused = [name for name, is_set in client_only.items() if is_set]
        if refused:
            raise ValueError(
                f"{', '.join(refused)} only apply to client mode: in native mode Materialize writes the "
                "files itself (snappy Parquet, with its AWS connection; use the bucket's default "
                "encryption). "
                "Remove them, or leave out aws_connection= for client mode"
            )
        if not _is_template(self.query) and self.query and has_top_level_order_by(self.query):
            raise ValueError(
                "Materialize's COPY TO S3 does not accept ORDER BY: remove it from query= "
                "(files are written in parallel, so no order would survive anyway)"
            )
        if not _is_template(self.s3_uri) and not S3Folder.parse(self.s3_uri).prefix:
            raise ValueError(
                f"s3_uri {self.s3_uri!r} is a bucket root: native mode needs a folder, e.g. s3://bucket/exports/"
            )
        if parse_time and _is_template(self.max_file_size):
            return 0, csv_options
        return validate_native_file_size(parse_size(self.max_file_size)), csv_options

    def _s3_hook(self) -> S3Hook:
        return S3Hook(
            aws_conn_id=self.aws_conn_id,
            extra_args=self.s3_extra_args,
            transfer_config_args=dict(self.s3_transfer_config),
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Input: the Materialize source (or query); output: the S3 folder."""
        try:
            from airflow.providers.common.compat.openlineage.facet import Dataset, SQLJobFacet
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:
            return None
        mz_hook = MaterializeHook(materialize_conn_id=self.materialize_conn_id)
        conn = mz_hook.connection
        namespace = f"postgres://{conn.host}:{conn.port}"
        inputs = [Dataset(namespace=namespace, name=self.source)] if self.source else []
        folder = S3Folder.parse(self.s3_uri)
        return OperatorLineage(
            inputs=inputs,
            outputs=[Dataset(namespace=f"s3://{folder.bucket}", name=folder.prefix.rstrip("/") or "/")],
            job_facets={"sql": SQLJobFacet(query=source_select(self.source or None, self.query or None))},
        )


def _require_connection(conn_id: str, kind: str, conn_type: str) -> None:
    """Fail with a message that names the fix when a connection is not defined."""
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException as error:
        env_name = "AIRFLOW_CONN_" + conn_id.upper()
        raise AirflowNotFoundException(
            f"The {kind} connection {conn_id!r} is not defined. Create it in the Airflow UI "
            f"(Admin > Connections, type '{conn_type}'), with `airflow connections add {conn_id} ...`, "
            f"or in the environment variable {env_name}"
        ) from error
