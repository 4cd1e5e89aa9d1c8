"""Asset checks on the searchable store, per space partition (shown in the Dagster UI next to ``chunk_embeddings``).

Thin glue over :mod:`confluence_pipeline.store.checks`: each check runs one SQL invariant for the partition's space
and attaches its counts and a few offending ids as metadata. They run together, in one step. They sit on
``chunk_embeddings`` because that asset is where a space's pages go live: before it ran, new pages only have pending
chunks.
"""

import warnings
from collections.abc import Callable, Iterator

import psycopg
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    PreviewWarning,
    multi_asset_check,
)

from confluence_pipeline.defs.ingest.assets import chunk_embeddings
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.resources import PostgresResource
from confluence_pipeline.store import checks as store_checks

_Check = Callable[[psycopg.Connection, str | None], store_checks.CheckOutcome]

# Each check's description (the UI shows it) and its SQL invariant; the comment above each says why it matters.
_CHECKS: dict[str, tuple[str, _Check]] = {
    # Current pages without live chunks cannot be found by search.
    "current_pages_have_live_chunks": (
        "Every current page of the space has at least one live (searchable) chunk.",
        store_checks.pages_without_live_chunks,
    ),
    # Live chunks without a vector for the active model are invisible to the vector half of search.
    "live_chunks_have_embeddings": (
        "Every live chunk of the space has an embedding for the active model.",
        store_checks.live_chunks_without_embeddings,
    ),
    # Chunks of pages that are no longer current must leave search with the page.
    "no_chunks_for_inactive_pages": (
        "No chunk belongs to a deleted, archived or trashed page of the space.",
        store_checks.chunks_of_inactive_pages,
    ),
    # A vector of another size would break the model's HNSW index and its distances.
    "vector_dimensions_match": (
        "Every vector of the active model used by the space has the model's number of dimensions.",
        store_checks.vectors_with_wrong_dimensions,
    ),
}


def _result(
    context: AssetCheckExecutionContext,
    conn: psycopg.Connection,
    name: str,
    check: _Check,
) -> AssetCheckResult:
    space = context.partition_key if context.has_partition_key else None
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
        asset_key=chunk_embeddings.key,
        check_name=name,
        passed=outcome.passed,
        severity=AssetCheckSeverity.ERROR,
        description=outcome.description,
        metadata={"space": space or "all", **outcome.metadata()},
    )


# Partitioned asset checks are a preview feature of Dagster 1.13: each check runs per space, like its asset. Its
# PreviewWarning would print on every load of the code location (CLI, webserver, daemon); it is silenced here only.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=PreviewWarning, message=".*partitions_def on an AssetCheckSpec")

    @multi_asset_check(
        specs=[
            AssetCheckSpec(name, asset=chunk_embeddings, partitions_def=space_partitions, description=description)
            for name, (description, _) in _CHECKS.items()
        ],
        can_subset=True,
        description="The searchable store's invariants for the space, each a check of chunk_embeddings.",
    )
    def searchable_store_checks(
        context: AssetCheckExecutionContext, postgres: PostgresResource
    ) -> Iterator[AssetCheckResult]:
        """Run the selected checks in one step, on one connection.

        One step rather than one per check: a step costs about 0.13 s in process, and a process of its own under
        the multiprocess executor (seconds of start-up), while each check is one query of milliseconds.
        """
        selected = {key.name for key in context.selected_asset_check_keys}
        with postgres.connect() as conn:
            for name, (_, check) in _CHECKS.items():
                if name in selected:
                    yield _result(context, conn, name, check)


ingest_checks = [searchable_store_checks]
