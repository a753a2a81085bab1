"""Name -> class look-ups shared by spaces, benchmarks and encodings."""

from __future__ import annotations

from typing import TypeVar

from lightning_nas.utils.errors import InvalidArgument

T = TypeVar("T")


def lookup(registry: dict[str, type[T]], name: str, kind: str) -> type[T]:
    """``registry[name]``, or an :class:`~lightning_nas.utils.errors.InvalidArgument` listing the valid names."""
    try:
        return registry[name]
    except KeyError:
        raise InvalidArgument(f"unknown {kind} {name!r}; choose one of {sorted(registry)}") from None
