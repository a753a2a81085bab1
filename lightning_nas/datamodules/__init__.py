"""LightningDataModules pairing encodings with benchmark targets."""

from lightning_nas.datamodules.arch import ArchDataModule

__all__ = ["ArchDataModule"]
