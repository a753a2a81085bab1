"""Zero-cost proxies on the real benchmark networks: a registry of one function per proxy,
the networks, real image batches, and resumable score tables."""

from lightning_nas.proxies import cost, gradients, naswot, rbflex, tenas  # noqa: F401  (register the proxies)
from lightning_nas.proxies.base import PROXIES, Proxy, get_proxy
from lightning_nas.proxies.evaluator import ProxyEvaluator
from lightning_nas.proxies.networks import build_network, count_parameters
from lightning_nas.proxies.table import ScoreTable
from lightning_nas.proxies.tenas import rank_combination, reference_rank_combination, tenas_rank

__all__ = ["PROXIES", "Proxy", "ProxyEvaluator", "ScoreTable", "build_network", "count_parameters", "get_proxy", "rank_combination", "reference_rank_combination", "tenas_rank"]
