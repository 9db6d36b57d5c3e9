"""A Materialize stand-in for tests: a PostgreSQL wire-protocol proxy in front of the test PostgreSQL.

No Materialize can run on the project's machines. This proxy (127.0.0.1, an ephemeral port, one
thread per connection) forwards the protocol to the test PostgreSQL and reproduces what
Materialize does differently wherever the provider depends on it. Every rule names its source in
MaterializeInc/materialize (from /tmp/mz-research-copy.md, /tmp/mz-research-types.md and
/work/shared/reference/materialize.md); rules marked UNCONFIRMED or DERIVED are not backed by a
test upstream.

Usage::

    with MaterializeStandin(postgres=pg, s3=s3_server, clusters=("quickstart", "exports")) as mz:
        mz.execute("CREATE TABLE t (id int NOT NULL, n numeric)")   # directly on PostgreSQL
        with mz.connect() as conn:                                   # through the proxy
            conn.execute("SELECT mz_version()")
        os.environ["AIRFLOW_CONN_MATERIALIZE_DEFAULT"] = mz.materialize_connection_json()

What it does (modules): ``session`` relays simple and extended protocol, COPY in/out, notices and
CancelRequests (routed by the stand-in's own BackendKeyData to PostgreSQL's real key, and to a
running COPY TO S3); ``rules`` classifies statements (``SET cluster``, ``SHOW server_version``,
AWS connections and secrets, ``pg_type`` lookups); ``types`` rewrites RowDescription (numeric
typmods, array typmods, table OID / column 0, Materialize's OIDs); ``install`` sets up the
stand-in's own database (``mz_version()``, ``mz_now()``, Materialize-only types, ``array_ndims``
removed); ``copy_options``, ``s3_target``, ``arrow_schema``, ``writers`` and ``copy_to_s3``
implement ``COPY ... TO 's3://...'``.

Materialize-only types: ``uint2``, ``uint4``, ``uint8``, ``mz_timestamp``, ``list`` and ``map`` are
PostgreSQL base types in schema ``mz_catalog`` (on the database's search_path), so test tables
declare them by name (``CREATE TABLE t (u uint4, l list)``). Their OIDs become Materialize's on
the wire and in ``pg_type``.

Not faithful, and why:

* uint2/4/8 are stored as int2/4/8: values from 2^15 / 2^31 / 2^63 up cannot be stored (their
  binary and text forms are Materialize's below that); no operators, so no ORDER BY / GROUP BY.
* ``list`` and ``map`` (the pseudo types, OIDs 16384 / 16385) are opaque text-valued types; typed
  lists and maps are the types of ``nested_types.py`` (``int4_list`` for Materialize's
  ``int4 list``, ``int4_list_list``, ``text_map`` for ``map[text=>text]``, ...), written in
  PostgreSQL's array syntax (``mz_standin.<value>_map(keys, values)`` builds a map). Their
  ``::text`` is Materialize's text format, but a plain text result shows PostgreSQL's array format;
  element typmods (``numeric(38,2) list``) are not modelled; maps can also be subscripted with
  ``[]``, which Materialize refuses.
* Only RowDescription, binary array headers (not inside binary COPY data) and ``pg_type`` carry
  Materialize's OIDs; ``format_type``, ``::regtype``, ``pg_attribute.atttypid`` show PostgreSQL's.
* Errors of the exported query itself (unknown table or column, ...) are PostgreSQL's texts, and
  they come before the COPY option checks; Materialize names a missing object
  "unknown catalog item '...'". A table given as AWS CONNECTION is "unknown catalog item".
* NOT NULL -> required Parquet field is known for direct table columns only (not through views
  or expressions, which Materialize derives). Rows are spread over batches by a CRC of their
  text, not Materialize's ``Row::hashed``. CSV values are PostgreSQL's text output.
* Every SELECT/VALUES/TABLE/COPY fails under an unknown cluster; Materialize routes catalog-only
  queries to mz_catalog_server (UNCONFIRMED which exactly).
* A multi-statement simple Query that needs a rule is run statement by statement (each its own
  implicit transaction in PostgreSQL).
* Files are Parquet 2.4-typed with v1 data pages from pyarrow, not arrow-rs PARQUET_1_0: the
  logical types match (uint32 as unsigned INT32), file metadata and byte layout do not.
"""

from tests.support.materialize_standin.copy_to_s3 import CopyRecord
from tests.support.materialize_standin.server import MaterializeStandin

__all__ = ["CopyRecord", "MaterializeStandin"]
