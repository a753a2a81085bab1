"""Search: strategies, scorers, the resumable search loop and the Lightning callback."""

from lightning_nas.benchmarks.budget import QueryBudget, TrainingFreeBudget
from lightning_nas.models import load_predictor  # here too: a search's way in from a checkpoint
from lightning_nas.search.base import Scorer, SearchResult, SearchStrategy, run_search
from lightning_nas.search.bohb import BOHB
from lightning_nas.search.callback import SearchCallback
from lightning_nas.search.evolution import RegularizedEvolution
from lightning_nas.search.random import RandomSearch
from lightning_nas.search.reinforce import Reinforce
from lightning_nas.search.scorers import PredictorScorer, ProxyScorer, predict_archs

__all__ = [
    "BOHB",
    "PredictorScorer",
    "ProxyScorer",
    "QueryBudget",
    "RandomSearch",
    "RegularizedEvolution",
    "Reinforce",
    "Scorer",
    "SearchCallback",
    "SearchResult",
    "SearchStrategy",
    "TrainingFreeBudget",
    "load_predictor",
    "predict_archs",
    "run_search",
]
