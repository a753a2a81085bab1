"""Config files on the command line: bare names of the shipped configs, and a config given to the wrong command."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from lightning_nas.utils.errors import InvalidArgument

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"  # package data: a wheel install has them; the repo's configs/ links here
LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
#: Top-level keys that only one command's configs set (the four LightningCLI commands share fit's).
CONFIG_KEYS = {"fit": {"trainer", "model", "data"}, "search": {"strategy", "budget"}, "train": {"trainer", "model", "data"}}


def config_values(argv: list[str]) -> Iterator[tuple[int, str, str]]:
    """(position in argv, value, prefix) of every ``--config VALUE`` / ``-c VALUE`` / ``--config=VALUE``."""
    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            yield i + 1, argv[i + 1], ""
        elif arg.startswith("--config="):
            yield i, arg.split("=", 1)[1], "--config="


def resolve_config_paths(argv: list[str]) -> list[str]:
    """``--config NAME`` that is not a file but is in ``./configs`` or among the shipped configs -> that
    file; a name without its ``.yaml`` (``renas_101``) too, which the parser would take for a missing path."""
    out = list(argv)
    for idx, value, prefix in config_values(argv):
        if Path(value).exists():
            continue
        a_name = re.fullmatch(r"[\w.\-/]+", value) is not None  # not an inline YAML string such as "{trainer: ...}"
        names = [value, f"{value}.yaml"] if a_name and not Path(value).suffix else [value]
        found = next((folder / name for name in names for folder in (Path("configs"), CONFIG_DIR) if (folder / name).is_file()), None)
        if found is not None:
            out[idx] = prefix + str(found)
        elif a_name:
            raise InvalidArgument(f"config {value!r} not found: not a file, and not in configs/ (shipped: {', '.join(shipped_configs())})")
    return out


def check_config_command(command: str, argv: list[str]) -> None:
    """A config file written for another command (``search --config gnn_201.yaml``) -> an error naming
    the command that runs it, instead of the parser's "does not accept option" after its whole usage."""
    import yaml

    own = "fit" if command in LIGHTNING_COMMANDS else command
    if own not in CONFIG_KEYS:
        return
    files, sets_model = [], any(arg.startswith("--model") for arg in argv)
    header = ""
    for _, value, _ in config_values(argv):
        text = Path(value).read_text() if Path(value).is_file() else None  # else inline YAML, which the parser reads
        try:
            config = yaml.safe_load(text) if text is not None else None
        except yaml.YAMLError:
            continue  # the parser reports it with its line
        keys = set(config) if isinstance(config, dict) else set()
        if text is not None:
            files.append(Path(value).name)
            sets_model |= "model" in keys
            header = " ".join(line.lstrip("# ") for line in itertools.takewhile(lambda line: line.startswith("#"), text.splitlines()))
        if keys & CONFIG_KEYS[own]:
            continue
        for other, marks in CONFIG_KEYS.items():
            if keys & marks:
                raise InvalidArgument(
                    f"{Path(value).name} is a config for `{other}` (it sets {', '.join(sorted(keys & marks))}), not for `{command}`: "
                    f"run it with `python -m lightning_nas {other} --config {Path(value).name}`"
                )
    if own == "fit" and files and not sets_model:  # e.g. self_train_101.yaml alone; the parser would say "required: fit.model"
        after = re.search(r"after (\S+\.yaml)", header)  # the shipped ones say "Give it after gnn_101.yaml"
        first = after.group(1) if after else "<a config with a model>"
        raise InvalidArgument(
            f"no model: no config given sets one ({', '.join(files)}). {files[-1]} completes a config given before it: "
            f"`python -m lightning_nas {command} --config {first} --config {files[-1]}`"
        )


def shipped_configs() -> list[str]:
    """The config files shipped in the package (``lightning_nas/configs``, which the repo's
    ``configs/`` links to, so that a wheel install finds them too), named in help and in config errors."""
    return sorted(p.name for p in CONFIG_DIR.glob("*.yaml"))
