"""LightningDataModules pairing encodings with benchmark targets, the splits they draw and the
predictions files they read and write."""

from lightning_nas.datamodules.arch import ArchDataModule, input_shape
from lightning_nas.datamodules.predictions import ScoreWriter, read_scores
from lightning_nas.datamodules.split import SPLIT_SETTINGS, Split, SplitSettings, draw_split

__all__ = ["SPLIT_SETTINGS", "ArchDataModule", "input_shape", "ScoreWriter", "Split", "SplitSettings", "draw_split", "read_scores"]
