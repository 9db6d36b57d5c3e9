"""Sizes as users write them for ``max_file_size``, counted exactly as Materialize counts them.

Materialize's ``ByteSize`` (``FromStr`` in src/repr/src/bytes.rs) reads a number, optional blanks,
and one of the units ``B``, ``kB``, ``MB``, ``GB``, ``TB`` -- case-sensitive, powers of 1024, no
unit meaning bytes. A fractional number is multiplied by 1024 and rounded into the next lower
unit (``1.5kB`` is 1536 bytes, ``30.1MB`` is 30822 kB). :func:`parse_size` gives the same bytes
for every string Materialize accepts, so ``"16MB"`` means 16,777,216 bytes in both modes.

Beyond Materialize's grammar it also takes ``KiB``/``MiB``/``GiB``/``TiB`` and the short forms
``k``/``m``/``g``/``t`` in any case (``"2g"``): all powers of 1024 as well.
"""

from __future__ import annotations

import math
import re

_MATERIALIZE_UNITS = {"B": 0, "kB": 1, "MB": 2, "GB": 3, "TB": 4}  # exponent of 1024
_OUR_UNITS = {
    **{f"{letter}ib": power for letter, power in zip("kmgt", range(1, 5), strict=True)},
    **{letter: power for letter, power in zip("kmgt", range(1, 5), strict=True)},
    **{f"{letter}b": power for letter, power in zip("kmgt", range(1, 5), strict=True)},
}
_SIZE = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[A-Za-z]*)")
_MAX_BYTES = 2**64 - 1  # ByteSize is a u64
# What parse_size accepts, as a JSON-schema pattern for Trigger forms (a Param's ``pattern``): a number,
# then nothing (bytes), B, kB/MB/GB/TB, KiB/MiB/GiB/TiB or k/m/g/t, the last three in any case.
SIZE_PATTERN = r"^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*(B|[kKmMgGtT]([iI]?[bB])?)?\s*$"
UNITS_TEXT = "B, kB, MB, GB, TB (powers of 1024, as Materialize counts them; also KiB/MiB/GiB/TiB, or 2g)"


def parse_size(value: object) -> int:
    """Turn ``268435456``, ``"256MB"``, ``"1.5GB"``, ``"512MiB"`` or ``"2g"`` into a byte count."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(
            f"max_file_size must be a byte count or a size string such as '256MB', not {value!r}"
        )
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.fullmatch(value.strip())
        power = _unit_power(match.group("unit")) if match else None
        if match is None or power is None:
            raise ValueError(
                f"max_file_size {value!r} is not a size: use a byte count or a number with {UNITS_TEXT}"
            )
        size = _bytes(match.group("number"), power)
    if size <= 0:
        raise ValueError(f"max_file_size must be positive, got {value!r}")
    if size > _MAX_BYTES:
        raise ValueError(f"max_file_size {value!r} is too large")
    return size


def _unit_power(unit: str) -> int | None:
    if unit in _MATERIALIZE_UNITS:
        return _MATERIALIZE_UNITS[unit]
    if unit == "":
        return 0
    return _OUR_UNITS.get(unit.lower())


def _bytes(number: str, power: int) -> int:
    """Materialize's arithmetic: whole numbers exactly; fractions rounded in the next lower unit."""
    if "." not in number:
        return int(number) * 1024**power
    value = float(number)
    if power == 0:
        return _round_half_away(value)
    return _round_half_away(value * 1024) * 1024 ** (power - 1)


def _round_half_away(value: float) -> int:
    """Rust's ``f64::round``: halves go away from zero (Python's ``round`` goes to even)."""
    return math.floor(value + 0.5)


def format_size(size: int) -> str:
    """``16MB``, ``4GB``, ``1536B``: the largest unit that divides exactly, as Materialize prints sizes."""
    for unit, power in sorted(_MATERIALIZE_UNITS.items(), key=lambda item: -item[1]):
        if power and size % 1024**power == 0:
            return f"{size // 1024**power}{unit}"
    return f"{size}B"


def human_size(size: int) -> str:
    """``1.8 kB``, ``256.0 MB``, ``512 B``: a size for log lines, in Materialize's powers of 1024."""
    for unit, power in sorted(_MATERIALIZE_UNITS.items(), key=lambda item: -item[1]):
        # 1048575 bytes is "1.0 MB", not "1024.0 kB": the threshold is what rounds up to one unit
        if power and size >= 1024**power - 0.05 * 1024 ** (power - 1):
            return f"{size / 1024**power:.1f} {unit}"
    return f"{size} B"
