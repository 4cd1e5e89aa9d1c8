"""The event outbox: Play events stored in Postgres first, then written to Confluence in order, exactly once.

Routing (as the team defined it):

| Event | Writes |
|---|---|
| ``activity.created``, ``signal.created`` | an Action Log row + a Live doc append |
| ``signal.scored`` | a Live doc update (the signal's entry gets its score) |
| ``brief.created`` | an Action Log row + a Live doc append + a Play DB refresh (the Play's figures and status) |
| ``validation.completed`` | a Live doc append + the Play DB status |
| ``pilot.started`` | a Live doc append + the Play DB S3 figure |

Each write is a row of its own. :func:`drain_outbox` applies them in event order per target page: a write waits while
an earlier write to the same page is not synced, so pages see events in the order they happened, and one page that
cannot be written holds up no other. A write is tried ``outbox_attempts`` times with back-off; then it is ``failed``
and waits for a later tick (``outbox_requeue_s``, doubling). When Confluence is unreachable the tick stops at the
first such failure: the events stay queued and are all applied, in order, once it is back.

Exactly once: an Action Log row carries the event id as its ``log_id``, a Live doc entry carries it in a hidden
anchor, and every write reads the page first and skips an event the page holds already — also when Confluence took
a write and its response was lost. Play DB writes set figures computed from the Action Log and the outbox, never
increment them, so repeating one changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.errors import (
    ConfluenceConfigError,
    ConfluenceError,
    ConfluenceUnavailable,
)
from confluence_pipeline.plays import actionlog, livedoc
from confluence_pipeline.plays.aggregate import AggregationError, play_counts
from confluence_pipeline.plays.playdb import RowUpdate, plan_play_db, play_ids
from confluence_pipeline.plays.settings import PLAY_ID, PlaySettings, PlaySettingsError
from confluence_pipeline.plays.tables import PageStructureError, text
from confluence_pipeline.plays.writeback import Edit, PageConflictError, PageSnapshot, audit, edit_page
from confluence_pipeline.store import plays as store
from confluence_pipeline.store.plays import EventRecord, OpenWrite

log = logging.getLogger(__name__)

ROUTES: dict[str, tuple[str, ...]] = {
    "activity.created": ("action_log_row", "live_doc_append"),
    "signal.created": ("action_log_row", "live_doc_append"),
    "signal.scored": ("live_doc_update",),
    "brief.created": ("action_log_row", "live_doc_append", "play_db_refresh"),
    "validation.completed": ("live_doc_append", "play_db_status"),
    "pilot.started": ("live_doc_append", "play_db_s3"),
}
EVENT_TYPES = tuple(ROUTES)
LABELS = {
    "activity.created": "Activity",
    "signal.created": "Signal",
    "signal.scored": "Signal scored",
    "brief.created": "Brief",
    "validation.completed": "Validation completed",
    "pilot.started": "Pilot started",
}
EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
# Failures that another try in the same tick will not fix: wrong settings, a page without the needed table, a
# rejected request. They still get later ticks (someone may fix the page or the setting).
_PERMANENT = (PlaySettingsError, PageStructureError, AggregationError, ValueError)


class EventError(ValueError):
    """An event is malformed or unknown; the message says what to fix."""


@dataclass(frozen=True)
class PlayEvent:
    """Something that happened to a Play, to be written to its pages.

    Attributes:
        event_type: one of :data:`EVENT_TYPES`.
        play_id: the Play (e.g. ``EXT_Desk_D01``).
        title: what happened, in a few words.
        url: a link to the thing (CRM record, document).
        actor: who did it.
        occurred_at: when (default: when it is enqueued).
        payload: extra fields: ``signal.scored`` needs ``score`` and may name the scored ``signal`` (its event id).
        event_id: the event's id; by default derived from its content, so adding the same event twice is a no-op.
    """

    event_type: str
    play_id: str
    title: str
    url: str | None = None
    actor: str | None = None
    occurred_at: datetime | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    event_id: str | None = None

    def derived_id(self) -> str:
        """An id from the event's content (type, Play, title, link, actor, payload)."""
        content = [self.event_type, self.play_id, self.title, self.url or "", self.actor or "", dict(self.payload)]
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        return f"{self.event_type.split('.')[0]}-{digest[:16]}"

    def validated(self, now: datetime) -> PlayEvent:
        """The event with its id and time filled in, after checking every field.

        Raises:
            EventError: naming the field and what is expected.
        """
        if self.event_type not in ROUTES:
            raise EventError(f"unknown event type {self.event_type!r}: use one of {', '.join(EVENT_TYPES)}")
        if not PLAY_ID.match(self.play_id or ""):
            raise EventError(f"play id {self.play_id!r} is not a Play id (letters, digits, _ . -), e.g. EXT_Desk_D01")
        if not (self.title or "").strip():
            raise EventError("the event needs a title (--title)")
        if len(self.title) > 500:
            raise EventError("the title is longer than 500 characters")
        if self.url and not re.match(r"^https?://\S+$", self.url):
            raise EventError(f"url {self.url!r} is not an http(s) URL")
        if self.occurred_at is not None and self.occurred_at.tzinfo is None:
            raise EventError("occurred_at needs a time zone (an aware datetime)")
        payload = dict(self.payload)
        if self.event_type == "signal.scored":
            score = payload.get("score")
            if isinstance(score, bool) or not isinstance(score, int | float):
                raise EventError("signal.scored needs a numeric score (--score 0.8)")
            ref = payload.get("signal")
            if ref is not None and not EVENT_ID.match(str(ref)):
                raise EventError(f"signal {ref!r} is not an event id")
        event_id = self.event_id or self.derived_id()
        if not EVENT_ID.match(event_id):
            raise EventError(f"event id {event_id!r} must be letters, digits and _ . : - (at most 128)")
        return replace(
            self,
            title=self.title.strip(),
            event_id=event_id,
            occurred_at=(self.occurred_at or now).astimezone(UTC),
            payload=payload,
        )


