"""What an export tells Airflow about its data: the Asset event of the folder, and OpenLineage facets.

The asset of an export is its S3 folder, as Airflow normalises the URI: ``s3://bucket/path``
(Airflow strips the trailing slash), used as the asset's name too. A task whose ``s3_uri`` is
fixed when the DAG is parsed declares that asset as its outlet; a task whose ``s3_uri`` is rendered
at run time (Jinja, XComArg) declares an :class:`AssetAlias` instead and adds the folder it wrote
through it. Either way the event's extra carries the export's statistics (:func:`asset_extra`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from airflow_provider_materialize.compat import Asset, AssetAlias
from airflow_provider_materialize.export.s3_folder import S3Folder
from airflow_provider_materialize.sql import parse_qualified_name

if TYPE_CHECKING:
    from airflow_provider_materialize.export.request import ExportRequest
    from airflow_provider_materialize.export.result import ExportResult

log = logging.getLogger(__name__)

_JINJA_MARKERS = ("{{", "{%", "{#")
# Materialize resolves unqualified names in the search_path's first schema, public by default
DEFAULT_SCHEMA = "public"
EXTRA_KEYS = ("rows", "bytes", "files", "snapshot_timestamp", "manifest_uri", "mode")


def folder_asset(s3_uri: str) -> Asset:
    """The Asset of an export folder: ``s3://bucket/path``, as Airflow normalises it, as name and URI.

    :param s3_uri: The folder, with or without its trailing slash.
    """
    folder = S3Folder.parse(s3_uri if s3_uri.endswith("/") else s3_uri + "/")
    uri = f"s3://{folder.bucket}/{folder.prefix.rstrip('/')}"
    return Asset(name=uri, uri=uri)


def export_alias(dag_id: str, task_id: str) -> AssetAlias:
    """The AssetAlias an export task with a templated ``s3_uri`` adds its folder's asset through.

    :param dag_id: The exporting DAG.
    :param task_id: The exporting task (with its task group prefix, if any).
    """
    return AssetAlias(name=f"materialize:{dag_id}/{task_id}")


def export_outlet(s3_uri: Any, dag_id: str, task_id: str, asset_alias: str | None) -> Asset | AssetAlias:
    """What an export task declares in its ``outlets``.

    :param s3_uri: The operator's ``s3_uri`` as given (not rendered yet).
    :param dag_id: The exporting DAG.
    :param task_id: The exporting task.
    :param asset_alias: The alias name the user chose, if any.
    """
    if asset_alias:
        return AssetAlias(name=asset_alias)
    if isinstance(s3_uri, str) and not any(marker in s3_uri for marker in _JINJA_MARKERS):
        try:
            return folder_asset(s3_uri)
        except ValueError:
            pass  # the task will refuse this s3_uri with the full explanation when it runs
    return export_alias(dag_id, task_id)


def asset_extra(stats: dict[str, Any]) -> dict[str, Any]:
    """The asset event's extra: the statistics of the operator's XCom dict, ``files`` as a count.

    :param stats: The operator's return value (``ExportResult.as_xcom()``).
    """
    extra = {key: stats[key] for key in EXTRA_KEYS}
    extra["files"] = len(stats["files"])
    return extra


def emit_folder_event(context: Any, outlet: Asset | AssetAlias, stats: dict[str, Any]) -> None:
    """Attach the statistics to the asset event Airflow records for the folder when the task succeeds.

    :param context: The task's context.
    :param outlet: The task's outlet from :func:`export_outlet`.
    :param stats: The operator's return value.
    """
    events = context.get("outlet_events")
    if events is None:  # execute() called without Airflow's task runner (tests, scripts)
        return
    extra = asset_extra(stats)
    if isinstance(outlet, AssetAlias):
        events[outlet].add(folder_asset(stats["uri"]), extra=extra)
    else:
        events[outlet].extra.update(extra)


def openlineage_facets(request: ExportRequest, result: ExportResult | None, mz_hook: Any) -> Any:
    """The OpenLineage inputs, outputs and SQL facet of an export; None without the openlineage provider.

    :param request: The export's validated request.
    :param result: What it wrote (None before it finished: no statistics or schema then).
    :param mz_hook: The ``MaterializeHook`` of the export (its connection names the input namespace).
    """
    try:
        from airflow.providers.common.compat.openlineage.facet import (
            Dataset,
            OutputDataset,
            OutputStatisticsOutputDatasetFacet,
            SchemaDatasetFacet,
            SchemaDatasetFacetFields,
            SQLJobFacet,
        )
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    conn = mz_hook.connection
    namespace = f"postgres://{conn.host}:{conn.port}"  # the Postgres wire protocol's naming
    database = mz_hook.database or conn.schema
    inputs = [
        Dataset(namespace=namespace, name=name) for name in input_names(request, database, DEFAULT_SCHEMA)
    ]
    facets: dict[str, Any] = {}
    output_facets: dict[str, Any] = {}
    if result is not None:
        facets["schema"] = SchemaDatasetFacet(
            fields=[
                SchemaDatasetFacetFields(
                    name=column["name"],
                    type=column["materialize_type"] or column["type"],
                    description=f"Parquet/Arrow type {column['type']}",
                )
                for column in result.schema
            ]
        )
        try:
            statistics = OutputStatisticsOutputDatasetFacet(
                rowCount=result.rows, size=result.bytes, fileCount=len(result.files)
            )
        except TypeError:  # openlineage-python before the facet's fileCount (spec 1-0-2)
            statistics = OutputStatisticsOutputDatasetFacet(rowCount=result.rows, size=result.bytes)
        output_facets["outputStatistics"] = statistics
    output = OutputDataset(
        namespace=f"s3://{request.folder.bucket}",
        name=request.folder.prefix.rstrip("/"),
        facets=facets,
        outputFacets=output_facets,
    )
    job_facets = {"sql": SQLJobFacet(query=request.select)}
    return OperatorLineage(inputs=inputs, outputs=[output], job_facets=job_facets)


def input_names(request: ExportRequest, database: str, schema: str) -> list[str]:
    """``database.schema.name`` of the source, or of each table the query reads that the parser finds.

    :param request: The export's request.
    :param database: The connection's database, for names that do not give one.
    :param schema: The schema of unqualified names.
    """
    if request.source_relation is not None:
        return [_qualified(parse_qualified_name(request.source_relation), database, schema)]
    try:
        from openlineage.common.sql import parse
    except ImportError:
        return []
    parsed = parse([request.select], dialect="postgres")
    if parsed is None:
        log.info("OpenLineage: the SQL parser could not read the query; no input datasets")
        return []
    names = []
    for table in parsed.in_tables:
        quoting = table.quote_style
        parts = [
            (part if getattr(quoting, level, None) else part.lower())
            for level, part in (("database", table.database), ("schema", table.schema), ("name", table.name))
            if part is not None
        ]
        names.append(_qualified(parts, database, schema))
    return sorted(set(names))


def _qualified(parts: list[str], database: str, schema: str) -> str:
    """``database.schema.name`` from one to three name parts (unquoted, case already folded)."""
    if len(parts) == 1:
        parts = [schema, *parts]
    if len(parts) == 2:
        parts = [database, *parts]
    return ".".join(parts)
