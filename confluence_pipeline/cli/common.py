"""What the commands share: the local stack, space registration, runs through the Dagster instance."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from confluence_pipeline import localstack

WORKSPACE = str(localstack.PROJECT_ROOT / "workspace.yaml")


def tool(name: str) -> str:
    """The path of a console script installed beside this Python (the venv's ``dagster``), else the bare name."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


def prepare(*, sandbox_pages: int | None = None, seed: int = 7, flavor: str = "cloud") -> Any:
    """Start what the local stack needs (embedded Postgres, optionally the sandbox), migrate, set DAGSTER_HOME."""
    from confluence_pipeline.store.migrate import apply_migrations

    urls = localstack.ensure_database()
    localstack.ensure_dagster_home()
    apply_migrations(urls.app)
    server = None
    if sandbox_pages is not None and not os.environ.get("CONFLUENCE_BASE_URL"):
        server = localstack.start_sandbox(pages=sandbox_pages, seed=seed, flavor=flavor)
        print(f"local Confluence sandbox: {server.base_url} ({flavor}, {sandbox_pages} generated pages, seed {seed})")
    return server


def register_spaces() -> list[str]:
    """Discover the site's spaces and add the new ones as partitions of the Dagster instance; returns every key."""
    from dagster import DagsterInstance

    from confluence_pipeline.confluence.client import ConfluenceClient
    from confluence_pipeline.confluence.settings import ConfluenceSettings
    from confluence_pipeline.defs.ingest.partitions import register_new_spaces

    client = ConfluenceClient(ConfluenceSettings.from_env())
    client.check_access()
    return register_new_spaces(DagsterInstance.get(), client).keys


def materialize_spaces(
    keys: Sequence[str], *, tags: dict[str, str], log_level: str = "INFO"
) -> dict[str, dict[str, Any]]:
    """Materialize every ingest asset for each space through the Dagster instance (runs show in the UI)."""
    from dagster import DagsterInstance, materialize

    from confluence_pipeline.defs.ingest.assets import ingest_assets
    from confluence_pipeline.defs.resources import build_resources

    instance = DagsterInstance.get()
    outcome: dict[str, dict[str, Any]] = {}
    for key in keys:
        result = materialize(
            ingest_assets,
            partition_key=key,
            instance=instance,
            resources=build_resources(),
            tags=tags,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
        print(f"  {key}: run {result.run_id} {'succeeded' if result.success else 'failed'}")
        per_asset: dict[str, Any] = {"run_id": result.run_id}
        for asset_def in ingest_assets:
            for mat in result.asset_materializations_for_node(asset_def.op.name):
                per_asset[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
        outcome[key] = per_asset
    return outcome


def query_provider(conn: Any) -> Any:
    """A provider for the model search serves (not necessarily the configured one, during a switch)."""
    from confluence_pipeline.embed.base import EmbeddingError
    from confluence_pipeline.embed.factory import EmbeddingSettings, provider_for_model
    from confluence_pipeline.store.documents import active_model

    active = active_model(conn)
    if active is None:
        return None
    try:
        return provider_for_model(EmbeddingSettings.from_env(), active[0], active[1])
    except EmbeddingError as exc:
        print(f"note: vector search is off ({exc}); showing full-text results only", file=sys.stderr)
        return None


STATUS_COLUMNS = (
    ("space_key", "space"),
    ("pages", "pages"),
    ("pages_with_markdown", "markdown"),
    ("chunks", "chunks"),
    ("chunks_with_embeddings", "embedded"),
    ("failed_pages", "failed"),
    ("watermark", "watermark"),
    ("last_sync_at", "last sync"),
)


def status_table(rows: Sequence[Any]) -> str:
    """Render per-space status rows as a plain-text table."""
    data = [
        [str(getattr(r, attr) if getattr(r, attr) is not None else "-") for attr, _ in STATUS_COLUMNS] for r in rows
    ]
    headers = [title for _, title in STATUS_COLUMNS]
    widths = [max(len(h), *(len(row[i]) for row in data)) if data else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in data)
    return "\n".join(lines)