def check_play(conn: psycopg.Connection, settings: PlaySettings, play_id: str) -> None:
    """Check that a Play is known before an event of it is queued (every route writes its Live doc).

    Known means: the Play has a Live doc in ``CONFLUENCE_PLAY_LIVE_DOCS`` and, when the Play DB page is stored, a row
    there.

    Raises:
        EventError: naming what is missing and where to add it.
    """
    try:
        settings.live_doc_page_id(play_id)
    except PlaySettingsError as exc:
        raise EventError(f"unknown Play {play_id!r}: {exc}") from None
    stored = store.stored_page(conn, settings.play_db_page_id) if settings.play_db_page_id else None
    if stored is None or stored.status != "current":
        return
    plays = play_ids(stored.body_storage, what=f"the Play DB page {stored.page_id}")
    if play_id.casefold() not in {p.casefold() for p in plays}:
        raise EventError(
            f"unknown Play {play_id!r}: the Play DB page {stored.page_id} has no row for it (as last synced; its Plays "
            f"are e.g. {', '.join(plays[:3])}). Add the Play's row, or check the id."
        )


def page_key(target: str, play_id: str) -> str:
    """The target page of a write, as a key: writes with one key are applied in event order."""
    if target == "action_log_row":
        return "action_log"
    if target.startswith("live_doc"):
        return f"live_doc:{play_id.casefold()}"
    return "play_db"


def enqueue_event(conn: psycopg.Connection, event: PlayEvent, *, now: datetime | None = None) -> bool:
    """Put an event into the outbox (durably) with the page writes it routes to.

    Args:
        conn: the pipeline database.
        event: the event.
        now: the time used when the event has none (default: the current time).

    Returns:
        True when added, False when an event with this id was there already (nothing changes).

    Raises:
        EventError: the event is malformed.
    """
    event = event.validated(now or datetime.now(UTC))
    assert event.event_id is not None and event.occurred_at is not None
    writes = [(target, page_key(target, event.play_id)) for target in ROUTES[event.event_type]]
    return store.insert_event(
        conn,
        event_id=event.event_id,
        event_type=event.event_type,
        play_id=event.play_id,
        title=event.title,
        url=event.url,
        actor=event.actor,
        payload=dict(event.payload),
        occurred_at=event.occurred_at,
        writes=writes,
    )


