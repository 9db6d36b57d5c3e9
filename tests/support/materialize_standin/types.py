"""Materialize's type OIDs and type modifiers on the wire, applied to PostgreSQL's answers.

Materialize-only types (uint2/4/8, mz_timestamp, list, map) exist in the stand-in's database as
PostgreSQL base types of the same name (``install.py``); PostgreSQL gives them OIDs of its own,
which :class:`TypeMap` translates to Materialize's wherever a type OID reaches the client: in
RowDescription, in the header of binary array values, and in ``pg_type`` answers (a view).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from tests.support.materialize_standin.wire import Column

NUMERIC_OID = 1700
# src/repr/src/adt/numeric.rs: NUMERIC_DATUM_MAX_PRECISION (39); src/pgrepr/src/types.rs: VARHDRSZ
NUMERIC_DATUM_MAX_PRECISION = 39
VARHDRSZ = 4


@dataclass(frozen=True)
class MzType:
    """A Materialize-only type: its name, Materialize's OIDs and how PostgreSQL stores it here."""

    name: str
    oid: int  # src/pgrepr-consts/src/oid.rs
    array_oid: int | None
    typlen: int  # src/pgrepr/src/types.rs, Type::typlen
    storage: str  # the PostgreSQL built-in whose I/O functions the stand-in type borrows
    binary_refused: bool = False


# OIDs: src/pgrepr-consts/src/oid.rs (TYPE_UINT2_OID ... TYPE_MAP_OID); typlen: Type::typlen
# (uint2/4/8 -> 2/4/8, list/map -> -1). uint2/4/8 borrow int2/4/8, whose big-endian binary form is
# Materialize's (src/pgrepr/src/value/unsigned.rs, put_u16/32/64) for values below 2^15/2^31/2^63.
# mz_timestamp borrows text: Materialize sends it as decimal text in binary too (the sqllogictest
# runner decodes TYPE_MZ_TIMESTAMP_OID with text_from_sql, src/sqllogictest/src/runner.rs); its
# typlen 8 is doc/user/content/sql/types/mz_timestamp.md's "Size: 8 bytes" (Type::typlen for it is
# UNCONFIRMED). list and map are text-valued here; Bind refuses binary results for them
# (src/pgwire/src/protocol.rs, Bind: "Binary encodings are disabled for list, map, and aclitem").
MZ_TYPES = (
    MzType("uint2", 16460, 16461, 2, "int2"),
    MzType("uint4", 16462, 16463, 4, "int4"),
    MzType("uint8", 16464, 16465, 8, "int8"),
    MzType("mz_timestamp", 16552, 16553, 8, "text"),
    MzType("list", 16384, None, -1, "text", binary_refused=True),
    MzType("map", 16385, None, -1, "text", binary_refused=True),
)


def numeric_typmod(pg_typmod: int) -> int:
    """Materialize's typmod for a numeric column: precision 39, and the scale (39 when unconstrained).

    src/pgrepr/src/types.rs, ``From<&ScalarType> for Type`` (max_precision is always
    NUMERIC_DATUM_MAX_PRECISION; max_scale defaults to it) and ``NumericConstraints::into_typmod``.
    """
    scale = NUMERIC_DATUM_MAX_PRECISION if pg_typmod < VARHDRSZ else (pg_typmod - VARHDRSZ) & 0xFFFF
    return ((NUMERIC_DATUM_MAX_PRECISION << 16) | (scale & 0x7FF)) + VARHDRSZ


class TypeMap:
    """PostgreSQL's OIDs of the stand-in types and which OIDs are arrays, refreshed when new ones appear."""

    def __init__(self, load: Callable[[], tuple[dict[int, tuple[MzType, bool]], set[int], int]]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self.by_pg_oid, self.array_oids, self._max_known = load()

    def _refresh_for(self, oid: int) -> None:
        if oid > self._max_known:
            with self._lock:
                if oid > self._max_known:
                    self.by_pg_oid, self.array_oids, self._max_known = self._load()

    def mz_oid(self, pg_oid: int) -> int:
        found = self.by_pg_oid.get(pg_oid)
        if found is None:
            return pg_oid
        mz_type, is_array = found
        return mz_type.array_oid if is_array and mz_type.array_oid else mz_type.oid

    def rewrite_columns(self, columns: list[Column]) -> list[Column]:
        """RowDescription as Materialize sends it (src/pgwire/src/message.rs, encode_row_description)."""
        for column in columns:
            self._refresh_for(column.type_oid)
            # encode_row_description: table_id 0 and column_id 0 for every field
            column.table_oid = column.attnum = 0
            if column.type_oid in self.array_oids:
                # Type::typmod: constraint() is None for arrays, lists and maps, so typmod -1
                column.typmod = -1
            elif column.type_oid == NUMERIC_OID:
                column.typmod = numeric_typmod(column.typmod)
            found = self.by_pg_oid.get(column.type_oid)
            if found is not None:
                mz_type, is_array = found
                column.typmod = -1
                column.typlen = -1 if is_array else mz_type.typlen
                column.type_oid = self.mz_oid(column.type_oid)
        return columns

    def binary_refusal(self, pg_oid: int) -> str | None:
        """Materialize's Bind error for a binary result column of this type, if it refuses one.

        src/pgwire/src/protocol.rs, Bind: PROTOCOL_VIOLATION "binary encoding of list types is
        not implemented" (and of map types).
        """
        found = self.by_pg_oid.get(pg_oid)
        if found is None or found[1] or not found[0].binary_refused:
            return None
        return f"binary encoding of {found[0].name} types is not implemented"

    def array_element_patch(self, pg_oid: int) -> bytes | None:
        """Materialize's element OID for binary array values of a stand-in type (bytes 8..12)."""
        found = self.by_pg_oid.get(pg_oid)
        if found is None or not found[1]:
            return None
        return found[0].oid.to_bytes(4, "big")


def patch_array_values(values: list[bytes | None], patches: dict[int, bytes]) -> list[bytes | None]:
    """Binary array values carry their element type's OID in bytes 8..12 of the value header."""
    for index, element_oid in patches.items():
        value = values[index]
        if value is not None and len(value) >= 12:
            values[index] = value[:8] + element_oid + value[12:]
    return values
