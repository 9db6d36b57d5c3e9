"""What an export wrote, in the two shapes users see: the XCom dict and ``_manifest.json``.

Client and native mode produce the same shapes; only ``mode`` (and ``written_by.reader``) differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_materialize.export.options import S3Folder
    from airflow_provider_materialize.export.output_folder import RunIdentity


class FileStats(Protocol):
    """One data file of the export; ``rows`` is None when the format cannot tell (native CSV)."""

    @property
    def name(self) -> str: ...

    @property
    def rows(self) -> int | None: ...

    @property
    def bytes(self) -> int: ...


def schema_entries(schema: pa.Schema) -> list[dict[str, Any]]:
    """The manifest's description of each column: name, Arrow type, nullability, Materialize type."""
    return [
        {
            "name": f.name,
            "type": str(f.type),
            "nullable": f.nullable,
            "materialize_type": (f.metadata or {}).get(b"ARROW:extension:name", b"").decode(),
        }
        for f in schema
    ]


@dataclass
class ExportResult:
    """What was written; ``as_xcom()`` is the operator's return value."""

    folder: S3Folder
    mode: str  # "client" or "native"
    file_format: str
    files: list[FileStats]
    rows: int
    schema: list[dict[str, Any]]
    written_by: str  # the client reader's name, or "materialize" in native mode
    snapshot_timestamp: int | None = None
    manifest_uri: str = ""
    duration_seconds: float = 0.0
    bytes: int = field(init=False)

    def __post_init__(self) -> None:
        self.bytes = sum(f.bytes for f in self.files)

    def file_entries(self) -> list[dict[str, Any]]:
        return [{"uri": self.folder.key_uri(f.name), "rows": f.rows, "bytes": f.bytes} for f in self.files]

    def as_xcom(self) -> dict[str, Any]:
        return {
            "uri": self.folder.uri,
            "mode": self.mode,
            "format": self.file_format,
            "rows": self.rows,
            "bytes": self.bytes,
            "files": self.file_entries(),
            "manifest_uri": self.manifest_uri,
            "snapshot_timestamp": self.snapshot_timestamp,
            "duration_seconds": round(self.duration_seconds, 3),
        }

    def manifest(self, identity: RunIdentity, completed_at: datetime) -> dict[str, Any]:
        entries = self.file_entries()
        return {
            "format": self.file_format,
            "mode": self.mode,
            "uri": self.folder.uri,
            "snapshot_timestamp": self.snapshot_timestamp,
            "rows": self.rows,
            "bytes": self.bytes,
            "schema": self.schema,
            "files": entries,
            "entries": [
                {"url": entry["uri"], "mandatory": True, "meta": {"content_length": entry["bytes"]}}
                for entry in entries
            ],
            "written_by": {
                "dag_id": identity.dag_id,
                "run_id": identity.run_id,
                "task_id": identity.task_id,
                "try_number": identity.try_number,
                "reader": self.written_by,
            },
            "completed_at": completed_at.isoformat(),
        }
