"""Play tracking assets: the quarter-to-date figures (``play_qtd_stats``) and their write into the Play DB page.

Thin glue over :mod:`confluence_pipeline.plays`: ``play_qtd_stats`` reads the Action Log and the Play DB from the
bodies the last sync stored (so the space holding the Play pages must be synced), stores the figures in Postgres
and shows them as a Markdown preview; ``play_db_page`` writes them into the Play DB table in one page update, or with
the run config ``dry_run`` only reports the cells it would change.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetObservation,
    Config,
    DagsterEventType,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from confluence_pipeline.confluence.errors import ConfluenceConflict, ConfluenceError, ConfluenceUnavailable
from confluence_pipeline.defs.ingest.assets import confluence_pages
from confluence_pipeline.defs.resources import ConfluenceResource, PlaysResource, PostgresResource
from confluence_pipeline.plays.aggregate import AggregationError, AggregationResult, aggregate_quarter
from confluence_pipeline.plays.quarters import Quarter
from confluence_pipeline.plays.writeback import WritebackResult, write_play_db

GROUP = "plays"
READABLE_CHECK = "action_log_rows_readable"


class QtdConfig(Config):
    """Run config of ``play_qtd_stats``."""

    quarter: str = Field(
        default="", description="The quarter to aggregate, e.g. 2026Q4. Empty: the current quarter in PLAY_TIMEZONE."
    )


class PlayDbConfig(Config):
    """Run config of ``play_db_page``."""

    dry_run: bool = Field(
        default=False,
        description="Plan only: read the Play DB page and report the cells that would change; write nothing.",
    )


def _failure(exc: Exception) -> Failure:
    # Wrong settings or a page without its table: no retry helps, the message says what to fix.
    return Failure(description=str(exc), allow_retries=False)


def _parse_quarter(text: str) -> Quarter | None:
    """The quarter of a run config or a CLI option; None for empty (the current quarter).

    Raises:
        Failure: the text is not a quarter (the message shows the form).
    """
    if not text.strip():
        return None
    try:
        return Quarter.parse(text)
    except ValueError as exc:
        raise _failure(exc) from None


def _aggregation_metadata(result: AggregationResult) -> dict[str, object]:
    """The aggregation's metadata for the UI: counts, the malformed rows named, and the figures as a Markdown table."""
    metadata: dict[str, object] = dict(result.metadata())
    metadata["preview"] = MetadataValue.md(result.preview_markdown())
    metadata["malformed"] = MetadataValue.text(str(metadata["malformed"]))
    return metadata


@asset(
    group_name=GROUP,
    deps=[confluence_pages],
    kinds={"pandas", "postgres"},
    check_specs=[
        AssetCheckSpec(
            READABLE_CHECK,
            asset="play_qtd_stats",
            description="Every non-blank Action Log row has a Play, an action type and a readable date (WARN only: "
            "such rows are skipped and named, never fatal).",
        )
    ],
    description="Each Play's quarter-to-date Activity, Signal, Brief, S2 and S3 counts and RAG status, from the "
    "Action Log as the last sync stored it; one snapshot per quarter, Play and day.",
)
def play_qtd_stats(
    context: AssetExecutionContext, config: QtdConfig, postgres: PostgresResource, plays: PlaysResource
) -> MaterializeResult:
    """Aggregate the stored Action Log into ``play_qtd_stats``."""
    quarter = _parse_quarter(config.quarter)
    try:
        settings = plays.settings()
        with postgres.connect() as conn:
            result = aggregate_quarter(conn, settings, quarter, datetime.now(UTC), run_id=context.run.run_id)
    except (AggregationError, ValueError) as exc:
        raise _failure(exc) from None
    counts = result.status_counts()
    context.log.info(
        "%s: %d Plays (%s), %d actions counted of %d rows; %d malformed, %d blank",
        result.quarter,
        len(result.stats),
        ", ".join(f"{n} {status}" for status, n in counts.items()),
        result.rows_counted,
        result.rows_read,
        len(result.problems),
        len(result.blank_rows),
    )
    if result.problems:
        context.log.warning("Action Log rows skipped: %s", "; ".join(str(p) for p in result.problems[:20]))
    check = AssetCheckResult(
        check_name=READABLE_CHECK,
        passed=not result.problems,
        severity=AssetCheckSeverity.WARN,
        description=f"{len(result.problems)} malformed row(s) skipped" if result.problems else "every row readable",
        metadata={
            "malformed_rows": len(result.problems),
            "rows": MetadataValue.text("\n".join(str(p) for p in result.problems[:50]) or "none"),
        },
    )
    return MaterializeResult(metadata=_aggregation_metadata(result), check_results=[check])


