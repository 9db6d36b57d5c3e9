"""max_file_size strings: one parser for both modes, counting as Materialize's ByteSize does.

The cases Materialize's own tests accept (``mod tests`` in src/repr/src/bytes.rs) must give the same
bytes here; our additions (KiB..TiB, k/m/g/t in any case) count in powers of 1024 too.
"""

from __future__ import annotations

import pytest

from airflow_provider_materialize.export.sizes import format_size, parse_size

KB, MB, GB, TB = 1024, 1024**2, 1024**3, 1024**4


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # test_parse and test_rounding in src/repr/src/bytes.rs
        ("9.9", 10),
        ("500", 500),
        ("1kB", KB),
        ("1.5kB", 1536),
        ("1 kB", KB),
        ("3 MB", 3 * MB),
        ("6 GB", 6 * GB),
        ("4GB", 4 * GB),
        ("88TB", 88 * TB),
        ("521  TB", 521 * TB),
        ("1073741824.1", GB),
        ("1024.9", 1025),
        ("30.1MB", 30822 * KB),
        ("30.1GB", 30822 * MB),
        ("1.01kB", 1034),
        ("4294967296", 4 * GB),
        ("16MB", 16_777_216),
        ("256MB", 268_435_456),
        # ours, beyond Materialize's grammar: still powers of 1024
        ("2g", 2 * GB),
        ("2G", 2 * GB),
        ("512MiB", 512 * MB),
        ("1GiB", GB),
        ("256 mb", 256 * MB),
        ("1KB", KB),
        (1234, 1234),
    ],
)
def test_sizes_count_as_materialize_counts_them(value, expected) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "B", "a124GB", "MB", "12 parsecs", "1e3", "-1MB", "1,000", "1 M B", True, 1.5, None, 0, -3, "0B"],
)
def test_parse_size_rejects_what_is_not_a_size(value) -> None:
    with pytest.raises(ValueError, match="max_file_size"):
        parse_size(value)


def test_sizes_print_in_the_largest_exact_unit() -> None:
    assert [format_size(n) for n in (16 * MB, 4 * GB, 256 * MB, 1536, 30822 * KB)] == [
        "16MB",
        "4GB",
        "256MB",
        "1536B",
        "30822kB",
    ]
