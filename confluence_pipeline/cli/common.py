"""What the commands share: the local stack, space registration, runs through the Dagster instance."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from confluence_pipeline import localstack

if TYPE_CHECKING:
    from confluence_pipeline.defs.resources import ConfiguredResources
    from confluence_pipeline.embed.base import EmbeddingProvider
    from confluence_pipeline.embed.factory import EmbeddingSettings

WORKSPACE = str(localstack.PROJECT_ROOT / "workspace.yaml")


def tool(name: str) -> str:
    """The path of a console script installed beside this Python (the venv's ``dagster``), else the bare name."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


def resources() -> ConfiguredResources:
    """The code location's resources, bound to this process's environment and resolved: what a run would use."""
    from confluence_pipeline.defs.resources import configured_resources

    return configured_resources(os.environ)


def local_database() -> localstack.DatabaseUrls:
    """The pipeline's database: ``DATABASE_URL``, else the embedded server (started when needed)."""
    configured = resources()
    return localstack.ensure_database(configured.postgres.url or None, configured.local_stack.settings())


def prepare(*, sandbox: bool = False, pages: int | None = None, seed: int | None = None, flavor: str = "cloud") -> Any:
    """Start what the local stack needs (embedded Postgres, optionally the sandbox), migrate, set DAGSTER_HOME.

    Args:
        sandbox: start the local Confluence sandbox when no ``CONFLUENCE_BASE_URL`` is configured.
        pages: the sandbox's generated pages; default ``SANDBOX_PAGES``.
        seed: the sandbox's corpus seed; default ``SANDBOX_SEED``.
        flavor: ``cloud`` or ``dc``.

    Returns:
        The running sandbox server, or None.
    """
    from confluence_pipeline.store.migrate import apply_migrations

    configured = resources()
    stack = configured.local_stack.settings()
    urls = localstack.ensure_database(configured.postgres.url or None, stack)
    localstack.ensure_dagster_home(stack)
    apply_migrations(urls.app)
    server = None
    if sandbox and not configured.confluence.settings().base_url:
        pages = stack.sandbox_pages if pages is None else pages
        seed = stack.sandbox_seed if seed is None else seed
        server = localstack.start_sandbox(pages=pages, seed=seed, port=stack.sandbox_port, flavor=flavor)
        print(f"local Confluence sandbox: {server.base_url} ({flavor}, {pages} generated pages, seed {seed})")
    return server


def register_spaces() -> list[str]:
    """Discover the site's spaces and add the new ones as partitions of the Dagster instance; returns every key."""
    from dagster import DagsterInstance

    from confluence_pipeline.defs.ingest.partitions import register_new_spaces

    client = resources().confluence.client()
    client.check_access()
    return register_new_spaces(DagsterInstance.get(), client).keys


def materialize_spaces(
    keys: Sequence[str], *, tags: dict[str, str], log_level: str = "INFO"
) -> dict[str, dict[str, Any]]:
    """Materialize every ingest asset for each space through the Dagster instance (runs show in the UI).

    The spaces' large embedding loads leave the vector index to one build after the last space (see
    :func:`_one_vector_index_build`).
    """
    from dagster import DagsterInstance, materialize

    from confluence_pipeline.defs.ingest.assets import ingest_assets
    from confluence_pipeline.defs.resources import build_resources

    instance = DagsterInstance.get()
    # dagster-postgres opens a new connection for every event it stores (about 170 per run here, 1.3 s): this
    # process runs run after run, so let its storage keep connections, as the webserver's does (no time limit).
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=10)
    outcome: dict[str, dict[str, Any]] = {}
    with _one_vector_index_build(len(keys)):
        for key in keys:
            result = materialize(
                ingest_assets,
                partition_key=key,
                instance=instance,
                resources=build_resources(os.environ),
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


@contextmanager
def _one_vector_index_build(spaces: int) -> Iterator[None]:
    """Around several spaces' runs, one HNSW build at the end instead of a rebuild per large space.

    Runs one after another would each drop and rebuild the index over everything loaded so far when their own load
    is large (the first sync of a site: every space); see
    :func:`~confluence_pipeline.store.documents.one_index_build`.
    """
    from confluence_pipeline.embed.base import EmbeddingError
    from confluence_pipeline.store import documents as docs

    configured = resources()
    try:
        provider = configured.embeddings.build()
    except EmbeddingError:
        provider = None  # the runs' embedding step reports what to fix
    if spaces < 2 or provider is None:
        yield
        return
    hnsw = configured.pipeline.settings().hnsw
    with configured.postgres.connect() as conn, docs.one_index_build(conn, provider.model, provider.dimensions, hnsw):
        yield


def search_provider(conn: Any, settings: EmbeddingSettings) -> EmbeddingProvider | None:
    """The provider of the model search serves, or None (full-text only) with a note when it cannot be built."""
    from confluence_pipeline.embed.base import EmbeddingError
    from confluence_pipeline.search.query import query_provider

    try:
        return query_provider(conn, settings)
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
