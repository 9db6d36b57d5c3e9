"""Sizes as users write them for ``max_file_size``: a byte count or a size string."""

from __future__ import annotations

import re

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: object) -> int:
    """Turn ``268435456``, ``"2g"``, ``"256MB"`` or ``"512MiB"`` into a byte count.

    ``k``/``KB``/``M``/``MB``/``G``/``GB``/``T``/``TB`` are decimal (powers of 1000);
    ``KiB``/``MiB``/``GiB``/``TiB`` are binary (powers of 1024). Case does not matter.
    """
    if isinstance(value, bool):
        raise ValueError(
            f"max_file_size must be a byte count or a size string such as '256MB', not {value!r}"
        )
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        match = _SIZE_PATTERN.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _SIZE_UNITS:
            raise ValueError(
                f"max_file_size {value!r} is not a size: use a byte count or a number with a unit, "
                "e.g. '256MB', '2g' or '512MiB' (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024)"
            )
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    else:
        raise ValueError(f"max_file_size must be an int or a size string, not {type(value).__name__}")
    if size <= 0:
        raise ValueError(f"max_file_size must be positive, got {value!r}")
    return size
