"""Real image batches for data-dependent proxies.

``load_images(dataset, source)`` reads from:

* an ``.npz`` with ``images`` (N, 32, 32, 3) uint8 (16 x 16 for ImageNet16-120) and ``labels``
  (N,), like the shared ``images/cifar10_test_sample.npz`` (500 real CIFAR-10 test images) that
  tests and perf use;
* a torchvision CIFAR-10 / CIFAR-100 folder (``torchvision.datasets.CIFAR10(root)``, training
  split, nothing downloaded);
* an ImageNet16 folder (NATS-Bench's ``train_data_batch_*`` pickles; ImageNet16-120 keeps
  labels 1..120).

Without a source, every dataset scores on the CIFAR-10 sample shipped with the package: CIFAR-100
and ImageNet16-120 too (their images are not shipped), resized to the dataset's image side, with
CIFAR-10's labels (classes the larger classifiers have), one logged line saying so. Proxies then
rank archs on real natural images of the right size and statistics, though not the dataset's own.

Images are normalised with the per-dataset mean/std NATS-Bench trains with. A batch of ``num``
images is the first ``num`` of one seeded order of the source (:func:`draw_order`), so a proxy
scores an arch on the same images whichever other proxies are requested beside it.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import numpy as np
import torch

from lightning_nas.benchmarks.base import data_roots, find_data
from lightning_nas.spaces.datasets import ImageDataset, get_dataset
from lightning_nas.utils.errors import BenchmarkFileError, require_npz

SHARED_SAMPLE = Path("images") / "cifar10_test_sample.npz"
#: How many images the seeded order draws first: naswot's batch, the largest of the shipped proxies.
#: Batches were once drawn at the size of the largest requested batch; with this head, every table
#: scored with ``naswot`` among its proxies keeps its images.
DRAW_HEAD = 128
log = logging.getLogger(__name__)


def default_source(dataset: str, root: str | os.PathLike | None = None) -> Path:
    """The CIFAR-10 sample (in the first data folder that has one: the package embeds it), for
    every dataset: the documented fallback of datasets whose images are not shipped."""
    roots = data_roots(root)
    path = find_data(roots, str(SHARED_SAMPLE))
    if path is None:
        raise BenchmarkFileError(
            f"no images for {dataset!r}: give an image source (score --images, search --proxy_images: "
            f"a CIFAR folder, an ImageNet16 folder or an .npz); looked for {SHARED_SAMPLE} in {', '.join(map(str, roots))}"
        )
    return path


def _fallback(images: np.ndarray, side: int) -> np.ndarray:
    """CIFAR-10 images at ``side`` x ``side`` (box-filter downsampling, as ImageNet16 was made)."""
    if images.shape[1] == side:
        return images
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    x = torch.nn.functional.interpolate(x, size=(side, side), mode="area")
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def read_image_npz(path: Path, dataset: ImageDataset) -> tuple[np.ndarray, np.ndarray]:
    """``images`` (N, side, side, 3) uint8 and ``labels`` of an image .npz such as the shipped sample, checked."""
    side = dataset.image_side
    require_npz(path)
    try:
        with np.load(path) as data:
            images, labels = data["images"], data["labels"]
    except (OSError, ValueError, KeyError) as exc:
        raise BenchmarkFileError(f"{path}: not an image .npz with 'images' (N,{side},{side},3) uint8 and 'labels' ({exc})") from exc
    if images.ndim != 4 or images.shape[1:] != (side, side, 3) or images.dtype != np.uint8 or len(labels) != len(images):
        raise BenchmarkFileError(
            f"{path}: 'images' must be (N, {side}, {side}, 3) uint8 with one label each ({dataset.name} networks take "
            f"{side}x{side} images; proxies such as flops depend on the size), got {images.shape} {images.dtype}"
        )
    return images, labels.astype(np.int64)


def _read_imagenet16(path: Path, dataset: ImageDataset) -> tuple[np.ndarray, np.ndarray]:
    """The first training batch of NATS-Bench's ImageNet16 pickles (as xautodl's ``ImageNet16``
    reads them: ``data`` rows of 3 x 16 x 16 channel planes, ``labels`` 1..1000), classes 1..120."""
    side, classes = dataset.image_side, dataset.num_classes
    files = sorted(path.glob("train_data_batch_*"))
    if not files:
        raise BenchmarkFileError(f"{path}: no ImageNet16 'train_data_batch_*' files")
    try:
        with open(files[0], "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        labels = np.asarray(batch["labels"], dtype=np.int64)
        images = np.asarray(batch["data"], dtype=np.uint8).reshape(len(labels), 3, side, side)
    except (OSError, EOFError, pickle.UnpicklingError, TypeError, KeyError, ValueError) as exc:
        raise BenchmarkFileError(f"{files[0]}: not an ImageNet16 batch (a pickled dict of 'data' (N, {3 * side * side}) uint8 and 'labels' 1..1000): {exc!r}") from exc
    keep = (labels >= 1) & (labels <= classes)
    return np.ascontiguousarray(images[keep].transpose(0, 2, 3, 1)), labels[keep] - 1


def _read_cifar(path: Path, dataset: ImageDataset) -> tuple[np.ndarray, np.ndarray]:
    from torchvision import datasets

    cls = getattr(datasets, dataset.folder_format)
    try:
        data = cls(str(path), train=True, download=False)
    except RuntimeError as exc:  # torchvision's message advises download=True, which this tool does not offer
        raise BenchmarkFileError(
            f"{path}: no {cls.__name__} data: expected torchvision's {cls.base_folder}/ folder (with its training batches) "
            "inside it; or give an .npz with 'images' and 'labels'"
        ) from exc
    return np.asarray(data.data), np.asarray(data.targets, dtype=np.int64)


def load_images(
    dataset: str = "cifar10", source: str | os.PathLike | None = None, num: int = 128, seed: int = 0, root: str | os.PathLike | None = None, needed_by: str | None = None,
    at_least: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``num`` images of the source's :func:`draw_order` (float32 NCHW, normalised) and
    their labels; with ``at_least``, as many as the source has up to ``num``, refusing fewer than
    ``at_least``. ``needed_by`` names what asks for them in the error a smaller source gets."""
    facts = get_dataset(dataset)
    path = Path(source) if source is not None else default_source(dataset, root)
    if not path.exists():
        raise BenchmarkFileError(f"{path}: no such file or folder (images: an .npz, a CIFAR folder or an ImageNet16 folder)")
    if source is None and facts.folder_format != "CIFAR10":
        log.warning("no %s images given: proxies score on the shipped CIFAR-10 sample as %dx%d images (the documented fallback); "
                    "give the dataset's own with score --images / search --proxy_images", dataset, facts.image_side, facts.image_side)
        images, labels = read_image_npz(path, get_dataset("cifar10"))
        images = _fallback(images, facts.image_side)
    elif path.suffix == ".npz":
        images, labels = read_image_npz(path, facts)
    else:
        images, labels = _read_imagenet16(path, facts) if facts.folder_format == "ImageNet16" else _read_cifar(path, facts)
    if at_least is not None:
        num = max(min(num, len(images)), at_least)
    if num > len(images):
        raise BenchmarkFileError(f"{path}: {len(images)} images, {num} requested" + (f" ({needed_by})" if needed_by else ""))
    bad = (labels < 0) | (labels >= facts.num_classes)  # snip / fisher / grad_norm index the classifier's outputs with them
    if bad.any():
        raise BenchmarkFileError(f"{path}: label {labels[bad][0]} (image {np.flatnonzero(bad)[0]}) is not a {dataset} class, 0..{facts.num_classes - 1}")
    pick = draw_order(len(images), seed)[:num]
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) / 255 for v in (facts.mean, facts.std))
    x = torch.from_numpy(images[pick]).permute(0, 3, 1, 2).float() / 255
    return (x - mean) / std, torch.from_numpy(labels[pick])


def draw_order(count: int, seed: int) -> np.ndarray:
    """A seeded order of ``count`` images: ``DRAW_HEAD`` drawn first, then the rest shuffled.
    A batch is a prefix of it, so smaller batches are subsets of larger ones."""
    rng = np.random.default_rng(seed)
    head = rng.choice(count, size=min(count, DRAW_HEAD), replace=False)
    rest = rng.permutation(np.setdiff1d(np.arange(count), head))
    return np.concatenate([head, rest])
