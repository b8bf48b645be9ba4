"""The layers import one way only: app -> schema -> resolvers -> graph.

``schema/`` wraps what ``resolvers/`` return; ``resolvers/`` never build schema types; ``graph/``
knows nothing of GraphQL; settings and data tables come down as parameters, so nothing below
``app/`` imports ``app/`` or ``seeds/``. Every import counts: at the top, inside functions, and
those only for type checking.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each layer must not import.
FORBIDDEN = {
    "schema": {"app", "seeds"},
    "resolvers": {"schema", "app", "seeds"},
    "graph": {"resolvers", "schema", "app", "seeds"},
}


def imported(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return sorted(found)


def violations(layer: str, path: Path, source: str) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {package}"
            for line, package in imported(source) if package in FORBIDDEN[layer]]


def test_the_checker_sees_every_kind_of_import():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import schema.common\n"
        "if TYPE_CHECKING:\n"
        "    from app.settings import Settings\n"
        "def f():\n"
        "    from seeds import demo\n"
        "from graph import models\n"
        "from . import sibling\n"
    )
    found = violations("resolvers", ROOT / "resolvers" / "x.py", source)
    assert found == ["resolvers/x.py:2 imports schema", "resolvers/x.py:4 imports app",
                     "resolvers/x.py:6 imports seeds"]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_upward(layer):
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files
    found = [v for path in files for v in violations(layer, path, path.read_text())]
    assert found == []
