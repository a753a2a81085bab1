"""Performance predictors (LightningModules) and their ranking losses."""

from lightning_nas.models.base import RankingPredictor, load_predictor, predictor_from_checkpoint
from lightning_nas.utils.checkpoints import read_checkpoint
from lightning_nas.models.gnn import GNNPredictor
from lightning_nas.models.losses import MSELoss, PairwiseLogisticLoss, RankingLoss, ReNASLoss
from lightning_nas.models.mlp import MLPPredictor
from lightning_nas.models.renas import ReNASPredictor

__all__ = ["GNNPredictor", "MLPPredictor", "MSELoss", "PairwiseLogisticLoss", "RankingLoss", "RankingPredictor", "ReNASLoss", "ReNASPredictor", "load_predictor", "predictor_from_checkpoint", "read_checkpoint"]
