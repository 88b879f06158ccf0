"""argparse types that reject bad numbers and names at parse time (exit 2, one line naming the option).

>>> positive_int("3")
3
>>> finite_float(minimum=0.0, inclusive=False)("0.5")
0.5
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An int >= ``minimum``."""

    def parse(text: str) -> int:
        value = _integer(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum of {minimum}")
        return value

    parse.__name__ = f"int >= {minimum}"
    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def int_in_range(low: int, high: int) -> Callable[[str], int]:
    """An int in ``[low, high]``."""

    def parse(text: str) -> int:
        value = _integer(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
        return value

    parse.__name__ = f"int in {low}..{high}"
    return parse


def finite_float(
    minimum: float | None = None, maximum: float | None = None, inclusive: bool = True
) -> Callable[[str], float]:
    """A finite float, optionally bounded (``inclusive`` applies to both bounds)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        low_ok = minimum is None or (value >= minimum if inclusive else value > minimum)
        high_ok = maximum is None or (value <= maximum if inclusive else value < maximum)
        if not (low_ok and high_ok):
            bounds = f"{'[' if inclusive else '('}{minimum if minimum is not None else '-inf'}, "
            bounds += f"{maximum if maximum is not None else 'inf'}{']' if inclusive else ')'}"
            raise argparse.ArgumentTypeError(f"{value} is outside {bounds}")
        return value

    parse.__name__ = "number"
    return parse


def non_empty(text: str) -> str:
    """A non-blank string (e.g. a model name)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def image_size(text: str) -> tuple[int, int]:
    """``HxW`` (e.g. ``400x600``) as ``(height, width)``, each at least 8.

    >>> image_size("400x600")
    (400, 600)
    """
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not HxW, e.g. 400x600") from None
    if height < 8 or width < 8:
        raise argparse.ArgumentTypeError("sizes must be at least 8x8")
    return height, width
