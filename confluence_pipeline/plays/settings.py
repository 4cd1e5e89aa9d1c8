"""Settings of Play tracking: which pages, which time zone, the RAG thresholds, and how patient writes are.

Plain and frozen: the Dagster resources (``defs/resources.py``) build a :class:`PlaySettings` from their fields; nothing
here reads the environment. The names of the environment variables are given in messages so that an operator knows
what to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PAGE_ID = re.compile(r"^\d{1,20}$")
PLAY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


class PlaySettingsError(ValueError):
    """A Play tracking setting is missing or malformed; the message names the variable to fix."""


@dataclass(frozen=True)
class RagThresholds:
    """When a Play is Green, Amber or Red, from its quarter-to-date counts (reasoning in the README).

    The targets are per quarter and are pro-rated by how much of the quarter has passed, so week 3 is judged
    against three weeks' worth of work, not against the whole quarter.

    Attributes:
        activity_target: activities a Play on pace logs in a full quarter (about one every two weeks).
        signal_target: signals a Play on pace finds in a full quarter.
        red_below: a Play is Red when its activity is below this share of the pro-rated activity target.
        grace_days: no Play is Red during the first days of a quarter: the pro-rated targets are too small to judge.
    """

    activity_target: int = 6
    signal_target: int = 2
    red_below: float = 0.5
    grace_days: int = 14

    def validate(self) -> None:
        """Check the thresholds make sense.

        Raises:
            PlaySettingsError: naming the setting to fix.
        """
        if self.activity_target < 1 or self.signal_target < 0:
            raise PlaySettingsError(
                "PLAY_RAG_ACTIVITY_TARGET must be at least 1 and PLAY_RAG_SIGNAL_TARGET at least 0 "
                f"(got {self.activity_target} and {self.signal_target})"
            )
        if not 0 < self.red_below <= 1:
            raise PlaySettingsError(f"PLAY_RAG_RED_BELOW must be in (0, 1], not {self.red_below}")
        if not 0 <= self.grace_days <= 92:
            raise PlaySettingsError(f"PLAY_RAG_GRACE_DAYS must be between 0 and 92, not {self.grace_days}")


@dataclass(frozen=True)
class PlaySettings:
    """Everything Play tracking needs to know.

    Attributes:
        todo_page_id: Project TODO (``CONFLUENCE_TODO_PAGE_ID``): parent of the Plays' ToDo Lists.
        play_db_page_id: the Play DB (``CONFLUENCE_PLAY_DB_PAGE_ID``): one table row per Play.
        action_log_page_id: the Action Log (``CONFLUENCE_ACTION_LOG_PAGE_ID``): one table row per action.
        live_docs: Play id → page id of its Live doc (``CONFLUENCE_PLAY_LIVE_DOCS``, a JSON object).
        timezone: the team's time zone: quarters start at midnight there, and dates without an offset are read in it.
        rag: the RAG thresholds.
        conflict_retries: how often a page write re-reads and re-applies after a 409 before it gives up.
        outbox_attempts: tries per drain tick of an outbox write before it waits for a later tick.
        outbox_backoff_s: wait after the first failed try within a tick; doubles per try.
        outbox_requeue_s: how long a write that failed its tries waits before a later tick may try it; doubles per
            round of failures, up to ``outbox_requeue_max_s``.
        outbox_requeue_max_s: the longest wait between rounds.
        request_retries: HTTP retries (429/5xx/network) of one try; the outbox's own tries come on top.
    """

    todo_page_id: str = ""
    play_db_page_id: str = ""
    action_log_page_id: str = ""
    live_docs: Mapping[str, str] = field(default_factory=dict)
    timezone: str = "Asia/Seoul"
    rag: RagThresholds = field(default_factory=RagThresholds)
    conflict_retries: int = 3
    outbox_attempts: int = 3
    outbox_backoff_s: float = 1.0
    outbox_requeue_s: float = 60.0
    outbox_requeue_max_s: float = 900.0
    request_retries: int = 1

    def __post_init__(self) -> None:
        # Our own copy with string ids (JSON may give numbers), so that the caller's dict cannot change it later.
        object.__setattr__(self, "live_docs", {str(k): str(v) for k, v in self.live_docs.items()})

    @property
    def tz(self) -> ZoneInfo:
        """The time zone as a ZoneInfo."""
        return ZoneInfo(self.timezone)

    def live_doc_page_id(self, play_id: str) -> str:
        """The Live doc page of a Play.

        Raises:
            PlaySettingsError: the Play has no Live doc in ``CONFLUENCE_PLAY_LIVE_DOCS``.
        """
        for key, value in self.live_docs.items():
            if key.casefold() == play_id.casefold():
                return value
        raise PlaySettingsError(
            f"Play {play_id!r} has no Live doc: add it to CONFLUENCE_PLAY_LIVE_DOCS "
            f'(a JSON object such as {{"{play_id}": "<page id>"}})'
        )

    def validate(self, *, need: tuple[str, ...] = ("play_db", "action_log")) -> None:
        """Check the settings before any request is made.

        Args:
            need: which pages the caller will use: ``play_db``, ``action_log``, ``todo``.

        Raises:
            PlaySettingsError: naming the variable to fix.
        """
        names = {
            "play_db": ("CONFLUENCE_PLAY_DB_PAGE_ID", self.play_db_page_id),
            "action_log": ("CONFLUENCE_ACTION_LOG_PAGE_ID", self.action_log_page_id),
            "todo": ("CONFLUENCE_TODO_PAGE_ID", self.todo_page_id),
        }
        for key in need:
            env, value = names[key]
            if not value:
                raise PlaySettingsError(f"{env} is not set: give the page id of the page (the number in its URL)")
            if not PAGE_ID.match(value):
                raise PlaySettingsError(f"{env}={value!r} is not a page id: use the number from the page's URL")
        for play, page in self.live_docs.items():
            if not PLAY_ID.match(play) or not PAGE_ID.match(page):
                raise PlaySettingsError(
                    f"CONFLUENCE_PLAY_LIVE_DOCS maps {play!r} to {page!r}: keys must be Play ids (letters, digits, "
                    "_ . -) and values page ids (digits)"
                )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PlaySettingsError(
                f"PLAY_TIMEZONE={self.timezone!r} is not an IANA time zone (e.g. Asia/Seoul, Europe/Berlin, UTC)"
            ) from None
        self.rag.validate()
        if self.conflict_retries < 0 or self.outbox_attempts < 1 or self.request_retries < 0:
            raise PlaySettingsError(
                "PLAY_CONFLICT_RETRIES and PLAY_REQUEST_RETRIES must be at least 0, PLAY_OUTBOX_ATTEMPTS at least 1"
            )
        if min(self.outbox_backoff_s, self.outbox_requeue_s, self.outbox_requeue_max_s) < 0:
            raise PlaySettingsError("PLAY_OUTBOX_BACKOFF_S and PLAY_OUTBOX_REQUEUE_S must not be negative")


def parse_live_docs(text: str | None) -> dict[str, str]:
    """Parse ``CONFLUENCE_PLAY_LIVE_DOCS``: a JSON object from Play id to page id.

    Args:
        text: the variable's value; empty or None gives an empty map.

    Returns:
        Play id → page id (as strings).

    Raises:
        PlaySettingsError: the value is not such an object.
    """
    if not text or not text.strip():
        return {}
    example = '{"EXT_Desk_D01": "819201", "EXT_Desk_D02": "819202"}'
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PlaySettingsError(f"CONFLUENCE_PLAY_LIVE_DOCS is not valid JSON ({exc}); write e.g. {example}") from None
    if not isinstance(data, dict):
        raise PlaySettingsError(f"CONFLUENCE_PLAY_LIVE_DOCS must be a JSON object, e.g. {example}")
    out: dict[str, str] = {}
    for play, page in data.items():
        if isinstance(page, bool) or not isinstance(page, str | int):
            raise PlaySettingsError(f"CONFLUENCE_PLAY_LIVE_DOCS: the page id of {play!r} must be a string or number")
        out[str(play)] = str(page)
    return out
