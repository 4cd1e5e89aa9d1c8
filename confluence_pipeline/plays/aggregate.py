"""The weekly Play QTD aggregation: Action Log rows → per-Play quarter-to-date counts and a RAG status (pandas).

The Action Log is read from the page body the last sync stored, never from Confluence again. The Plays are the rows
of the Play DB (also its stored copy), so a Play with no action this quarter still gets its zeros and its status.
Outbox events count too (``activity.created`` as an Activity, ``validation.completed`` as S2, ``pilot.started`` as
S3, …) unless the Action Log already holds their row: the Play DB updates an event triggers and the weekly run then
agree, whether or not the sync has caught up with the page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import psycopg

from confluence_pipeline.plays.actionlog import COUNTED_KINDS, ActionLog, RowProblem, parse_action_log
from confluence_pipeline.plays.playdb import play_ids
from confluence_pipeline.plays.quarters import Quarter
from confluence_pipeline.plays.settings import PlaySettings, RagThresholds
from confluence_pipeline.store import plays as store

if TYPE_CHECKING:
    import pandas as pd

STATUSES = ("Green", "Amber", "Red")
# Outbox events that are actions of a counted kind (the rest only touch Live docs or the Play DB's status).
EVENT_KINDS = {
    "activity.created": "activity",
    "signal.created": "signal",
    "brief.created": "brief",
    "validation.completed": "s2",
    "pilot.started": "s3",
}
_MAX_LISTED = 50


class AggregationError(RuntimeError):
    """The aggregation cannot run as configured; the message says what to do."""


def rag_status(counts: Mapping[str, int], quarter: Quarter, now: datetime, settings: PlaySettings) -> str:
    """The RAG status of one Play's quarter-to-date counts (the rules and their reasons are in the README).

    - Green: the Play reached S2 or S3 this quarter, or its activities and signals are at or above their targets
      pro-rated to the share of the quarter that has passed.
    - Red: past the grace days, activities below ``red_below`` of the pro-rated activity target.
    - Amber: everything in between.
    """
    rag: RagThresholds = settings.rag
    if counts.get("s2", 0) + counts.get("s3", 0) > 0:
        return "Green"
    share = quarter.elapsed(now, settings.tz)
    activity_pace = rag.activity_target * share
    signal_pace = rag.signal_target * share
    if counts.get("activity", 0) >= activity_pace and counts.get("signal", 0) >= signal_pace:
        return "Green"
    if quarter.days_elapsed(now, settings.tz) < rag.grace_days:
        return "Amber"
    if counts.get("activity", 0) < rag.red_below * activity_pace:
        return "Red"
    return "Amber"


@dataclass
class QuarterCounts:
    """What :func:`count_quarter` found.

    Attributes:
        stats: one row per Play (index ``play_id``, Play DB order): the five counts and ``status``.
        rows_counted: actions that went into the counts.
        outside_quarter: usable actions of other quarters.
        future_rows: actions dated after ``now`` (not counted: the figures are quarter *to date*, ``now`` included).
        unknown_plays: actions of Plays that have no Play DB row, by Play id.
        other_types: actions of types that are not counted, by type.
    """

    stats: pd.DataFrame
    rows_counted: int
    outside_quarter: int
    future_rows: int
    unknown_plays: dict[str, int] = field(default_factory=dict)
    other_types: dict[str, int] = field(default_factory=dict)


def count_quarter(
    actions: pd.DataFrame, plays: Sequence[str], quarter: Quarter, now: datetime, settings: PlaySettings
) -> QuarterCounts:
    """Count each Play's actions of the quarter up to ``now`` and give each Play its status.

    Args:
        actions: rows with ``play_id``, ``action_type``, ``kind`` and ``created_at`` (UTC), as from
            :func:`~confluence_pipeline.plays.actionlog.parse_action_log`.
        plays: the Play ids, in Play DB order; Play ids in ``actions`` match them ignoring case.
        quarter: the quarter.
        now: the instant the figures are "to date" of.
        settings: time zone and RAG thresholds.

    Returns:
        The counts per Play and what was left out.
    """
    import pandas as pd  # imported when used: runs that never aggregate skip its seconds of import

    tz = settings.tz
    start, end = quarter.start(tz).astimezone(UTC), quarter.end(tz).astimezone(UTC)
    cutoff = min(end, now.astimezone(UTC))
    canonical = {p.casefold(): p for p in plays}
    frame = actions.assign(play=actions["play_id"].map(lambda p: canonical.get(str(p).strip().casefold())))
    in_quarter = (frame["created_at"] >= start) & (frame["created_at"] < end)
    future = in_quarter & (frame["created_at"] > cutoff)
    current = frame[in_quarter & ~future]
    unknown = current[current["play"].isna()]
    other = current[current["play"].notna() & current["kind"].isna()]
    counted = current[current["play"].notna() & current["kind"].notna()]
    table = pd.crosstab(counted["play"], counted["kind"]) if len(counted) else pd.DataFrame()
    stats = table.reindex(index=list(plays), columns=list(COUNTED_KINDS), fill_value=0).fillna(0).astype(int)
    stats.index.name = "play_id"
    stats["status"] = [rag_status(row, quarter, now, settings) for row in stats.to_dict("records")]
    return QuarterCounts(
        stats=stats,
        rows_counted=len(counted),
        outside_quarter=int((~in_quarter).sum()),
        future_rows=int(future.sum()),
        unknown_plays=dict(Counter(str(p) for p in unknown["play_id"])),
        other_types=dict(Counter(str(t) for t in other["action_type"])),
    )


def event_actions(events: Iterable[tuple[str, str, str, datetime]], log_ids: set[str]) -> pd.DataFrame:
    """Outbox events as action rows, leaving out those whose row the Action Log already holds (by log id)."""
    import pandas as pd  # imported when used: runs that never aggregate skip its seconds of import

    records = [
        {
            "log_id": event_id,
            "play_id": play_id,
            "action_type": event_type,
            "kind": EVENT_KINDS[event_type],
            "created_at": when,
        }
        for event_id, event_type, play_id, when in events
        if event_id not in log_ids and event_type in EVENT_KINDS
    ]
    frame = pd.DataFrame.from_records(records, columns=["log_id", "play_id", "action_type", "kind", "created_at"])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def effective_actions(
    conn: psycopg.Connection, log: ActionLog, *, up_to_seq: int | None = None
) -> tuple[pd.DataFrame, int]:
    """The Action Log's rows plus the outbox events it does not hold yet; returns the rows and the events' count.

    ``up_to_seq`` leaves out events that arrived after that one (an event's Play DB write shows the Play as of it).
    """
    import pandas as pd  # imported when used: runs that never aggregate skip its seconds of import

    extra = event_actions(store.counted_events(conn, list(EVENT_KINDS), up_to_seq=up_to_seq), log.log_ids)
    if not len(extra):
        return log.frame, 0
    columns = ["log_id", "play_id", "action_type", "kind", "created_at"]
    return pd.concat([log.frame[columns], extra], ignore_index=True), len(extra)


@dataclass(frozen=True, slots=True)
class LoadedPlays:
    """The stored Action Log and Play DB, parsed."""

    log: ActionLog
    plays: list[str]
    log_version: int
    play_db_version: int


def load_plays(conn: psycopg.Connection, settings: PlaySettings) -> LoadedPlays:
    """Read the Action Log and the Play ids from the pages the last sync stored.

    Raises:
        AggregationError: a page is not stored (its space was never synced) or has no usable table.
    """
    settings.validate(need=("play_db", "action_log"))
    log_page = _stored(conn, settings.action_log_page_id, "CONFLUENCE_ACTION_LOG_PAGE_ID", "Action Log")
    db_page = _stored(conn, settings.play_db_page_id, "CONFLUENCE_PLAY_DB_PAGE_ID", "Play DB")
    what_log = f"the Action Log page {log_page.page_id} ({log_page.title!r})"
    what_db = f"the Play DB page {db_page.page_id} ({db_page.title!r})"
    try:
        log = parse_action_log(log_page.body_storage, settings.tz, what=what_log)
        plays = play_ids(db_page.body_storage, what=what_db)
    except ValueError as exc:
        raise AggregationError(str(exc)) from None
    if not plays:
        raise AggregationError(f"{what_db} has no Play rows: add one row per Play under its header")
    return LoadedPlays(log, plays, log_page.version_number, db_page.version_number)


def _stored(conn: psycopg.Connection, page_id: str, setting: str, name: str) -> store.StoredPage:
    page = store.stored_page(conn, page_id)
    if page is None or page.status != "current":
        state = "is not stored" if page is None else f"is {page.status}"
        raise AggregationError(
            f"the {name} page {page_id} {state} in the database. The aggregation reads the synced copy: sync the "
            f"page's space first, or check {setting}."
        )
    return page


@dataclass
class AggregationResult:
    """One run of the aggregation, ready to report."""

    quarter: Quarter
    now: datetime
    as_of: date
    stats: pd.DataFrame
    rows_read: int
    rows_counted: int
    outside_quarter: int
    future_rows: int
    outbox_events: int
    blank_rows: list[int]
    problems: list[RowProblem]
    unknown_plays: dict[str, int]
    other_types: dict[str, int]
    stored_rows: int
    action_log_version: int = 0

    def status_counts(self) -> dict[str, int]:
        """Plays per status."""
        counts = self.stats["status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in STATUSES}

    def rows(self) -> list[store.StatRow]:
        """The figures as store rows."""
        return stat_rows(self.stats)

    def preview_markdown(self, limit: int = 60) -> str:
        """The figures as a Markdown table (the first ``limit`` Plays)."""
        table = self.stats.head(limit).reset_index()
        table.columns = ["Play", "Activity", "Signal", "Brief", "S2", "S3", "Status"]
        more = f"\n\n… and {len(self.stats) - limit} more Plays" if len(self.stats) > limit else ""
        return table.to_markdown(index=False) + more

    def metadata(self) -> dict[str, Any]:
        """Counts and the preview for ``MaterializeResult`` metadata (``preview`` is Markdown)."""
        return {
            "quarter": str(self.quarter),
            "as_of": self.as_of.isoformat(),
            "plays": len(self.stats),
            **{f"plays_{s.lower()}": n for s, n in self.status_counts().items()},
            "action_log_version": self.action_log_version,
            "action_log_rows": self.rows_read,
            "rows_counted": self.rows_counted,
            "rows_other_quarters": self.outside_quarter,
            "rows_future_dated": self.future_rows,
            "outbox_events_counted": self.outbox_events,
            "blank_rows": len(self.blank_rows),
            "blank_row_numbers": ", ".join(str(n) for n in self.blank_rows[:_MAX_LISTED]) or "none",
            "malformed_rows": len(self.problems),
            "malformed": "\n".join(str(p) for p in self.problems[:_MAX_LISTED]) or "none",
            "unknown_plays": ", ".join(f"{k} ({v})" for k, v in sorted(self.unknown_plays.items())) or "none",
            "other_action_types": ", ".join(f"{k} ({v})" for k, v in sorted(self.other_types.items())) or "none",
            "stored_rows": self.stored_rows,
            "preview": self.preview_markdown(),
        }


def stat_rows(stats: pd.DataFrame) -> list[store.StatRow]:
    """A stats frame (as from :func:`count_quarter`) as store rows."""
    return [
        store.StatRow(str(play), *(int(row[k]) for k in COUNTED_KINDS), str(row["status"]))
        for play, row in stats.iterrows()
    ]


def aggregate_quarter(
    conn: psycopg.Connection,
    settings: PlaySettings,
    quarter: Quarter | None,
    now: datetime,
    *,
    run_id: str | None = None,
    store_result: bool = True,
) -> AggregationResult:
    """Compute every Play's quarter-to-date figures and status, and store them as today's snapshot.

    Args:
        conn: the pipeline database (autocommit or not; the snapshot is written in one transaction).
        settings: page ids, time zone, thresholds.
        quarter: the quarter; the one holding ``now`` (in the team's time zone) when None.
        now: the instant the figures are "to date" of (aware).
        run_id: the triggering run, stored with the snapshot.
        store_result: False for a dry run: compute, store nothing.

    Returns:
        The figures and everything the report and the metadata need.

    Raises:
        AggregationError: a page is missing or unusable, or the quarter has not started.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    tz = settings.tz
    quarter = quarter or Quarter.of(now, tz)
    if quarter.start(tz) > now:
        raise AggregationError(f"quarter {quarter} has not started yet (now is {now.astimezone(tz):%Y-%m-%d %H:%M})")
    loaded = load_plays(conn, settings)
    actions, outbox_events = effective_actions(conn, loaded.log)
    counts = count_quarter(actions, loaded.plays, quarter, now, settings)
    as_of = min(now, quarter.end(tz)).astimezone(tz).date()
    stored = 0
    if store_result:
        with conn.transaction():
            stored = store.save_qtd_stats(
                conn, str(quarter), as_of, stat_rows(counts.stats), computed_at=now, run_id=run_id
            )
    return AggregationResult(
        quarter=quarter,
        now=now,
        as_of=as_of,
        stats=counts.stats,
        rows_read=loaded.log.rows_read,
        rows_counted=counts.rows_counted,
        outside_quarter=counts.outside_quarter,
        future_rows=counts.future_rows,
        outbox_events=outbox_events,
        blank_rows=loaded.log.blank_rows,
        problems=loaded.log.problems,
        unknown_plays=counts.unknown_plays,
        other_types=counts.other_types,
        stored_rows=stored,
        action_log_version=loaded.log_version,
    )


def play_counts(
    conn: psycopg.Connection, settings: PlaySettings, play_id: str, now: datetime, *, up_to_seq: int | None = None
) -> dict[str, Any]:
    """One Play's current-quarter figures and status, from the stored Action Log plus the outbox (for event writes).

    ``up_to_seq`` counts only the outbox events up to that one, so that the Play DB moves event by event, in order.

    Raises:
        AggregationError: the pages are not stored, or the Play has no Play DB row.
    """
    loaded = load_plays(conn, settings)
    matches = [p for p in loaded.plays if p.casefold() == play_id.casefold()]
    if not matches:
        raise AggregationError(f"Play {play_id!r} has no row in the Play DB page {settings.play_db_page_id}")
    actions, _ = effective_actions(conn, loaded.log, up_to_seq=up_to_seq)
    counts = count_quarter(actions, matches, Quarter.of(now, settings.tz), now, settings)
    row = counts.stats.iloc[0]
    return {**{k: int(row[k]) for k in COUNTED_KINDS}, "status": str(row["status"])}
