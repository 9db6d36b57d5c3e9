"""The Materialize stand-in's own fixtures: one stand-in per test module, with the tables, the secret
and the AWS connection its tests use, and a psycopg connection to it per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.support.materialize_standin import MaterializeStandin


@pytest.fixture(scope="module")
def mz(postgres: Any, s3_server: Any) -> Iterator[MaterializeStandin]:
    with MaterializeStandin(postgres=postgres, s3=s3_server, clusters=("quickstart", "exports")) as standin:
        standin.execute(
            "CREATE TABLE items (id int NOT NULL, amount numeric(18,4), ratio numeric, "
            'tags numeric(38,16)[], codes varchar(5)[], name varchar(5), flag "char", '
            "u2 uint2, u4 uint4, u8 uint8, ts mz_timestamp, l list, m map, u4s uint4[]);"
            "INSERT INTO items VALUES (1, 1.5, 2.25, '{1.5}', '{ab}', 'x', 'a', 2, 4, 8, 1700000000000, "
            "'{1,2}', '{a=>1}', '{1,2}');"
            "CREATE TABLE orders (id bigint NOT NULL, amount numeric(12,2), note text, tags int[], "
            "created timestamptz, u uint4, ts mz_timestamp, doc jsonb, id2 bigint);"
            "INSERT INTO orders SELECT g, g * 1.25, 'n' || g, ARRAY[[g, 1], [2, 3]], "
            '\'2024-01-02 03:04:05+02\', g, 1700000000000 + g, \'{"b": [1, 2], "a": "x y"}\', g '
            "FROM generate_series(1, 100) g"
        )
        standin.create_aws_connection("s3_conn")
        yield standin


@pytest.fixture
def conn(mz: MaterializeStandin) -> Iterator[psycopg.Connection]:
    with mz.connect() as connection:
        yield connection
