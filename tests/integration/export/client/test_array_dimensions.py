"""Each server's array dimension expression against PostgreSQL's ``array_ndims``, on every count,
alone and packed ten columns to a value."""

from __future__ import annotations

import psycopg
import pyarrow as pa
import pytest

from airflow_provider_materialize.export.client.type_mapping import unpack_dimensions
from airflow_provider_materialize.sql import (
    ARRAYS_PER_PACKED_DIMENSIONS,
    DIMENSION_BITS,
    ServerFlavor,
    array_dimensions_expression,
    packed_dimensions_expression,
)

pytestmark = pytest.mark.integration

ARRAYS = [
    "NULL::int4[]",
    "'{}'::int4[]",
    "'{1}'::int4[]",
    "'{NULL}'::int4[]",
    "'[0:2]={1,2,3}'::int4[]",
    "'{{1,2},{3,4}}'::int4[]",
    "'[2:2][5:6]={{1,2}}'::int4[]",
    "'{{{1}}}'::int4[]",
    "'{{{{1}}}}'::text[]",
    "'{{{{{1}}}}}'::text[]",
    "'{{{{{{1,2}}}}}}'::float8[]",
]


@pytest.mark.parametrize("flavor", list(ServerFlavor))
def test_dimensions_match_array_ndims(postgres, flavor: ServerFlavor) -> None:
    with psycopg.connect(postgres.uri) as conn:
        for value in ARRAYS:
            dimensions = array_dimensions_expression("a", flavor)
            query = f"SELECT {dimensions}, coalesce(array_ndims(a), 0) FROM (SELECT {value} AS a) AS t"
            ours, expected = conn.execute(query).fetchone()  # type: ignore[misc]
            assert ours == expected, value
    assert expected == 6  # the last one has the most dimensions either server allows


@pytest.mark.parametrize("flavor", list(ServerFlavor))
@pytest.mark.parametrize("split", [10, 6])
def test_packed_dimensions_unpack_to_array_ndims(postgres, flavor: ServerFlavor, split: int) -> None:
    """Arrays of 0 to 6 dimensions, NULL among them, packed in groups; each unpacks to its own count."""
    values = ARRAYS[1:3] + ARRAYS[:1] + ARRAYS[3:]  # NULL in the third slot, six dimensions last
    names = [f"a{k}" for k in range(len(values))]
    inner = ", ".join(f"{value} AS {name}" for value, name in zip(values, names, strict=True))
    with psycopg.connect(postgres.uri) as conn:
        for group in (names[:split], names[split:]):
            packed = packed_dimensions_expression(group, flavor)
            expected = ", ".join(f"coalesce(array_ndims({name}), 0)" for name in group)
            row = conn.execute(f"SELECT {packed}, {expected} FROM (SELECT {inner}) AS t").fetchone()
            assert row is not None
            value = pa.array([row[0]], pa.int32())
            unpacked = [unpack_dimensions(value, k)[0].as_py() for k in range(len(group))]
            assert unpacked == list(row[1:]), group


def test_more_than_ten_arrays_do_not_share_one_value() -> None:
    with pytest.raises(ValueError, match="1 to 10 array columns"):
        packed_dimensions_expression([f"a{k}" for k in range(11)], ServerFlavor.POSTGRES)


def test_ten_counts_fit_a_four_byte_integer() -> None:
    """The packed value is a PostgreSQL int4 on both servers: ten counts of at most six must fit."""
    largest = sum(6 << (DIMENSION_BITS * k) for k in range(ARRAYS_PER_PACKED_DIMENSIONS))
    assert (1 << DIMENSION_BITS) > 6 and largest < 2**31
