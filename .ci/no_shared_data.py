"""Runs ``python -m lightning_nas <args>`` and fails if it opened any file under $CI_FORBIDDEN_DATA (the project's
shared data): what an installed wheel runs must come from the tables embedded in the package."""

import os
import sys
from pathlib import Path

forbidden = Path(os.environ["CI_FORBIDDEN_DATA"]).resolve()
opened: list[str] = []


def audit(event: str, args: tuple) -> None:
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.realpath(os.fsdecode(args[0]))
        if forbidden in Path(path).parents:
            opened.append(path)


sys.addaudithook(audit)
from lightning_nas.cli import main  # noqa: E402 - after the hook, so that imports are watched too

code = main(sys.argv[1:])
if opened:
    print(f"FAIL: {sys.argv[1:]} read the shared data: {sorted(set(opened))[:5]}", file=sys.stderr)
    sys.exit(3)
sys.exit(code)
