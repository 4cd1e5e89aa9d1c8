"""The product's layers, kept by reading every import (module-level and inside functions) with ``ast``.

- ``convert/`` imports nothing else of the product, and neither does ``lib/``.
- ``store/`` reaches no HTTP client, no ``confluence.sync`` / ``confluence.client`` and no Dagster, not even through
  another module of the product.
- Nothing in ``confluence_pipeline/`` imports ``confluence_sandbox`` or ``benchmarks`` (the wheel carries neither),
  except one lazy import in ``localstack.py``, the local-stack launcher.
- Plain modules (all but ``defs/``, ``definitions.py`` and ``cli/``) import neither Dagster nor that glue.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "confluence_pipeline"
HTTP_CLIENTS = ("requests", "httpx", "urllib3", "atlassian", "openai")
STORE_FORBIDDEN_PRODUCT = (f"{PACKAGE}.confluence.sync", f"{PACKAGE}.confluence.client")
GLUE = (f"{PACKAGE}.defs", f"{PACKAGE}.definitions", f"{PACKAGE}.cli")
OUTSIDE_THE_WHEEL = ("confluence_sandbox", "benchmarks")
LAUNCHER = "localstack.py"


@dataclass(frozen=True)
class Import:
    """One import statement of a product file."""

    path: str  # relative to the folder that holds the package, e.g. confluence_pipeline/store/pages.py
    line: int
    source: str  # the statement as written
    targets: tuple[str, ...]  # absolute dotted names it may load: the module and each ``from`` name below it
    lazy: bool  # inside a function: runs only when the function does

    @property
    def within(self) -> str:
        """The file's path inside the package, e.g. ``store/pages.py``."""
        return self.path.removeprefix(f"{PACKAGE}/")


@dataclass(frozen=True)
class Violation:
    """An import that breaks a layering rule."""

    where: Import
    rule: str

    def __str__(self) -> str:
        kind = "lazy import" if self.where.lazy else "import"
        return f"{self.where.path}:{self.where.line}: {kind} `{self.where.source}`: {self.rule}"


