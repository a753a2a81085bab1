"""The README's Python examples run as printed, and give the values their comments show: a newcomer pastes them first."""

import ast
import io
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
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


def test_the_readme_has_python_examples():
    assert len(EXAMPLES) >= 2
    assert sum(len(shown_values(code)) for code in EXAMPLES) >= 4  # the values below are checked


def test_a_shown_value_is_checked_to_its_decimals():
    (number,) = shown_values("x  # 94.36 (percent)\n").values()
    assert check_shown(94.3633, number) and not check_shown(94.37, number)
    (text,) = shown_values("y  # '100 queries, best |...| 94.37'\n").values()
    assert check_shown("100 queries, best |a~0|+|b~1| 94.37", text) and not check_shown("99 queries, best |a| 94.37", text)
    assert not shown_values("z  # the real network\n")


@pytest.mark.parametrize("code", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_a_readme_python_example_runs_and_shows_its_values(code, data_root):
    namespace: dict[str, Any] = {}
    shown = shown_values(code)
    for statement in ast.parse(code).body:  # one at a time, so that each shown value is checked where it is shown
        if isinstance(statement, ast.Expr) and statement.end_lineno in shown:
            value = eval(compile(ast.Expression(statement.value), f"{README.name} example", "eval"), namespace)
            expected = shown[statement.end_lineno].group(0)
            assert check_shown(value, shown[statement.end_lineno]), f"{ast.unparse(statement)} gives {value!r}; the README shows {expected}"
        else:
            exec(compile(ast.Module([statement], []), f"{README.name} example", "exec"), namespace)