# --- applying one write ----------------------------------------------------------------------------------------------


def _action_row(write: OpenWrite, settings: PlaySettings) -> dict[str, str]:
    return {
        "log_id": write.event_id,
        "play_id": write.play_id,
        "action_type": LABELS[write.event_type],
        "title": write.title,
        "url": write.url or "",
        "actor": write.actor or "",
        "created_at": f"{write.occurred_at.astimezone(settings.tz):%Y-%m-%d %H:%M}",
    }


def _entry(write: OpenWrite, settings: PlaySettings, extra: str | None = None) -> str:
    return livedoc.entry_markup(
        write.event_id,
        LABELS[write.event_type],
        write.title,
        when=write.occurred_at,
        tz=settings.tz,
        url=write.url,
        actor=write.actor,
        extra=extra,
    )


def _play_db_update(
    conn: psycopg.Connection, write: OpenWrite, settings: PlaySettings, now: datetime
) -> dict[str, RowUpdate]:
    counts = play_counts(conn, settings, write.play_id, now, up_to_seq=write.event_seq)
    if write.target == "play_db_refresh":
        update = RowUpdate(figures={k: v for k, v in counts.items() if k != "status"}, status=counts["status"])
    elif write.target == "play_db_status":
        update = RowUpdate(status=counts["status"])
    else:
        update = RowUpdate(figures={"s3": counts["s3"]})
    return {write.play_id: update}


def _target(
    conn: psycopg.Connection, write: OpenWrite, settings: PlaySettings, now: datetime
) -> tuple[str, Callable[[PageSnapshot], Edit]]:
    """The page a write goes to and the transform that applies it (a no-op when the page holds it already)."""
    what = f"{write.target} of event {write.event_id}"
    if write.target == "action_log_row":
        values = _action_row(write, settings)

        def transform(page: PageSnapshot) -> Edit:
            new = actionlog.append_row(page.storage, values, what=f"the Action Log page {page.page_id}")
            return Edit(new, [values])

        return settings.action_log_page_id, transform
    if write.target in ("live_doc_append", "live_doc_update"):
        page_id = settings.live_doc_page_id(write.play_id)
        if write.target == "live_doc_append":
            entry = _entry(write, settings)

            def transform(page: PageSnapshot) -> Edit:
                new = livedoc.append_entry(page.storage, write.event_id, entry, what=f"the Live doc {page.page_id}")
                return Edit(new, [{"entry": write.event_id}])

            return page_id, transform
        score = write.payload.get("score")
        addition = f" · score {text(str(score))}{livedoc.anchor_markup(write.event_id)}"
        fallback = _entry(write, settings, extra=f"score {score}")
        signal = str(write.payload.get("signal") or "")

        def transform(page: PageSnapshot) -> Edit:
            new = livedoc.update_entry(
                page.storage, write.event_id, signal, addition, fallback, what=f"the Live doc {page.page_id}"
            )
            return Edit(new, [{"update": write.event_id, "of": signal, "score": score}])

        return page_id, transform
    updates = _play_db_update(conn, write, settings, now)
    today = now.astimezone(settings.tz).date()

    def transform(page: PageSnapshot) -> Edit:
        plan = plan_play_db(page.storage, updates, today, what=f"the Play DB page {page.page_id} ({what})")
        if plan.missing_plays:
            raise PageStructureError(f"the Play DB page {page.page_id} has no row for Play {write.play_id!r}")
        return Edit(plan.storage if plan.changed else None, [c.as_dict() for c in plan.changes])

    return settings.play_db_page_id, transform


def _apply(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    write: OpenWrite,
    settings: PlaySettings,
    now: datetime,
    *,
    retried: bool,
) -> tuple[str, int]:
    page_id, transform = _target(conn, write, settings, now)
    result = edit_page(
        client,
        page_id,
        transform,
        message=f"{write.event_type} {write.event_id}",
        conflict_retries=settings.conflict_retries,
        max_retries=settings.request_retries,
    )
    if result.outcome == "unchanged" and retried:
        # An earlier try may have been applied with its response lost: the page holding the event is that write.
        result = replace(result, outcome="already_applied")
    changes = result.sent_detail or result.detail
    audit(conn, result, kind=write.target, source=write.event_id, changes=changes or [])
    return result.outcome, result.version_after


