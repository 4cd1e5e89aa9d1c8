from __future__ import annotations

import ast
from pathlib import Path

import confluence_pipeline.lib

LIB = Path(confluence_pipeline.lib.__file__).parent


def test_lib_imports_nothing_else_of_the_product_and_no_dagster() -> None:
    offending = []
    for module in sorted(LIB.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                product = name.split(".")[0] == "confluence_pipeline" and not name.startswith("confluence_pipeline.lib")
                if product or name.split(".")[0] == "dagster":
                    offending.append(f"{module.name}: {name}")
    assert offending == []
