"""The README and docs/ as a newcomer reads them: every Python example runs as printed and gives the values
its comments show, every ``python -m lightning_nas`` command line is one the command line accepts, every
link between the pages leads somewhere, and the README stays a user's page (about 200 lines)."""

import ast
import io
import re
import shlex
import sys
import tokenize
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLES = [(page, code) for page in PAGES for code in re.findall(r"```python\n(.*?)```", page.read_text(), re.S)]
COMMANDS = [(page, line) for page in PAGES for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S)
            for line in block.splitlines() if line.startswith("python -m lightning_nas ")]
#: A comment that shows what its line evaluates to: a number (``# 94.36 (percent)``, ``# 2694282: ...``) or a
#: quoted string in which ``...`` stands for any text (``# '100 queries, best |...| ...'``).
SHOWN_VALUE = re.compile(r"#\s*(?:(?P<number>-?\d[\d,]*(?:\.\d+)?)(?![\w.])|'(?P<text>[^']*)')")


def shown_values(code: str) -> dict[int, re.Match]:
    """Line number -> the value its comment shows, for the lines whose comment starts with one."""
    comments = (token for token in tokenize.generate_tokens(io.StringIO(code).readline) if token.type == tokenize.COMMENT)
    return {token.start[0]: match for token in comments if (match := SHOWN_VALUE.match(token.string))}


def check_shown(value: Any, shown: re.Match) -> bool:
    """Whether ``value`` prints as the comment shows: a number to the comment's decimals, a string with ``...`` as a wildcard."""
    if shown["number"] is not None:
        number = shown["number"].replace(",", "")
        decimals = len(number.partition(".")[2])
        return f"{float(value):.{decimals}f}" == number
    pattern = ".*".join(re.escape(part) for part in shown["text"].split("..."))
    return re.fullmatch(pattern, str(value)) is not None


def test_the_pages_have_examples_and_the_readme_is_a_users_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 210
    assert "SEE_" not in readme  # the quick start shows a real run's output
    quick_start = re.search(r"## Quick start\n\n```bash\n(.*?)```", readme, re.S).group(1).splitlines()
    assert quick_start == ['pip install -e ".[dev]"', "python -m lightning_nas fit --config renas_101.yaml", "pytest"]
    assert len(EXAMPLES) >= 4 and sum(len(shown_values(code)) for _, code in EXAMPLES) >= 6  # the values below are checked
    assert len(COMMANDS) >= 20
    assert "shared" not in readme  # nothing outside the repository


def test_a_shown_value_is_checked_to_its_decimals():
    (number,) = shown_values("x  # 94.36 (percent)\n").values()
    assert check_shown(94.3633, number) and not check_shown(94.37, number)
    (text,) = shown_values("y  # '100 queries, best |...| 94.37'\n").values()
    assert check_shown("100 queries, best |a~0|+|b~1| 94.37", text) and not check_shown("99 queries, best |a| 94.37", text)
    assert not shown_values("z  # the real network\n")


@pytest.mark.parametrize(("page", "code"), EXAMPLES, ids=[f"{page.name}:{i}" for i, (page, _) in enumerate(EXAMPLES)])
def test_a_python_example_runs_and_shows_its_values(page, code):
    namespace: dict[str, Any] = {}
    shown = shown_values(code)
    for statement in ast.parse(code).body:  # one at a time, so that each shown value is checked where it is shown
        if isinstance(statement, ast.Expr) and statement.end_lineno in shown:
            value = eval(compile(ast.Expression(statement.value), f"{page.name} example", "eval"), namespace)
            expected = shown[statement.end_lineno].group(0)
            assert check_shown(value, shown[statement.end_lineno]), f"{ast.unparse(statement)} gives {value!r}; {page.name} shows {expected}"
        else:
            exec(compile(ast.Module([statement], []), f"{page.name} example", "exec"), namespace)


@pytest.mark.parametrize(("page", "line"), COMMANDS, ids=[f"{page.name}:{line[24:70]}" for page, line in COMMANDS])
def test_a_command_line_on_the_pages_is_accepted(page, line, monkeypatch, capsys):
    """Parsed as the command line would (options, config names, class paths), without running: LightningCLI's and
    jsonargparse's ``--print_config``, argparse's ``--help``."""
    from lightning_nas.cli import main

    args = shlex.split(line.split("  #")[0])[3:]
    command = args[0]
    probe = "--help" if command == "prepare" else "--print_config"
    monkeypatch.setattr(sys, "argv", ["lightning_nas", *args])
    try:
        code = main([*args, probe])
    except SystemExit as exit:
        code = exit.code or 0
    out, err = capsys.readouterr()
    assert code == 0, f"{page.name}: {line}\n{err[-2000:]}"


def test_links_between_the_pages_lead_somewhere():
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+\.(?:md|png))(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which is not there"
