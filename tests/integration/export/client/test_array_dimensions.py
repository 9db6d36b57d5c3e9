"""Each server's array dimension expression against PostgreSQL's ``array_ndims``, on every count."""

from __future__ import annotations

import psycopg
import pytest

from airflow_provider_materialize.sql import ServerFlavor, array_dimensions_expression

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
