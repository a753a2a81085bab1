"""Encodings: what a predictor sees of an architecture."""

from lightning_nas.encodings.base import CastRows, Encoding, Rows, cached_arrays, encode
from lightning_nas.encodings.graph import DenseGraphs, GraphEncoding
from lightning_nas.encodings.onehot import OneHotEncoding
from lightning_nas.encodings.path import PathEncoding
from lightning_nas.encodings.renas import EdgeTensors, ReNASEncoding
from lightning_nas.utils.registry import lookup

ENCODINGS: dict[str, type[Encoding]] = {e.name: e for e in (ReNASEncoding, GraphEncoding, OneHotEncoding, PathEncoding)}


def get_encoding(name: str) -> Encoding:
    """The encoding registered as ``name`` (``renas``, ``graph``, ``onehot``, ``path``)."""
    return lookup(ENCODINGS, name, "encoding")()


__all__ = ["ENCODINGS", "CastRows", "DenseGraphs", "EdgeTensors", "Encoding", "GraphEncoding", "OneHotEncoding", "PathEncoding", "ReNASEncoding", "Rows", "cached_arrays", "encode", "get_encoding"]
