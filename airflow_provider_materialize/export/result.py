"""What an export wrote, in the two shapes users see: the XCom dict and ``_manifest.json``.

Client and native mode produce the same shapes; only ``mode`` (and ``written_by.reader``) differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_materialize.export.ownership import RunIdentity
    from airflow_provider_materialize.export.s3_folder import S3Folder

# Field metadata key naming each column's Materialize type (materialize.v1.<type>), as native COPY writes it
MATERIALIZE_TYPE_KEY = b"ARROW:extension:name"


@dataclass(frozen=True)
class WrittenFile:
    """One data file of the export; ``rows`` is None when the format cannot tell (native CSV)."""

    name: str
    bytes: int
    rows: int | None = None


def schema_entry(name: str, arrow_type: str, nullable: bool, materialize_type: str) -> dict[str, Any]:
    """The manifest's description of one column."""
    return {"name": name, "type": arrow_type, "nullable": nullable, "materialize_type": materialize_type}


def schema_entries(schema: pa.Schema) -> list[dict[str, Any]]:
    """The manifest's description of each column of an Arrow schema."""
    return [
        schema_entry(
            f.name, str(f.type), f.nullable, (f.metadata or {}).get(MATERIALIZE_TYPE_KEY, b"").decode()
        )
        for f in schema
    ]


@dataclass
class ExportResult:
    """What was written; ``as_xcom()`` is the operator's return value."""

    folder: S3Folder
    mode: str  # "client" or "native"
    file_format: str
    files: list[WrittenFile]
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

    def manifest(self, identity: RunIdentity, token: str, completed_at: datetime) -> dict[str, Any]:
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
                "map_index": identity.map_index,
                "try_number": identity.try_number,
                "token": token,
                "reader": self.written_by,
            },
            "completed_at": completed_at.isoformat(),
        }
