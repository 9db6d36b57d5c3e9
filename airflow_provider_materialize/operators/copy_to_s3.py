"""MaterializeCopyToS3Operator: a consistent snapshot of a view or table, as Parquet files in S3."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_materialize.compat import AirflowNotFoundException, BaseHook, BaseOperator
from airflow_provider_materialize.export.client.s3_stream import DEFAULT_TRANSFER_CONFIG
from airflow_provider_materialize.export.contract import ModeWriter, run_export
from airflow_provider_materialize.export.mode_rules import DEFAULT_MAX_FILE_SIZE, ExportMode
from airflow_provider_materialize.export.ownership import RunIdentity
from airflow_provider_materialize.export.request import (
    ExportArguments,
    ExportRequest,
    build_request,
    check_untemplated_arguments,
)
from airflow_provider_materialize.hooks.materialize import MaterializeHook
from airflow_provider_materialize.hooks.s3 import ExportS3Hook
from airflow_provider_materialize.lineage import emit_folder_event, export_outlet, openlineage_facets
from airflow_provider_materialize.links.s3 import S3ExportFolderLink

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from airflow_provider_materialize.compat import Context
    from airflow_provider_materialize.export.result import ExportResult


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

    Templated arguments may be Jinja strings or upstream tasks' outputs (XComArgs); they are
    checked once rendered, when the task runs, before anything is written to S3. ``query`` may
    also name a ``.sql`` file next to the DAG (searched in the DAG's ``template_searchpath``).

    :param source: Table, view or materialized view to export, optionally qualified as
        ``schema.name`` or ``database.schema.name``. Give exactly one of ``source`` and ``query``.
        A name ending in ``.sql`` is read as a template file: quote it (``'"reports"."sql"'``).
        (templated)
    :param query: A SELECT statement to export instead of a whole object, or the path of a
        ``.sql`` file holding one. (templated)
    :param s3_uri: Target folder, ``s3://bucket/path/``. It must be empty (see ``overwrite``).
        (templated)
    :param materialize_conn_id: Airflow connection of type ``materialize``.
    :param aws_conn_id: Airflow AWS connection used for every S3 call (``None``: boto3's default
        credential chain). Its extra may set ``endpoint_url`` for S3-compatible stores.
    :param aws_connection: Name of a Materialize AWS connection object (``CREATE CONNECTION ... TO
        AWS``; see :meth:`MaterializeHook.create_aws_connection`). Selects native mode. (templated)
    :param format: ``parquet``; in native mode also ``csv``.
    :param max_file_size: Largest size of one file: bytes as an int, or a size string such as
        ``"256MB"``, ``"1.5GB"``, ``"2g"`` or ``"512MiB"``. Units count in powers of 1024, exactly
        as Materialize counts them (``"16MB"`` is 16,777,216 bytes). Default 256MB, as Materialize;
        client mode takes at least 1MB, native mode 16MB to 4GB, Materialize's limits. (templated)
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
    :param field_metadata: Client mode: ``materialize`` (default) tags every column with its
        Materialize type (``ARROW:extension:name = materialize.v1.<type>``), as native COPY does;
        ``none`` writes plain Arrow types, for readers that refuse unknown extension types (Polars).
    :param read_connections: Client mode, PostgreSQL, ``source=`` a table or materialized view: read
        its one snapshot over up to this many connections, each a range of its pages (default 1).
        Worth it only when the server has cores to spare. Materialize is always read as one stream.
    :param asset_alias: Name of the Airflow AssetAlias the folder's asset event is added through.
        Default: the folder's Asset (``s3://bucket/path``) itself when ``s3_uri`` is not templated,
        else the alias ``materialize:<dag_id>/<task_id>``. The event's extra holds the statistics.
    """

    template_fields: Sequence[str] = (
        "source",
        "query",
        "s3_uri",
        "cluster",
        "max_file_size",
        "aws_connection",
    )
    template_ext: Sequence[str] = (".sql",)
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
        field_metadata: str = "materialize",
        read_connections: int = 1,
        asset_alias: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.query = query
        self.s3_uri = s3_uri
        self.materialize_conn_id = materialize_conn_id
        self.aws_conn_id = aws_conn_id
        self.aws_connection = aws_connection
        self.format = format
        self.max_file_size = max_file_size
        self.cluster = cluster
        self.compression = compression
        self.overwrite = overwrite
        self.csv_header = csv_header
        self.csv_delimiter = csv_delimiter
        self.csv_quote = csv_quote
        self.s3_extra_args = s3_extra_args
        self.s3_transfer_config = s3_transfer_config
        self.reader = reader
        self.progress_interval = progress_interval
        self.field_metadata = field_metadata
        self.read_connections = read_connections
        self.asset_alias = asset_alias
        self._writer: ModeWriter | None = None
        self._request: ExportRequest | None = None
        self._result: ExportResult | None = None
        self._outlet = export_outlet(s3_uri, self.dag_id, self.task_id, asset_alias)
        self.outlets = [*self.outlets, self._outlet]
        check_untemplated_arguments(self._arguments())

    def _arguments(self) -> ExportArguments:
        return ExportArguments(
            source=self.source,
            query=self.query,
            s3_uri=self.s3_uri,
            aws_connection=self.aws_connection,
            cluster=self.cluster,
            max_file_size=self.max_file_size,
            file_format=self.format,
            compression=self.compression,
            overwrite=self.overwrite,
            csv_header=self.csv_header,
            csv_delimiter=self.csv_delimiter,
            csv_quote=self.csv_quote,
            s3_extra_args=self.s3_extra_args,
            s3_transfer_config=self.s3_transfer_config,
            reader=self.reader,
            progress_interval=self.progress_interval,
            field_metadata=self.field_metadata,
            read_connections=self.read_connections,
        )

    def execute(self, context: Context) -> dict[str, Any]:
        request = self._request = build_request(self._arguments(), RunIdentity.of(context["ti"]))
        _require_connection(self.materialize_conn_id, "Materialize", "materialize")
        if self.aws_conn_id:
            _require_connection(self.aws_conn_id, "AWS", "aws")
        mz_hook = MaterializeHook(materialize_conn_id=self.materialize_conn_id, cluster=request.cluster)
        s3_hook = ExportS3Hook(
            caller=type(self).__name__,
            aws_conn_id=self.aws_conn_id,
            extra_args=request.s3_extra_args,
            transfer_config_args={**DEFAULT_TRANSFER_CONFIG, **request.s3_transfer_config},
        )

        def persist_link() -> None:
            # The partition comes from the boto3 client, whose creation (botocore's service model)
            # costs more than the link: once the export is prepared, rows arrive meanwhile.
            S3ExportFolderLink.persist(
                operator=self,
                region_name=s3_hook.conn_region_name,
                aws_partition=s3_hook.conn_partition,
                bucket=request.folder.bucket,
                prefix=request.folder.prefix,
            )

        self._writer = _writer_for(request, mz_hook, s3_hook)
        self._result = run_export(request, self._writer, s3_hook, on_prepared=persist_link)
        stats = self._result.as_xcom()
        emit_folder_event(context, self._outlet, stats)
        return stats

    def on_kill(self) -> None:
        """A killed native-mode task cancels its COPY, so Materialize stops writing."""
        if self._writer is not None:
            self._writer.cancel()

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the Materialize source (or the tables the query reads) in, the S3 folder out."""
        if self._request is None:
            return None
        mz_hook = MaterializeHook(materialize_conn_id=self.materialize_conn_id)
        return openlineage_facets(self._request, self._result, mz_hook)


def _writer_for(request: ExportRequest, mz_hook: MaterializeHook, s3_hook: S3Hook) -> ModeWriter:
    """The writer of the request's mode (imported here: DAG files that only parse need neither)."""
    if request.mode is ExportMode.NATIVE:
        from airflow_provider_materialize.export.native.copy_runner import MaterializeCopy
        from airflow_provider_materialize.export.native.writer import NativeWriter

        return NativeWriter(request, mz_hook, MaterializeCopy(mz_hook))
    from airflow_provider_materialize.export.client.writer import ClientWriter

    return ClientWriter(request, mz_hook, s3_hook)


def _require_connection(conn_id: str, kind: str, conn_type: str) -> None:
    """Fail with a message that names the fix when a connection is not defined."""
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException as error:
        env_hint = (
            f", or in the environment variable AIRFLOW_CONN_{conn_id.upper()}"
            if re.fullmatch(r"[A-Za-z0-9_]+", conn_id)
            else ""
        )
        raise AirflowNotFoundException(
            f"The {kind} connection {conn_id!r} is not defined. Create it in the Airflow UI "
            f"(Admin > Connections, type '{conn_type}') or with `airflow connections add`{env_hint}"
        ) from error
