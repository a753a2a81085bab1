"""Scorers rank candidate architectures for a search without spending benchmark queries.

A scorer is any callable ``scorer(archs) -> scores`` (higher = predicted better);
:class:`PredictorScorer` encodes the candidates and scores them with a trained
:class:`~lightning_nas.models.RankingPredictor` (which sees tensors only), :class:`ProxyScorer`
computes zero-cost proxies on the candidates' untrained networks.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import numpy as np
import torch

from lightning_nas.benchmarks.base import Benchmark
from lightning_nas.encodings import get_encoding
from lightning_nas.features import ExtraFeatures, has_features
from lightning_nas.models import RankingPredictor
from lightning_nas.proxies import ProxyEvaluator, ScoreTable, rank_combination, reference_rank_combination
from lightning_nas.proxies.evaluator import image_source_name
from lightning_nas.spaces.base import SearchSpace
from lightning_nas.utils.checkpoints import weights_digest
from lightning_nas.utils.errors import InvalidArgument, LightningNASError


@torch.no_grad()
def predict_archs(model: RankingPredictor, space: SearchSpace, archs: list[Any], extra: np.ndarray | torch.Tensor | None = None) -> np.ndarray:
    """``model``'s scores of ``archs`` (any form ``space`` accepts, e.g. NB201 strings, NB101
    ``(matrix, ops)``), encoded exactly as in training, in eval mode. ``extra`` [len(archs), k] holds
    the extra features the model was trained with (:class:`PredictorScorer` reads them from a benchmark)."""
    names = model.hparams.extra_features
    if model.num_extra and extra is None:
        raise InvalidArgument(f"this predictor reads the extra features {names}: pass them as extra [len(archs), {model.num_extra}], or score with PredictorScorer(predictor, create({model.hparams.space!r}), dataset), which reads them from the benchmark")
    if extra is not None and not model.num_extra:
        raise InvalidArgument("this predictor was trained without extra features: score without extra")
    if extra is not None and len(extra) != len(archs):
        raise InvalidArgument(f"extra has {len(extra)} rows for {len(archs)} archs: give one row per arch")
    x = get_encoding(model.hparams.encoding).encode_archs(space, archs).batch(range(len(archs)))
    batch: dict[str, Any] = {"x": x.to(model.device)}
    if extra is not None:
        batch["extra"] = torch.as_tensor(extra, dtype=torch.float32, device=model.device)
    was_training = model.training
    model.eval()
    try:
        return model(batch).cpu().numpy()
    finally:
        model.train(was_training)


class PredictorScorer:
    """Scores archs with ``model``, cached per arch, so a search never encodes an arch twice.

    Candidates are encoded as in training (the model's ``encoding``) and their extra features
    resolved as its datamodule resolved them (:class:`~lightning_nas.features.ExtraFeatures`): the
    columns ``proxy_table`` (the score table of the fit, ``data.proxy_table``) scores are zero-cost
    proxies, read from it where it has the arch and computed on the arch's untrained network, with
    the table's recorded settings, where it does not; the others (params, FLOPs, cell_stats) are
    read from ``benchmark`` on ``dataset``. None of them costs a query. A candidate whose proxy
    could not be computed (NaN) scores -inf.

    Args:
        root: data folder for the proxies' images (default: $LIGHTNING_NAS_DATA, else ./data).
        device: where proxies are computed for archs the table lacks.
        proxy_images: the image source the table was scored on (``score --images``), which its
            record names but does not locate; None: the shared CIFAR-10 sample.
    """

    def __init__(
        self,
        model: RankingPredictor,
        benchmark: Benchmark,
        dataset: str | None = None,
        proxy_table: str | os.PathLike | None = None,
        root: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        proxy_images: str | os.PathLike | None = None,
    ) -> None:
        if model.hparams.space != benchmark.space.name:
            raise LightningNASError(f"predictor was trained on {model.hparams.space!r}, the search runs on {benchmark.space.name!r}")
        self.name = type(model).__name__
        self.fingerprint = f"{self.name} weights {weights_digest(model.state_dict())[:12]}"
        self.model = model
        self.benchmark = benchmark
        names = list(model.hparams.extra_features or [])
        self.features = ExtraFeatures(names, benchmark, dataset, proxy_table) if names else None
        self.proxies = _proxy_scorer(self.features, root, device, proxy_images) if self.features is not None else None
        if proxy_images is not None and self.proxies is None:
            raise InvalidArgument(f"proxy_images {proxy_images} given, but the predictor reads no zero-cost proxy scores ({self.name}, extra features {names})")
        self._cache: dict[str, float] = {}

    def __call__(self, archs: list[Any]) -> np.ndarray:
        space = self.benchmark.space
        keys = [space.key(space.validate(a)) for a in archs]
        new = [i for i, k in enumerate(keys) if k not in self._cache]
        if new:
            fresh = [archs[i] for i in new]
            scores = np.full(len(fresh), -np.inf)
            extra = self._extra(fresh) if self.features is not None else None
            usable = np.ones(len(fresh), dtype=bool) if extra is None else has_features(extra)
            if usable.any():
                chosen = [a for a, ok in zip(fresh, usable) if ok]
                scores[usable] = predict_archs(self.model, self.benchmark.space, chosen, extra[usable] if extra is not None else None)
            for i, score in zip(new, scores.tolist()):
                self._cache[keys[i]] = score
        return np.array([self._cache[k] for k in keys])

    def _extra(self, archs: list[Any]) -> np.ndarray:
        """[len(archs), columns] raw extra features, in the model's column order."""
        rows = [self.benchmark.index(a) for a in archs]
        proxy_scores = dict(zip(self.proxies.proxies, self.proxies.scores(archs))) if self.proxies is not None else None
        return self.features.rows(rows, proxy_scores).astype(np.float32)


def _proxy_scorer(features: ExtraFeatures, root: str | os.PathLike | None, device: str | torch.device, images: str | os.PathLike | None) -> ProxyScorer | None:
    """The zero-cost proxies among a predictor's extra features (the columns its fit's table scores),
    scored with the table's settings; only its images must be given, since the record names them
    without saying where they are."""
    if not features.proxies:
        return None
    table = features.proxy_table
    recorded = ScoreTable(table).settings() or {}
    dataset, seed, full_network = recorded.get("dataset", "cifar10"), recorded.get("seed", 0), recorded.get("full_network", False)
    protocol = {name: changes for name, changes in recorded.get("protocol", {}).items() if name in features.proxies}
    source = image_source_name(images)
    if recorded.get("images", source) != source:
        raise InvalidArgument(
            f"score table {table} was scored on images {recorded['images']!r}, and the candidates it lacks must be scored on them "
            f"too: give their path (search --proxy_images, SearchCallback's proxy_images); got {source!r}"
        )
    return ProxyScorer(features.benchmark.space.name, features.proxies, dataset, table, images, seed, root, device, full_network, protocol)


class ProxyScorer:
    """Ranks candidates with zero-cost proxies on their real, untrained networks: no benchmark
    query, no training. One proxy ranks by its score; several by TE-NAS's rank combination
    (:func:`~lightning_nas.proxies.rank_combination`) over the candidates of one call, so no
    proxy's scale dominates, or, with ``reference``, against a fixed set of random archs
    (:func:`~lightning_nas.proxies.reference_rank_combination`), so that each arch's score stands on
    its own, as a training-free search's fitness must. Scores are cached per arch; a ``table`` written
    by ``python -m lightning_nas score`` supplies precomputed scores and only missing ones are
    computed, so the settings it records (dataset, images, seed, protocols, ...) must be this scorer's.

    Args:
        dataset: the proxies' images and classifier size (see :class:`~lightning_nas.proxies.ProxyEvaluator`).
        device: where the candidates' networks are scored (e.g. ``"cuda"``).
        full_network: tenas_ntk on the benchmark network (as ``score --full_network true``).
        protocol: per-proxy changes to the papers' protocols (as ``score --protocol``).
        reference: random archs (drawn with ``seed``) that several proxies' ranks are taken against; their
            scores are computed on the first call.
    """

    def __init__(
        self,
        space: str,
        proxies: list[str],
        dataset: str = "cifar10",
        table: str | os.PathLike | None = None,
        images: str | os.PathLike | None = None,
        seed: int = 0,
        root: str | os.PathLike | None = None,
        device: str | torch.device = "cpu",
        full_network: bool = False,
        protocol: dict[str, dict[str, Any]] | None = None,
        reference: int | None = None,
    ) -> None:
        self.proxies = list(proxies)
        if reference is not None and (len(self.proxies) < 2 or reference < 2):
            raise InvalidArgument(f"reference={reference}: a reference set (of at least 2 archs) ranks several proxies, not one ({'+'.join(self.proxies)})")
        self.evaluator = ProxyEvaluator(space, self.proxies, dataset, images, seed, root, full_network, device, protocol)
        self.reference = reference
        self.space = self.evaluator.space
        self._reference_scores: np.ndarray | None = None
        self._cache: dict[str, dict[str, float]] = {}
        if table is not None:
            scores = ScoreTable(table)
            scores.check_settings(self.evaluator.settings)  # its scores rank beside the ones computed here
            self._cache = scores.load(required=True)[0]  # a mistyped path must not mean "score everything"

    def __call__(self, archs: list[Any]) -> np.ndarray:
        columns = self._ranked_scores(archs)
        if len(self.proxies) == 1:
            return columns[0]
        if self.reference is None:
            return rank_combination(columns)
        if self._reference_scores is None:
            rng = np.random.default_rng(self.evaluator.seed)
            self._reference_scores = self._ranked_scores([self.space.sample(rng) for _ in range(self.reference)])
        return reference_rank_combination(columns, self._reference_scores)

    def only(self, proxies: list[str]) -> ProxyScorer:
        """A scorer of some of this scorer's proxies that shares its networks' scores (its cache, its table,
        its evaluator), so that comparing combinations scores no arch twice."""
        missing = sorted(set(proxies) - set(self.proxies))
        if missing:
            raise InvalidArgument(f"only={missing}: this scorer scores {self.proxies}")
        part = copy.copy(self)
        part.proxies = list(proxies)
        part.reference = self.reference if len(part.proxies) > 1 else None
        part._reference_scores = None
        return part

    @property
    def name(self) -> str:
        return "+".join(self.proxies)

    @property
    def fingerprint(self) -> str:
        """What a saved search records of its scorer: the proxies, their settings and the reference set's size."""
        return f"{self.name} {json.dumps(self.evaluator.settings, sort_keys=True)}" + (f" reference {self.reference}" if self.reference else "")

    def _ranked_scores(self, archs: list[Any]) -> np.ndarray:
        columns = self.scores(archs)
        columns[np.isnan(columns)] = -np.inf  # a proxy that could not score an arch ranks it last
        return columns

    def scores(self, archs: list[Any]) -> np.ndarray:
        """[len(proxies), len(archs)] raw scores, NaN where a proxy could not score an arch: from
        the cache (and table) where there, else computed."""
        columns = np.empty((len(self.proxies), len(archs)))
        for i, arch in enumerate(archs):
            canonical = self.space.validate(arch)
            scores = self._cache.setdefault(self.space.key(canonical), {})
            missing = [name for name in self.proxies if name not in scores]
            if missing:
                scores.update(self.evaluator.score(canonical, only=missing))
            columns[:, i] = [scores[name] for name in self.proxies]
        return columns
