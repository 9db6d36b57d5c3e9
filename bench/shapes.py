"""The shapes the benchmark exports: each a generated table kind and the row counts it is measured at.

The mixed and narrow tables are defined in ``bench/tables.py``; the others here. Every value is an
expression of the row number ``i``, so a table is the same in every run. NULLs are spread by
``i % n`` so each nullable column has its own share.

* ``events``: an event log with a jsonb payload of free text: strings with blanks, quotes,
  backslashes, tabs and newlines (escaped in JSON), non-ASCII letters and a snowman, nested objects
  three levels deep and an array; 5% of payloads NULL.
* ``wide``: 30 columns, text-heavy: texts of 2 to about 150 characters, varchar(n), char(2),
  numeric(18,4)/(12,2)/(10,6), smallint/int/bigint, real/double, boolean, dates, timestamp and
  timestamptz, uuid, nested jsonb, bytea, int[] and text[].
* ``numeric``: ten numeric(20,6) columns of varied magnitude and sign, 5% NULL each.
* ``arrays``: int[], bigint[], double precision[] and text[] of 0 to 8 elements (text elements with
  blanks, commas and quotes), one int[] holding NULL elements, one text[] NULL in 10% of rows.
* ``timestamps``: three timestamptz, two timestamp, two date and a time column.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.tables import MIXED, NARROW, TableKind

EVENTS = TableKind(
    "events",
    "id bigint, occurred_at timestamptz, kind text, payload jsonb",
    """
    i::bigint,
    timestamptz '2026-01-01' + i * interval '150 millisecond',
    (ARRAY['click', 'view', 'purchase', 'refund', 'signup'])[1 + i % 5],
    CASE WHEN i % 20 = 7 THEN NULL ELSE jsonb_build_object(
        'user', jsonb_build_object(
            'id', i % 100000,
            'name', 'Zoë Müller-' || (i % 5000),
            'address', jsonb_build_object('street', (i % 900) || ' Main St., Apt "B"', 'city', 'São Paulo')
        ),
        'message', 'Order #' || i || ' was "shipped" to C:\\data\\' || (i % 97) || E'\\n\\tthanks ☃ '
            || substr(md5(i::text), 1, 12 + i % 20),
        'tags', jsonb_build_array('needs review', 'tier ' || (i % 3), i % 7),
        'amount', (i % 100000) / 100.0,
        'ok', i % 3 = 0,
        'note', CASE WHEN i % 4 = 0 THEN NULL ELSE 'free text, with commas: and  two  blanks' END
    ) END
    """,
)

WIDE = TableKind(
    "wide",
    """
    id bigint, t_short text, t_medium text, t_long text, t_sentence text, t_sparse text, email text,
    url text, code varchar(12), label varchar(64), country char(2), amount numeric(18, 4),
    price numeric(12, 2), ratio numeric(10, 6), qty int, small smallint, big bigint, f4 real,
    f8 double precision, flag boolean, d1 date, d2 date, ts1 timestamp, ts2 timestamptz, ts3 timestamptz,
    uid uuid, doc jsonb, blob bytea, int_arr int[], text_arr text[]
    """,
    """
    i::bigint,
    'k' || (i % 1000),
    md5(i::text),
    repeat(md5((i % 1013)::text) || ' ', 1 + i % 5),
    'The quick brown fox ' || (i % 777) || ' jumps over the lazy dog, said Ødegård',
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'sparse ' || (i % 31) END,
    'user' || (i % 200000) || '@example.com',
    'https://example.com/items/' || i || '?ref=bench&page=' || (i % 50),
    'C-' || (i % 1000000),
    'Label ' || (i % 3000) || ' ' || repeat('x', i % 40),
    (ARRAY['US', 'DE', 'BR', 'JP', 'FR'])[1 + i % 5],
    (i % 1000000) / 100.0 + 0.0001,
    CASE WHEN i % 10 = 1 THEN NULL ELSE (i % 100000) / 100.0 END,
    (i % 1000) / 1000000.0,
    (i % 100000)::int,
    (i % 30000)::smallint,
    i::bigint * 1000003,
    (i % 1000)::real / 7,
    sqrt(i::double precision),
    i % 2 = 0,
    date '2020-01-01' + (i % 3000)::int,
    CASE WHEN i % 10 = 2 THEN NULL ELSE date '2024-06-01' + (i % 400)::int END,
    timestamp '2025-01-01' + i * interval '1 second',
    timestamptz '2025-01-01 00:00:00+02' + i * interval '3 second',
    CASE WHEN i % 10 = 3 THEN NULL ELSE timestamptz '2026-01-01' + i * interval '1 millisecond' END,
    md5(i::text)::uuid,
    jsonb_build_object(
        'a', i % 100, 'b', jsonb_build_object('c', 'nested value', 'd', jsonb_build_array(1, 2))
    ),
    decode(substr(md5(i::text), 1, 8 + 2 * (i % 12)), 'hex'),
    (ARRAY[i::int % 1000, i::int % 777, i::int % 13, 42])[1:(i % 5)],
    (ARRAY['red', 'green', 'blue sky', 'x'])[1:(i % 5)]
    """,
)

NUMERIC = TableKind(
    "numeric",
    "id bigint, " + ", ".join(f"n{k} numeric(20, 6)" for k in range(1, 11)),
    "i::bigint, "
    + ", ".join(
        f"CASE WHEN i % 20 = {k} THEN NULL ELSE "
        f"((i::bigint * {7919 * k + 13}) % {10 ** (4 + k)})::numeric / {10 ** (k % 7)}"
        f" * (CASE WHEN i % {k + 2} = 0 THEN -1 ELSE 1 END) END"
        for k in range(1, 11)
    ),
)

ARRAYS = TableKind(
    "arrays",
    "id bigint, ints int[], bigs bigint[], floats double precision[], words text[], holes int[], "
    "maybe text[]",
    """
    i::bigint,
    (ARRAY[i::int % 100000, 1, 2, 3, i::int % 97, 5, 6, 7])[1:(i % 9)],
    (ARRAY[i::bigint * 1000003, i, -i, 0])[1:(i % 5)],
    (ARRAY[sqrt(i::double precision), 0.5, -1.25, i / 3.0])[1:(1 + i % 4)],
    (ARRAY['alpha', 'beta gamma', 'x,y', 'say "hi"', 'ü'])[1:(i % 6)],
    ARRAY[i::int % 10, NULL, 3]::int[],
    CASE WHEN i % 10 = 5 THEN NULL ELSE ARRAY['k' || (i % 100), 'v'] END
    """,
)

TIMESTAMPS = TableKind(
    "timestamps",
    "id bigint, created_at timestamptz, updated_at timestamptz, deleted_at timestamptz, "
    "local_start timestamp, local_end timestamp, day date, due date, at_time time",
    """
    i::bigint,
    timestamptz '2020-01-01 00:00:00+00' + i * interval '1 second 1 microsecond',
    timestamptz '2021-06-01 12:00:00-05' + i * interval '2 second',
    CASE WHEN i % 5 = 0 THEN timestamptz '2026-01-01' + i * interval '1 millisecond' ELSE NULL END,
    timestamp '1999-12-31 23:59:59' + i * interval '7 second',
    timestamp '2030-01-01' - i * interval '11 second',
    date '1970-01-01' + (i % 20000)::int,
    CASE WHEN i % 10 = 4 THEN NULL ELSE date '2026-01-01' + (i % 365)::int END,
    time '00:00:00' + (i % 86400) * interval '1 second'
    """,
)


@dataclass(frozen=True)
class Shape:
    """One shape: its table kind, a one-line description and the row counts of a full run.

    ``rows``: the table every mode except (c) and dlt reads; ``small_rows``: the table (c) and dlt
    read, smaller because they run at a tenth of the others' speed (or less) and (c) holds the whole
    result in memory. Events, wide and numeric have the row counts issue 14 measured them at; mixed
    and narrow those of the benchmark the issue was filed against (5M and 20M rows).
    """

    kind: TableKind
    description: str
    rows: int
    small_rows: int

    @property
    def name(self) -> str:
        return self.kind.name


SHAPES: tuple[Shape, ...] = (
    Shape(EVENTS, "events: bigint, timestamptz, text, jsonb of free text (nested)", 3_000_000, 100_000),
    Shape(WIDE, "wide: 30 columns, text-heavy, every common type", 1_000_000, 100_000),
    Shape(NUMERIC, "numeric: bigint + ten numeric(20,6)", 3_000_000, 200_000),
    Shape(ARRAYS, "arrays: int[], bigint[], double[], text[] (0-8 elements)", 1_500_000, 200_000),
    Shape(TIMESTAMPS, "timestamps: 3 timestamptz, 2 timestamp, 2 date, time", 3_000_000, 300_000),
    Shape(
        MIXED,
        "mixed: 13 columns (bigint, int, text, numeric, double, bool, timestamptz, date, uuid, jsonb)",
        5_000_000,
        300_000,
    ),
    Shape(NARROW, "narrow: bigint + double precision", 20_000_000, 1_000_000),
)
SHAPE_NAMES = tuple(shape.name for shape in SHAPES)
