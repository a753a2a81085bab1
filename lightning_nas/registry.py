"""Name -> class look-ups shared by spaces, benchmarks and encodings."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def lookup(registry: dict[str, type[T]], name: str, kind: str) -> type[T]:
    """``registry[name]``, or a ValueError listing the valid names."""
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {sorted(registry)}") from None
