"""The encoding interface and its cache.

An encoding turns a space's batched structure arrays into what a model sees. It works in two
steps so that caches stay small: :meth:`Encoding.compute` does the real work once per table and
returns compact numpy arrays (cached on disk by :func:`encode`), and :meth:`Encoding.materialize`
turns them into the model-ready form: a table whose rows are built from those arrays when a batch
reads them (:class:`Rows`: :class:`CastRows`, :class:`~lightning_nas.encodings.renas.EdgeTensors`;
:class:`~lightning_nas.encodings.graph.DenseGraphs` for graphs), so the whole space stays as small
in memory as in its cache.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lightning_nas.spaces.base import SearchSpace
from lightning_nas.utils.cache import cache_dir, read_cache, write_cache
from lightning_nas.utils.errors import BenchmarkFileError
from lightning_nas.utils.progress import progress_bar
from lightning_nas.utils.row_blocks import in_row_blocks

RowIndex = torch.Tensor | np.ndarray | list[int] | range


def row_index(rows: RowIndex) -> torch.Tensor:
    """Rows as a long tensor of indices; a boolean mask selects its True rows (as it would a tensor's)."""
    rows = torch.as_tensor(rows)
    return rows.nonzero().flatten() if rows.dtype == torch.bool else rows.long()


class Rows(abc.ABC):
    """N model-ready rows built when read: ``rows[index]`` (indices, a mask or a slice) or
    :meth:`batch` gives a float32 tensor [len(index), ...]; ``rows[n]`` one row."""

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @property
    @abc.abstractmethod
    def shape(self) -> tuple[int, ...]:
        """The shape of all rows built at once."""

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    @abc.abstractmethod
    def batch(self, rows: RowIndex) -> torch.Tensor:
        """The given rows, built."""

    def __getitem__(self, rows: int | slice | RowIndex) -> torch.Tensor:
        if isinstance(rows, (int, np.integer)):
            return self.batch([rows])[0]
        return self.batch(range(len(self))[rows] if isinstance(rows, slice) else rows)


@dataclass
class CastRows(Rows):
    """Rows kept in their compact dtype (path counts and one-hot bits are uint8) and cast to
    float32 when read: the NB101 path encoding holds 147 MiB instead of 588 MiB."""

    values: torch.Tensor

    def __len__(self) -> int:
        return len(self.values)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)

    def batch(self, rows: RowIndex) -> torch.Tensor:
        return self.values[row_index(rows)].to(self.dtype)


class Encoding(abc.ABC):
    """Space structure -> model input. The space says how its archs are laid out for the encoding
    (:meth:`~lightning_nas.spaces.base.SearchSpace.layouts`); a space without a layout for it is not supported."""

    name: str
    version: int = 1
    #: what a model reads of it is the same in every vertex order of a cell, so relabelled
    #: copies (``ArchDataModule(augment=K)``) would only repeat the training archs
    order_invariant: bool = False

    def check_space(self, space: SearchSpace, role: str = "encoding") -> None:
        """``role`` names what the user asked for (an encoding, or an extra-feature group)."""
        space.layout(self.name, role)

    def shape(self, space: SearchSpace) -> dict[str, int]:
        """What a model reading this encoding of ``space`` needs to know of its input (the layout's shape)."""
        return dict(space.layout(self.name).shape)

    def compute(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Compact arrays for every row of ``structure``: the space's layout, which subclasses turn into
        their own form (vectorised, no per-arch Python loop; each row on its own, as
        :func:`compute_arrays` passes a block of rows at a time)."""
        return space.layout(self.name).compute(structure)

    @abc.abstractmethod
    def materialize(self, arrays: dict[str, np.ndarray]) -> Any:
        """Model-ready form of :meth:`compute`'s arrays."""

    def __call__(self, space: SearchSpace, structure: dict[str, np.ndarray]) -> Any:
        """Encode without caching (e.g. a handful of new architectures)."""
        self.check_space(space)
        return self.materialize(compute_arrays(self, space, structure))

    def encode_archs(self, space: SearchSpace, archs: list[Any]) -> Any:
        """Encode architectures given in any form the space's ``validate`` accepts."""
        return self(space, space.to_structure([space.validate(a) for a in archs]))


def compute_arrays(encoding: Encoding, space: SearchSpace, structure: dict[str, np.ndarray], advance: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """:meth:`Encoding.compute` a block of rows at a time, so its temporaries stay bounded on a whole space."""
    names = list(structure)
    return in_row_blocks(lambda *columns: encoding.compute(space, dict(zip(names, columns))), *structure.values(), advance=advance)


def encode(encoding: Encoding, space: SearchSpace, structure: dict[str, np.ndarray]) -> Any:
    """Encode every row, reusing the on-disk cache of :meth:`Encoding.compute` when present."""
    return encoding.materialize(cached_arrays(encoding, space, structure))


def cached_arrays(encoding: Encoding, space: SearchSpace, structure: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:meth:`Encoding.compute`'s arrays for every row, from the on-disk cache, computed and cached on a
    miss. ``prepare`` stops here, as :meth:`Encoding.materialize` only wraps these arrays for the run that reads them."""
    encoding.check_space(space)
    h = hashlib.sha256(f"{encoding.name}|v{encoding.version}|{space.name}".encode())
    for k in sorted(structure):
        h.update(k.encode())
        h.update(np.ascontiguousarray(structure[k]).data)
    path = cache_dir() / f"encoding-{encoding.name}-{space.name}-{h.hexdigest()[:16]}.npz"
    try:
        arrays, _ = read_cache(path)
    except BenchmarkFileError:  # first use: computed once (with a progress bar) and cached
        rows = len(next(iter(structure.values())))
        with progress_bar(f"encoding {rows:,} {space.name} archs ({encoding.name}; cached for later runs)", total=rows) as advance:
            arrays = compute_arrays(encoding, space, structure, advance)
        write_cache(path, arrays, {"encoding": encoding.name, "space": space.name})
    return arrays
