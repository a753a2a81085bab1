"""lightning_nas: neural-architecture performance prediction and predictor-guided search with Lightning."""

from importlib.metadata import PackageNotFoundError, version

from lightning_nas.utils.errors import (
    BenchmarkFileError,
    CheckpointError,
    InvalidArchitecture,
    InvalidArgument,
    LightningNASError,
    OutputError,
    UnknownMetric,
)

try:
    __version__ = version("lightning_nas")
except PackageNotFoundError:  # a source tree on PYTHONPATH that was never installed
    __version__ = "0+unknown"

__all__ = ["BenchmarkFileError", "CheckpointError", "InvalidArchitecture", "InvalidArgument", "LightningNASError", "OutputError", "UnknownMetric", "__version__"]
