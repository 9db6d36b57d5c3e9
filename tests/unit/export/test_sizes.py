"""max_file_size strings: one parser for both modes."""

from __future__ import annotations

import pytest

from airflow_provider_materialize.export.sizes import parse_size


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234, 1234),
        ("1234", 1234),
        ("2g", 2_000_000_000),
        ("2GB", 2_000_000_000),
        ("256MB", 256_000_000),
        ("256 mb", 256_000_000),
        ("16MB", 16_000_000),
        ("512MiB", 512 * 1024**2),
        ("1GiB", 1024**3),
        ("1.5kb", 1500),
        ("4tb", 4 * 1000**4),
        ("100b", 100),
    ],
)
def test_parse_size_understands_decimal_and_binary_units(value, expected) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    "value", ["", "MB", "12 parsecs", "1e3", "-1MB", "1,000", "1 M B", True, 1.5, None, 0, -3]
)
def test_parse_size_rejects_what_is_not_a_size(value) -> None:
    with pytest.raises(ValueError, match="max_file_size"):
        parse_size(value)
