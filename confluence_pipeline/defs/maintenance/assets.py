"""Deletion reconciliation, one partition per space: thin glue over ``confluence.reconcile.reconcile_space``.

The incremental sync never sees archived, trashed or purged pages (CQL lists current pages only); this asset lists
every current page id of the space and retires the stored pages that are gone, their chunks leaving search in the
same transaction. When it runs depends on the space's strategy (``CONFLUENCE_RECONCILE``):

* ``weekly``: the weekly schedule's ``confluence_reconcile`` runs (and the change sensor's, when counts disagree);
* ``every_sync``: also at the end of every ``confluence_ingest`` run, which carries the tag
  :data:`RECONCILE_SCOPE_TAG` = ``every_sync``; in ingest runs of other spaces the step ends without materializing;
* ``on_demand``: only when someone asks (``confluence-pipeline reconcile``, or Materialize in the UI).
"""

from collections.abc import Iterator

from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, asset
from pydantic import Field

from confluence_pipeline.confluence.errors import ConfluenceAuthError, ConfluenceConfigError
from confluence_pipeline.confluence.reconcile import ListingIncomplete, ReconcileAborted, reconcile_space
from confluence_pipeline.defs.ingest.assets import chunk_embeddings
from confluence_pipeline.defs.ingest.partitions import space_partitions
from confluence_pipeline.defs.resources import ConfluenceResource, PostgresResource, ReconcileResource

GROUP = "maintenance"
RECONCILE_SCOPE_TAG = "confluence_pipeline/reconcile"
"""Run tag: ``every_sync`` limits reconciliation in the run to spaces whose strategy is ``every_sync``."""


class ReconcileConfig(Config):
    """Run config of ``confluence_reconciliation``."""

    force: bool = Field(
        default=False,
        description=(
            "Delete even when more than CONFLUENCE_RECONCILE_MAX_DELETE_SHARE of the space, or all of it, is gone. "
            "Never deletes past an incomplete listing."
        ),
    )


@asset(
    partitions_def=space_partitions,
    group_name=GROUP,
    deps=[chunk_embeddings],
    pool="confluence_api",
    kinds={"confluence", "postgres"},
    output_required=False,
    description=(
        "Stored pages no longer current in Confluence (archived, trashed, purged, moved away) marked gone, their "
        "chunks out of search. Lists every current page id of the space; deletes nothing past an incomplete "
        "listing or beyond the safety share without `force`."
    ),
)
def confluence_reconciliation(
    context: AssetExecutionContext,
    config: ReconcileConfig,
    confluence: ConfluenceResource,
    postgres: PostgresResource,
    reconcile: ReconcileResource,
) -> Iterator[MaterializeResult]:
    """Reconcile the partition's space with Confluence's listing of its current pages."""
    key = context.partition_key
    try:
        settings = reconcile.settings()
    except ValueError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    strategy = settings.strategy_for(key)
    if context.run.tags.get(RECONCILE_SCOPE_TAG) == "every_sync" and strategy != "every_sync":
        # Not materialized: the asset's last materialization stays the last real reconciliation.
        context.log.info("space %s reconciles %s, not after every sync; nothing to do in this run", key, strategy)
        return
    client = confluence.client(postgres.database_url())
    with postgres.connect() as conn:
        try:
            result = reconcile_space(conn, client, key, settings, force=config.force)
        except ReconcileAborted as exc:
            details = {k: v for k, v in exc.details.items() if v is not None}
            raise Failure(
                description=str(exc),
                metadata={"reason": exc.reason, **details, "confluence_requests": client.stats.requests},
                # A listing cut short by the network may succeed next time; a refused deletion needs a person.
                allow_retries=isinstance(exc, ListingIncomplete),
            ) from None
        except (ConfluenceAuthError, ConfluenceConfigError) as exc:
            raise Failure(description=str(exc), allow_retries=False) from None
    context.log.info(
        "space %s: listed %d current pages, %d stored; removed %d (%s), %d kept, %d unresolved, %d requests",
        key,
        result.listed,
        result.stored,
        len(result.removed),
        ", ".join(sorted(result.removed, key=int)[:20]) or "none",
        len(result.kept),
        len(result.unresolved),
        result.requests,
    )
    yield MaterializeResult(metadata={**result.metadata(), "strategy": strategy})


maintenance_assets = [confluence_reconciliation]
