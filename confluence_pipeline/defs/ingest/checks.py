"""Asset checks on the searchable store, per space partition (shown in the Dagster UI next to ``chunk_embeddings``).

Thin glue over :mod:`confluence_pipeline.store.checks`: each check runs one SQL invariant for the partition's space
and attaches its counts and a few offending ids as metadata. They sit on ``chunk_embeddings`` because that asset is
where a space's pages go live: before it ran, new pages only have pending chunks.
"""

import warnings
from collections.abc import Callable

import psycopg
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, PreviewWarning, asset_check

from confluence_pipeline.defs.ingest.assets import chunk_embeddings
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.resources import PostgresResource
from confluence_pipeline.store import checks as store_checks


def _result(
    context: AssetCheckExecutionContext,
    postgres: PostgresResource,
    check: Callable[[psycopg.Connection, str | None], store_checks.CheckOutcome],
) -> AssetCheckResult:
    space = context.partition_key if context.has_partition_key else None
    with postgres.connect() as conn:
        outcome = check(conn, space)
    if not outcome.passed:
        context.log.warning(
            "%s failed for %s: %d of %d (e.g. %s)",
            outcome.name,
            space or "all spaces",
            outcome.failures,
            outcome.checked,
            ", ".join(outcome.sample_ids),
        )
    return AssetCheckResult(
        passed=outcome.passed,
        severity=AssetCheckSeverity.ERROR,
        description=outcome.description,
        metadata={"space": space or "all", **outcome.metadata()},
    )


# Partitioned asset checks are a preview feature of Dagster 1.13: each check runs per space, like its asset. Its
# PreviewWarning would print on every load of the code location (CLI, webserver, daemon); it is silenced here only.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=PreviewWarning, message=".*partitions_def on an AssetCheckSpec")

    @asset_check(
        asset=chunk_embeddings,
        partitions_def=space_partitions,
        description="Every current page of the space has at least one live (searchable) chunk.",
    )
    def current_pages_have_live_chunks(
        context: AssetCheckExecutionContext, postgres: PostgresResource
    ) -> AssetCheckResult:
        """Current pages without live chunks cannot be found by search."""
        return _result(context, postgres, store_checks.pages_without_live_chunks)

    @asset_check(
        asset=chunk_embeddings,
        partitions_def=space_partitions,
        description="Every live chunk of the space has an embedding for the active model.",
    )
    def live_chunks_have_embeddings(
        context: AssetCheckExecutionContext, postgres: PostgresResource
    ) -> AssetCheckResult:
        """Live chunks without a vector for the active model are invisible to the vector half of search."""
        return _result(context, postgres, store_checks.live_chunks_without_embeddings)

    @asset_check(
        asset=chunk_embeddings,
        partitions_def=space_partitions,
        description="No chunk belongs to a deleted, archived or trashed page of the space.",
    )
    def no_chunks_for_inactive_pages(
        context: AssetCheckExecutionContext, postgres: PostgresResource
    ) -> AssetCheckResult:
        """Chunks of pages that are no longer current must leave search with the page."""
        return _result(context, postgres, store_checks.chunks_of_inactive_pages)

    @asset_check(
        asset=chunk_embeddings,
        partitions_def=space_partitions,
        description="Every vector of the active model used by the space has the model's number of dimensions.",
    )
    def vector_dimensions_match(context: AssetCheckExecutionContext, postgres: PostgresResource) -> AssetCheckResult:
        """A vector of another size would break the model's HNSW index and its distances."""
        return _result(context, postgres, store_checks.vectors_with_wrong_dimensions)


ingest_checks = [
    current_pages_have_live_chunks,
    live_chunks_have_embeddings,
    no_chunks_for_inactive_pages,
    vector_dimensions_match,
]