def _under(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _is_dagster(name: str) -> bool:
    top = name.split(".")[0]
    return top == "dagster" or top.startswith("dagster_")


def _is_product(name: str) -> bool:
    # The bare root package holds nothing; ``from confluence_pipeline import x`` is judged by ``x``.
    return name.startswith(PACKAGE + ".")


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, path: str, module: str, is_package: bool, text: str) -> None:
        self.path = path
        self.package = module if is_package else module.rpartition(".")[0]
        self.text = text
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, node: ast.stmt, targets: list[str]) -> None:
        source = " ".join((ast.get_source_segment(self.text, node) or ast.unparse(node)).split())
        self.found.append(Import(self.path, node.lineno, source, tuple(targets), self.depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        self._add(node, [alias.name for alias in node.names])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            module = ".".join([*base, node.module] if node.module else base)
        else:
            module = node.module or ""
        self._add(node, [module, *(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")])


def collect_imports(root: Path) -> dict[str, list[Import]]:
    """Every import statement of every module of the package under ``root``, keyed by dotted module name."""
    modules: dict[str, list[Import]] = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        module, is_package = _module_name(path, root)
        collector = _ImportCollector(path.relative_to(root).as_posix(), module, is_package, text)
        collector.visit(ast.parse(text, filename=str(path)))
        modules[module] = collector.found
    return modules


def _loaded_modules(target: str, modules: dict[str, list[Import]]) -> Iterator[str]:
    # Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c: each is a module of the product, if it exists.
    parts = target.split(".")
    for end in range(2, len(parts) + 1):
        name = ".".join(parts[:end])
        if name in modules:
            yield name


def _store_reach(start: str, modules: dict[str, list[Import]]) -> list[str] | None:
    """The chain of imports from product module ``start`` to something ``store/`` must not load, if any."""
    queue: list[tuple[str, list[str]]] = [(start, [start])]
    seen = {start}
    while queue:
        module, chain = queue.pop(0)
        for imp in modules.get(module, []):
            for target in imp.targets:
                if (
                    target.split(".")[0] in HTTP_CLIENTS
                    or _is_dagster(target)
                    or _under(target, *STORE_FORBIDDEN_PRODUCT)
                ):
                    return [*chain, f"{target} ({imp.path}:{imp.line})"]
                for loaded in _loaded_modules(target, modules):
                    if loaded not in seen:
                        seen.add(loaded)
                        queue.append((loaded, [*chain, loaded]))
    return None


def check_layering(root: Path) -> list[Violation]:
    """Check the layering rules on the package under ``root`` (the folder that holds ``confluence_pipeline/``).

    Returns:
        Every import that breaks a rule, with its file, line and statement.
    """
    modules = collect_imports(root)
    violations: list[Violation] = []
    launcher_imports = 0
    for imports in modules.values():
        for imp in imports:
            area = imp.within.split("/")[0]
            glue = area in ("defs", "cli") or imp.within == "definitions.py"
            product = [t for t in imp.targets if _is_product(t)]

            if area == "convert" and any(not _under(t, f"{PACKAGE}.convert") for t in product):
                violations.append(Violation(imp, "convert/ must not import other parts of the product"))
            if area == "lib" and any(not _under(t, f"{PACKAGE}.lib") for t in product):
                violations.append(Violation(imp, "lib/ must not import other parts of the product"))

            if area == "store":
                direct = [
                    t
                    for t in imp.targets
                    if t.split(".")[0] in HTTP_CLIENTS or _is_dagster(t) or _under(t, *STORE_FORBIDDEN_PRODUCT)
                ]
                if direct:
                    violations.append(
                        Violation(imp, "store/ must not use HTTP clients, confluence.sync/client or Dagster")
                    )
                else:
                    for target in product:
                        if _under(target, f"{PACKAGE}.store"):
                            continue
                        chain = next(
                            (c for m in _loaded_modules(target, modules) if (c := _store_reach(m, modules))), None
                        )
                        if chain:
                            violations.append(
                                Violation(
                                    imp,
                                    "store/ must not reach HTTP clients, confluence.sync/client or Dagster; "
                                    "it does through " + " -> ".join(chain),
                                )
                            )
                            break

            if any(t.split(".")[0] in OUTSIDE_THE_WHEEL for t in imp.targets):
                if imp.within == LAUNCHER and imp.lazy and launcher_imports == 0:
                    launcher_imports += 1
                elif imp.within == LAUNCHER:
                    violations.append(
                        Violation(
                            imp,
                            "localstack.py may import the sandbox once, inside the function that starts it "
                            "(the wheel carries neither confluence_sandbox nor benchmarks)",
                        )
                    )
                else:
                    violations.append(
                        Violation(
                            imp,
                            "the product must not import confluence_sandbox or benchmarks (the wheel carries "
                            "neither); only localstack.py starts the sandbox",
                        )
                    )

            if not glue and any(_is_dagster(t) or _under(t, *GLUE) for t in imp.targets):
                violations.append(
                    Violation(
                        imp,
                        "plain modules must not import Dagster or its glue (defs/, definitions.py, cli/): "
                        "move the Dagster part to defs/",
                    )
                )
    return violations


def test_the_product_keeps_its_layers() -> None:
    violations = check_layering(REPO_ROOT)
    assert not violations, "layering rules broken (see confluence_pipeline_tests/test_layering.py):\n" + "\n".join(
        str(v) for v in violations
    )


def test_localstack_starts_the_sandbox_with_one_lazy_import() -> None:
    imports = collect_imports(REPO_ROOT)[f"{PACKAGE}.localstack"]
    sandbox = [imp for imp in imports if any(t.split(".")[0] in OUTSIDE_THE_WHEEL for t in imp.targets)]
    assert len(sandbox) == 1 and sandbox[0].lazy, sandbox


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"__init__.py": "", **files}.items():
        path = tmp_path / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(tmp_path / PACKAGE).parents:
            (tmp_path / PACKAGE / parent / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"store/bad.py": "import psycopg\n\n\ndef fetch():\n    import requests\n    return requests\n"},
            ["confluence_pipeline/store/bad.py:5: lazy import `import requests`: store/"],
            id="store-lazy-http-client",
        ),
        pytest.param(
            {"store/bad.py": "from confluence_pipeline.confluence.sync import sync_space\n"},
            ["confluence_pipeline/store/bad.py:1: import `from confluence_pipeline.confluence.sync import sync_space`"],
            id="store-sync",
        ),
        pytest.param(
            {
                "store/pages.py": "from confluence_pipeline.confluence.models import Page\n",
                "confluence/models.py": "from confluence_pipeline.confluence import client\n",
                "confluence/client.py": "import atlassian\n",
            },
            [
                "confluence_pipeline/store/pages.py:1: import `from confluence_pipeline.confluence.models import Page`"
                ": store/ must not reach HTTP clients, confluence.sync/client or Dagster; it does through "
                "confluence_pipeline.confluence.models -> confluence_pipeline.confluence.client ("
                "confluence_pipeline/confluence/models.py:1)"
            ],
            id="store-reaches-the-client-through-models",
        ),
        pytest.param(
            {"convert/bad.py": "from ..store import pages\n"},
            ["confluence_pipeline/convert/bad.py:1: import `from ..store import pages`: convert/"],
            id="convert-relative-import",
        ),
        pytest.param(
            {"lib/bad.py": "def f():\n    from confluence_pipeline.convert.xml import parse\n"},
            ["confluence_pipeline/lib/bad.py:2: lazy import `from confluence_pipeline.convert.xml import parse`: lib/"],
            id="lib-imports-product",
        ),
        pytest.param(
            {"search/bad.py": "from dagster import asset\n"},
            ["confluence_pipeline/search/bad.py:1: import `from dagster import asset`: plain modules"],
            id="plain-imports-dagster",
        ),
        pytest.param(
            {"stages.py": "from confluence_pipeline.defs.resources import PostgresResource\n"},
            ["confluence_pipeline/stages.py:1: import `from confluence_pipeline.defs.resources import"],
            id="plain-imports-glue",
        ),
        pytest.param(
            {"cli/bad.py": "import benchmarks.full_sync\n"},
            ["confluence_pipeline/cli/bad.py:1: import `import benchmarks.full_sync`: the product must not"],
            id="cli-imports-benchmarks",
        ),
        pytest.param(
            {"localstack.py": "from confluence_sandbox import SandboxServer\n"},
            ["confluence_pipeline/localstack.py:1: import `from confluence_sandbox import SandboxServer`"],
            id="launcher-module-level",
        ),
        pytest.param(
            {
                "localstack.py": (
                    "def start():\n    from confluence_sandbox import SandboxServer\n\n\n"
                    "def corpus():\n    from confluence_sandbox.corpus import generate_corpus\n"
                )
            },
            ["confluence_pipeline/localstack.py:6: lazy import `from confluence_sandbox.corpus import"],
            id="launcher-second-lazy-import",
        ),
    ],
)
def test_a_bad_import_fails_naming_file_line_and_import(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    found = [str(v) for v in check_layering(_tree(tmp_path, files))]
    assert len(found) == len(expected), found
    for message, start in zip(sorted(found), sorted(expected), strict=True):
        assert message.startswith(start), (message, start)


def test_allowed_imports_pass(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "localstack.py": "def start():\n    from confluence_sandbox import SandboxServer\n",
            "defs/ingest/assets.py": "from dagster import asset\nfrom confluence_pipeline.store import pages\n",
            "definitions.py": "import dagster as dg\n",
            "cli/common.py": "def f():\n    from dagster import DagsterInstance\n",
            "store/pages.py": "import psycopg\nfrom confluence_pipeline.confluence.models import Page\n",
            "confluence/models.py": "from confluence_pipeline.convert.references import Ref\n",
            "convert/storage.py": "from lxml import etree\nfrom . import xml\nfrom .xml import p\n",
            "convert/xml.py": "",
            "lib/retry.py": "import tenacity\nfrom confluence_pipeline.lib import redact\n",
        },
    )
    assert check_layering(root) == []
