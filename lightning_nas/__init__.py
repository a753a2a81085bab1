"""lightning_nas: neural-architecture performance prediction and predictor-guided search with Lightning."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lightning_nas")
except PackageNotFoundError:  # a source tree on PYTHONPATH that was never installed
    __version__ = "0+unknown"
