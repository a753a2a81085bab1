"""Encodings: what a predictor sees of an architecture."""

from lightning_nas.encodings.base import Encoding, encode
from lightning_nas.encodings.graph import DenseGraphs, GraphEncoding
from lightning_nas.encodings.onehot import OneHotEncoding
from lightning_nas.encodings.renas import ReNASEncoding

ENCODINGS: dict[str, type[Encoding]] = {e.name: e for e in (ReNASEncoding, GraphEncoding, OneHotEncoding)}


def get_encoding(name: str) -> Encoding:
    """The encoding registered as ``name`` (``renas``, ``graph``, ``onehot``)."""
    try:
        return ENCODINGS[name]()
    except KeyError:
        raise ValueError(f"unknown encoding {name!r}; choose one of {sorted(ENCODINGS)}") from None


__all__ = ["ENCODINGS", "DenseGraphs", "Encoding", "GraphEncoding", "OneHotEncoding", "ReNASEncoding", "encode", "get_encoding"]
