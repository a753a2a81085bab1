"""Training searched architectures from scratch: DARTS's evaluation protocol on CIFAR-10
(``python -m lightning_nas train --config train_darts.yaml --model.genotype genotype.json``)."""

from lightning_nas.training.cifar import CIFAR10DataModule, Cutout
from lightning_nas.training.genotype import GenotypeTraining, read_genotype

__all__ = ["CIFAR10DataModule", "Cutout", "GenotypeTraining", "read_genotype"]
