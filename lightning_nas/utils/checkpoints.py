"""Checkpoint files that vouch for their weights: a checksum of the state dict is written into every
checkpoint a predictor saves and checked whenever one is read (resuming a fit, test, predict, a search
from a checkpoint). Flipped bytes inside a weight tensor unpickle without complaint and score garbage;
here they are a one-line error naming the file."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from lightning_nas.utils.errors import CheckpointError

#: Checkpoint entry holding :func:`weights_digest` of its state dict.
DIGEST_KEY = "lightning_nas_weights_sha256"
#: Checkpoint entry holding the random number generators' states (:func:`rng_states`).
RNG_KEY = "lightning_nas_rng_states"


def rng_states() -> dict[str, Any]:
    """The states of every random number generator a fit draws from (torch's CPU and CUDA ones, numpy's,
    Python's): saved with a checkpoint, so that a resumed fit draws what the uninterrupted one would have."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    # numpy's key as a tensor: Lightning reads checkpoints with torch.load(weights_only=True), which refuses numpy arrays
    states: dict[str, Any] = {"torch": torch.get_rng_state(), "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: Mapping[str, Any]) -> None:
    """Set the generators to ``states`` (from :func:`rng_states`)."""
    torch.set_rng_state(states["torch"])
    kind, keys, position, has_gauss, gauss = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def weights_digest(state_dict: Mapping[str, torch.Tensor]) -> str:
    """sha256 over every tensor of ``state_dict`` (names, dtypes, shapes and bytes, in name order)."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def verify_weights(checkpoint: Mapping[str, Any], path: str | os.PathLike) -> None:
    """:class:`CheckpointError` unless ``checkpoint``'s state dict has the checksum it was saved with."""
    saved = checkpoint.get(DIGEST_KEY)
    if saved is None:
        raise CheckpointError(f"{path} carries no checksum of its weights (written by a release before 0.2, or not by fit): fit again to get one that can be checked")
    if weights_digest(checkpoint["state_dict"]) != saved:
        raise CheckpointError(f"{path}: its weights do not match the checksum written with them (the file is damaged or was edited); use another checkpoint or fit again")


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The contents of a checkpoint file written by ``fit``, its weights checked against their checksum. It
    is unpickled in full (it holds the datamodule's settings), so read only checkpoints you trust, as with
    any pickle."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a file that is not a checkpoint fails anywhere in unpickling (KeyError, EOFError, ...)
        raise CheckpointError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} is not a Lightning checkpoint (no state_dict)")
    verify_weights(checkpoint, path)
    return checkpoint


def datamodule_settings(path: str | os.PathLike) -> dict[str, Any] | None:
    """The ArchDataModule settings a ``fit`` checkpoint records (None when it records none): the split its
    predictor was fit on."""
    settings = read_checkpoint(path).get("datamodule_hyper_parameters")
    return {k: v for k, v in settings.items() if not k.startswith("_")} if settings else None  # not LightningCLI's _instantiator