# --- draining --------------------------------------------------------------------------------------------------------


@dataclass
class DrainResult:
    """What one drain tick did.

    Attributes:
        written: writes that made a new page version.
        already_applied: writes whose page held the event already (e.g. after a lost response, or set figures equal).
        failed: writes that failed their tries this tick (they wait for a later tick).
        waiting: writes not tried: behind an unsynced write to the same page, or not due yet.
        events_synced: events that became fully synced this tick.
        stopped: why the tick stopped early (Confluence unreachable), or None.
        errors: the errors of this tick, one line per failed write.
    """

    written: int = 0
    already_applied: int = 0
    failed: int = 0
    waiting: int = 0
    events_synced: list[str] = field(default_factory=list)
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        """Counts for Dagster metadata (sensor/run)."""
        return {
            "writes_applied": self.written,
            "writes_already_applied": self.already_applied,
            "writes_failed": self.failed,
            "writes_waiting": self.waiting,
            "events_synced": len(self.events_synced),
            "stopped": self.stopped or "no",
            "errors": "\n".join(self.errors[:20]) or "none",
        }


def _requeue_delay(settings: PlaySettings, attempts_before: int) -> float:
    rounds = attempts_before // max(1, settings.outbox_attempts)
    return min(settings.outbox_requeue_max_s, settings.outbox_requeue_s * 2**rounds)


def _try_write(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    write: OpenWrite,
    settings: PlaySettings,
    now: datetime,
    sleep: Callable[[float], None],
) -> tuple[tuple[str, int] | None, int, Exception | None]:
    """Up to ``outbox_attempts`` tries with back-off; returns (outcome and version, tries made, last error)."""
    error: Exception | None = None
    for attempt in range(settings.outbox_attempts):
        if attempt:
            sleep(settings.outbox_backoff_s * 2 ** (attempt - 1))
        try:
            retried = bool(attempt or write.attempts)
            return _apply(conn, client, write, settings, now, retried=retried), attempt + 1, None
        except (ConfluenceError, *_PERMANENT) as exc:
            error = exc
            log.warning("outbox: %s of %s failed (try %d): %s", write.target, write.event_id, attempt + 1, exc)
            if isinstance(exc, _PERMANENT) or (
                isinstance(exc, ConfluenceError) and not isinstance(exc, ConfluenceUnavailable | PageConflictError)
            ):
                return None, attempt + 1, exc
    return None, settings.outbox_attempts, error


