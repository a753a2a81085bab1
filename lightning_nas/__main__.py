"""``python -m lightning_nas`` -> :func:`lightning_nas.cli.main`."""

import sys

from lightning_nas.cli import main

sys.exit(main())
