"""Ingest assets, one partition per space: space → pages → Markdown → chunks → embeddings.

Thin glue: read the partition, call the plain stage function, return what it did as metadata. Data moves between
assets through Postgres tables, never through pickled outputs.
"""

import time

from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, MetadataValue, asset
from pydantic import Field

from confluence_pipeline.confluence.errors import ConfluenceAuthError, ConfluenceConfigError, ConfluenceNotFound
from confluence_pipeline.confluence.sync import fetch_space, sync_space
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.resources import (
    ConfluenceResource,
    EmbeddingsResource,
    PipelineResource,
    PostgresResource,
)
from confluence_pipeline.embed.base import EmbeddingError
from confluence_pipeline.embed.factory import build_provider
from confluence_pipeline.stages import (
    ConvertWhileFetching,
    chunk_space,
    convert_space,
    embed_space,
    serving_providers,
)
from confluence_pipeline.store import pages as page_store
from confluence_pipeline.store.documents import ModelMismatch

GROUP = "ingest"
HEAVY_DB_POOL = "heavy_db_writes"
"""Concurrency pool of the steps that write the most to PostgreSQL (chunks with full text, vectors, HNSW builds)."""


class PagesConfig(Config):
    """Run config of ``confluence_pages``."""

    full: bool = Field(
        default=False,
        description=(
            "Full re-sync: list every page of the space whatever its watermark says and fetch every body again. "
            "Rows whose content did not move are left alone."
        ),
    )


def _fail_on_config(exc: Exception) -> Failure:
    # No retries help a wrong token or URL; say what to fix and keep the secret out of it.
    return Failure(description=str(exc), allow_retries=False)


@asset(
    partitions_def=space_partitions,
    group_name=GROUP,
    pool="confluence_api",
    kinds={"confluence", "postgres"},
    description=(
        "The space's metadata, refreshed from Confluence once it is older than CONFLUENCE_SPACE_REFRESH_HOURS. A "
        "space that disappeared is marked 'missing'."
    ),
)
def confluence_space(
    context: AssetExecutionContext, confluence: ConfluenceResource, postgres: PostgresResource
) -> MaterializeResult:
    """Fetch the partition's space and upsert its row, unless it was fetched recently."""
    key = context.partition_key
    started = time.monotonic()
    with postgres.connect() as conn:
        # A run with nothing changed should cost one request per space: the page listing's.
        fresh = page_store.fresh_space(conn, key, confluence.settings().space_refresh_hours)
        if fresh is not None:
            context.log.info("space %s: %s (metadata fetched recently; not asked again)", key, fresh[0])
            return MaterializeResult(
                metadata={
                    "name": fresh[0], "type": fresh[1], "status": fresh[2], "changed": False, "refreshed": False,
                    "confluence_requests": 0, "seconds": round(time.monotonic() - started, 3),
                }
            )  # fmt: skip
        client = confluence.client(postgres.database_url())
        try:
            space = fetch_space(client, key)
        except ConfluenceNotFound:
            with conn.transaction():
                changed = page_store.mark_space_status(conn, key, "missing")
            raise Failure(
                description=(
                    f"space {key} no longer exists in Confluence, or the token's user lost access to it. Its stored "
                    "pages are kept. Restore access, or remove the partition and add the key to "
                    "CONFLUENCE_EXCLUDE_SPACES."
                ),
                metadata={"marked_missing": changed},
                allow_retries=False,
            ) from None
        except (ConfluenceAuthError, ConfluenceConfigError) as exc:
            raise _fail_on_config(exc) from None
        with conn.transaction():
            changed = page_store.upsert_space(conn, space)
            page_store.mark_space_refreshed(conn, key)
    context.log.info("space %s: %s (%s)", key, space.name, "updated" if changed else "unchanged")
    return MaterializeResult(
        metadata={
            "name": space.name,
            "type": space.space_type,
            "status": space.status,
            "changed": changed,
            "refreshed": True,
            "confluence_requests": client.stats.requests,
            "seconds": round(time.monotonic() - started, 3),
        }
    )