def drain_outbox(
    conn: psycopg.Connection,
    client: ConfluenceClient,
    settings: PlaySettings,
    limit: int = 100,
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> DrainResult:
    """Apply queued writes to Confluence, in event order per target page.

    Args:
        conn: the pipeline database (autocommit: each write's state is committed as soon as it is known).
        client: the Confluence client.
        settings: page ids, Live docs, retry settings.
        limit: the most writes to try in this tick.
        now: the current time (for tests).
        sleep: how to wait between tries (for tests).
        deadline: a ``time.monotonic()`` value after which no further write is started (a sensor tick has a
            timeout); the rest wait for the next drain.

    Returns:
        What the tick did.
    """
    settings.validate(need=("play_db", "action_log"))
    now = now or datetime.now(UTC)
    result = DrainResult()
    blocked: set[str] = set()
    tried = 0
    touched: set[int] = set()
    for write in store.open_writes(conn):
        out_of_time = deadline is not None and time.monotonic() >= deadline
        if write.page_key in blocked or tried >= limit or result.stopped or out_of_time:
            result.waiting += 1
            continue
        if write.next_attempt_at is not None and write.next_attempt_at > now:
            blocked.add(write.page_key)
            result.waiting += 1
            continue
        tried += 1
        touched.add(write.event_seq)
        outcome, tries, error = _try_write(conn, client, write, settings, now, sleep)
        if outcome is not None:
            kind, version = outcome
            page_id = _page_id(write, settings)
            store.mark_write_synced(
                conn, write.event_seq, write.step, attempts=tries, page_id=page_id, version_after=version
            )
            if kind == "written":
                result.written += 1
            else:
                result.already_applied += 1
            continue
        message = _describe(error)
        delay = _requeue_delay(settings, write.attempts + tries)
        store.mark_write_failed(
            conn,
            write.event_seq,
            write.step,
            attempts=tries,
            error=message,
            next_attempt_at=now + timedelta(seconds=delay),
        )
        result.failed += 1
        result.errors.append(f"{write.event_id} {write.target}: {message}")
        blocked.add(write.page_key)
        if isinstance(error, ConfluenceUnavailable | ConfluenceConfigError):
            # The site is down or unreachable: every other write would fail the same way. Try again next tick.
            result.stopped = f"Confluence unavailable: {message}"
    for seq in touched:
        record = conn.execute("SELECT event_id, status FROM play_events WHERE seq = %s", (seq,)).fetchone()
        if record and record[1] == "synced":
            result.events_synced.append(record[0])
    return result


def _page_id(write: OpenWrite, settings: PlaySettings) -> str:
    if write.page_key == "action_log":
        return settings.action_log_page_id
    if write.page_key == "play_db":
        return settings.play_db_page_id
    return settings.live_doc_page_id(write.play_id)


def _describe(error: Exception | None) -> str:
    if error is None:
        return "unknown error"
    return f"{type(error).__name__}: {error}"[:1000]


# --- status ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxStatus:
    """The outbox at a glance: counts per status, the oldest event not synced, the newest error still open."""

    pending: int
    failed: int
    synced: int
    oldest_unsynced: EventRecord | None
    last_error: tuple[str, str, datetime] | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        oldest = self.oldest_unsynced
        return {
            "pending": self.pending,
            "failed": self.failed,
            "synced": self.synced,
            "oldest_unsynced": None
            if oldest is None
            else {
                "event_id": oldest.event_id,
                "type": oldest.event_type,
                "play_id": oldest.play_id,
                "status": oldest.status,
                "created_at": oldest.created_at.isoformat(),
            },
            "last_error": None
            if self.last_error is None
            else {"event_id": self.last_error[0], "error": self.last_error[1], "at": self.last_error[2].isoformat()},
        }

    def lines(self, now: datetime | None = None) -> list[str]:
        """Human-readable lines (for ``events status``)."""
        now = now or datetime.now(UTC)
        out = [f"pending: {self.pending}", f"failed:  {self.failed}", f"synced:  {self.synced}"]
        oldest = self.oldest_unsynced
        if oldest is not None:
            age = now - oldest.created_at
            out.append(
                f"oldest not synced: {oldest.event_id} ({oldest.event_type}, {oldest.play_id}, {oldest.status}), "
                f"queued {age.total_seconds() / 60:.0f} min ago"
            )
        else:
            out.append("oldest not synced: none")
        if self.last_error is not None:
            event_id, error, when = self.last_error
            out.append(f"last error: {event_id} at {when:%Y-%m-%d %H:%M:%S %Z}: {error}")
        else:
            out.append("last error: none")
        return out


def outbox_status(conn: psycopg.Connection) -> OutboxStatus:
    """Counts per status, the oldest event not synced yet, and the newest error of a write still not synced."""
    counts = store.event_counts(conn)
    return OutboxStatus(
        counts["pending"], counts["failed"], counts["synced"], store.oldest_unsynced(conn), store.last_error(conn)
    )


def retry_event(conn: psycopg.Connection, event_id: str) -> int:
    """Make a failed event's writes due now (the next drain tries them); returns how many writes.

    Raises:
        EventError: no event has this id.
    """
    count = store.retry_event(conn, event_id)
    if count is None:
        raise EventError(f"no event with id {event_id!r} in the outbox (see `events list`)")
    return count


def list_events(conn: psycopg.Connection, *, status: str | None = None, limit: int = 100) -> list[EventRecord]:
    """Events, oldest first; ``status`` is ``pending``, ``failed`` or ``synced``.

    Raises:
        EventError: an unknown status.
    """
    if status is not None and status not in ("pending", "failed", "synced"):
        raise EventError(f"status must be pending, failed or synced, not {status!r}")
    return store.list_events(conn, status, limit)
