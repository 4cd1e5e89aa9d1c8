"""The code location: every definition under ``defs/``, bound to the project's resources.

Dagster's component tree collects the assets, checks, jobs, sensors and schedules of every module under
``confluence_pipeline/defs/``, so a new domain folder needs no wiring here. ``[tool.dg]`` in pyproject.toml names the
same module for the ``dg`` CLI. The tree is built from the imported module rather than by looking for
pyproject.toml (``dg.load_from_defs_folder``), so the code location also loads from an installed wheel, as in a
container image. The same object is what ``dagster dev -w workspace.yaml``, ``dg dev`` and the CLI load.
"""

import warnings
from pathlib import Path

import dagster as dg

from confluence_pipeline import defs as defs_package
from confluence_pipeline.defs.resources import build_resources

with warnings.catch_warnings():
    # The tree's module loaders are marked preview; load_from_defs_folder silences the same warnings.
    warnings.simplefilter("ignore", dg.PreviewWarning)
    _tree = dg.ComponentTree.from_module(defs_module=defs_package, project_root=Path(__file__).resolve().parent.parent)
    defs = dg.Definitions.merge(_tree.build_defs(), dg.Definitions(resources=build_resources()))