@asset(
    partitions_def=space_partitions,
    group_name=GROUP,
    deps=[confluence_space],
    pool="confluence_api",
    kinds={"confluence", "postgres"},
    description="Pages changed since the space's watermark (CQL lastmodified), stored with their storage bodies.",
)
def confluence_pages(
    context: AssetExecutionContext,
    config: PagesConfig,
    confluence: ConfluenceResource,
    postgres: PostgresResource,
    pipeline: PipelineResource,
) -> MaterializeResult:
    """Incrementally sync the partition's pages (in full with run config ``full: true``).

    While the fetch waits on Confluence, the pages it stored are converted to Markdown (see ConvertWhileFetching).
    """
    client = confluence.client(postgres.database_url())
    if config.full:
        context.log.info("space %s: full re-sync, ignoring the watermark", context.partition_key)
    early = ConvertWhileFetching(postgres.connect, context.partition_key, pipeline.settings(confluence.settings()))
    with postgres.connect() as conn, early:
        try:
            result = sync_space(conn, client, context.partition_key, full=config.full, on_stored=early.stored)
        except (ConfluenceAuthError, ConfluenceConfigError) as exc:
            raise _fail_on_config(exc) from None
    if result.failed:
        context.log.warning(
            "%d page(s) failed after retries and will be retried next run: %s",
            len(result.failed),
            ", ".join(sorted(result.failed)[:20]),
        )
    context.log.info(
        "space %s: listed %d, wrote %d, gone %d, failed %d, %d requests",
        context.partition_key,
        result.listed,
        result.written,
        result.gone,
        len(result.failed),
        client.stats.requests,
    )
    metadata = {**result.metadata(), **{f"confluence_{k}": v for k, v in client.stats.as_dict().items()}}
    metadata["cql"] = MetadataValue.text(result.cql)
    metadata["full_resync"] = config.full
    metadata["pages_converted_while_fetching"] = early.result.processed
    return MaterializeResult(metadata=metadata)


@asset(
    partitions_def=space_partitions,
    group_name=GROUP,
    deps=[confluence_pages],
    kinds={"python", "postgres"},
    description="GitHub-flavoured Markdown converted from each page's storage format.",
)
def page_markdown(
    context: AssetExecutionContext,
    postgres: PostgresResource,
    pipeline: PipelineResource,
    confluence: ConfluenceResource,
) -> MaterializeResult:
    """Convert pages whose content changed (links point at the configured Confluence and Jira sites)."""
    settings = pipeline.settings(confluence.settings())
    with postgres.connect() as conn:
        result = convert_space(conn, context.partition_key, settings)
    context.log.info("space %s: converted %d page(s)", context.partition_key, result.processed)
    return MaterializeResult(metadata={**result.metadata(), "pages_converted": result.processed})


@asset(
    partitions_def=space_partitions,
    group_name=GROUP,
    deps=[page_markdown],
    pool=HEAVY_DB_POOL,
    kinds={"python", "postgres"},
    description="Heading-aware, token-bounded chunks of each page's Markdown (pending until embedded).",
)
def page_chunks(
    context: AssetExecutionContext, postgres: PostgresResource, pipeline: PipelineResource
) -> MaterializeResult:
    """Chunk pages whose Markdown changed."""
    with postgres.connect() as conn:
        result = chunk_space(conn, context.partition_key, pipeline.settings())
    context.log.info("space %s: %d chunk(s) from %d page(s)", context.partition_key, result.written, result.processed)
    return MaterializeResult(metadata=result.metadata())


@asset(
    partitions_def=space_partitions,
    group_name=GROUP,
    deps=[page_chunks],
    pool=HEAVY_DB_POOL,
    # Kinds are fixed when the code location loads, while the provider is chosen per run (OpenAI, a compatible server
    # or the local embedder): the badge names only what is always true, the metadata names the provider that ran.
    kinds={"pgvector"},
    description="Vectors for chunk texts never embedded with the model; pages go live once fully embedded.",
)
def chunk_embeddings(
    context: AssetExecutionContext,
    postgres: PostgresResource,
    embeddings: EmbeddingsResource,
    pipeline: PipelineResource,
) -> MaterializeResult:
    """Embed new chunk texts and swap finished pages into search."""
    settings = embeddings.settings()
    try:
        provider = build_provider(settings)
        context.log.info("embedding provider: %s", provider.describe())
        with postgres.connect() as conn:
            providers = serving_providers(conn, provider, settings)
            result = embed_space(conn, context.partition_key, providers, pipeline.settings())
    except EmbeddingError as exc:
        # Chunks embedded before the failure are kept; the rest stay pending for the next run.
        raise Failure(description=str(exc), allow_retries=exc.retryable) from None
    except ModelMismatch as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    context.log.info(
        "space %s: embedded %d text(s) with %s in %d request(s)",
        context.partition_key,
        result.processed,
        result.extra["models"],
        result.extra["embedding_requests"],
    )
    stats = {f"embedding_{k}": v for k, v in provider.stats.snapshot().items() if k != "requests"}
    return MaterializeResult(metadata={**result.metadata(), **stats})


ingest_assets = [confluence_space, confluence_pages, page_markdown, page_chunks, chunk_embeddings]