def _writeback_metadata(result: WritebackResult) -> dict[str, object]:
    """The Play DB write's metadata for the UI (``changes`` is a Markdown table)."""
    metadata: dict[str, object] = dict(result.metadata())
    metadata["changes"] = MetadataValue.md(result.changes_markdown())
    return metadata


def _stats_quarter(context: AssetExecutionContext) -> Quarter:
    """The quarter ``play_qtd_stats`` aggregated in this run, else in its latest materialization."""
    key = play_qtd_stats.key
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, ascending=False
    ).records
    events = [r.event_log_entry for r in records]
    latest = context.instance.get_latest_materialization_event(key)
    if latest is not None:
        events.append(latest)
    for entry in events:
        materialization = entry.asset_materialization
        if materialization is not None and materialization.asset_key == key and "quarter" in materialization.metadata:
            return Quarter.parse(str(materialization.metadata["quarter"].value))
    raise Failure(
        description="play_qtd_stats was never materialized: run the job play_qtd_aggregation (it computes the "
        "figures first), or `confluence-pipeline plays aggregate`",
        allow_retries=False,
    )


@asset(
    group_name=GROUP,
    deps=[play_qtd_stats],
    pool="confluence_api",
    kinds={"confluence"},
    output_required=False,
    description="The Play DB page's table: each Play's QTD figures, status and last_updated, written in one page "
    "update (none when unchanged). With dry_run, an observation of the cells that would change instead.",
)
def play_db_page(
    context: AssetExecutionContext,
    config: PlayDbConfig,
    postgres: PostgresResource,
    confluence: ConfluenceResource,
    plays: PlaysResource,
) -> Iterator[MaterializeResult]:
    """Write the figures ``play_qtd_stats`` stored into the Play DB table."""
    quarter = _stats_quarter(context)
    client = confluence.client(postgres.database_url())
    try:
        settings = plays.settings()
        with postgres.connect() as conn:
            result = write_play_db(
                conn,
                client,
                settings,
                quarter,
                now=datetime.now(UTC),
                run_id=context.run.run_id,
                dry_run=config.dry_run,
            )
    except ConfluenceError as exc:
        # Unreachable or busy (another 409 after every re-apply) may pass; a refused request will not.
        retry = isinstance(exc, ConfluenceUnavailable | ConfluenceConflict)
        raise Failure(description=str(exc), allow_retries=retry) from None
    except ValueError as exc:
        raise _failure(exc) from None
    context.log.info(
        "Play DB page %s (%s): %s, %d row(s), %d cell(s), version %d → %d",
        result.page_id,
        result.quarter,
        result.outcome,
        len(result.plan.rows_changed),
        len(result.plan.changes),
        result.version_before,
        result.version_after,
    )
    metadata = {**_writeback_metadata(result), "confluence_requests": client.stats.requests}
    if config.dry_run:
        # Nothing was written, so nothing is materialized: the plan is recorded as an observation of the page.
        context.log_event(AssetObservation(asset_key=context.asset_key, metadata=metadata))
        return
    yield MaterializeResult(metadata=metadata)


play_assets = [play_qtd_stats, play_db_page]
