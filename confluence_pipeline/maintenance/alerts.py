"""Alerts: what a finished run deserves an alert for, the Slack-compatible message, and posting it.

Plain Python, no Dagster: the sensors in ``defs/maintenance/alerts.py`` gather a run's facts (:class:`RunFacts`) from
the instance and hand them here. A run earns an alert when it failed, when its space's sync took longer than
``ALERT_SLOW_SYNC_MINUTES``, or when more than ``ALERT_FAILED_PAGES_PERCENT`` of the pages it handled failed.

The message is Slack's incoming-webhook JSON (``{"text": ..., "blocks": [...]}``): ``text`` is the whole alert in one
line (Slack uses it for notifications; Mattermost, Rocket.Chat and Teams' Slack-compatible hooks show it), the blocks
lay the same facts out. Every text is scrubbed of secrets before it is built: the configured tokens and keys, any
password in a URL, any key- or bearer-shaped string. The webhook URL itself is a secret (Slack's carry a token): it
appears in no message, log or exception.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt

from confluence_pipeline.lib.redact import redact_url, scrub_secrets
from confluence_pipeline.lib.retry import parse_retry_after, wait_hint_or_backoff

log = logging.getLogger(__name__)

__all__ = [
    "Alert",
    "AlertError",
    "AlertSettings",
    "RunFacts",
    "post_alert",
    "run_alerts",
    "slack_payload",
]

# Slack's limits: header text 150 characters, section text 3,000, at most 10 fields of 2,000.
_HEADER_MAX = 150
_SECTION_MAX = 2900
_FIELD_MAX = 1900
_FIELDS_MAX = 10
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go and what earns one (``MonitoringResource`` builds this from its fields).

    Attributes:
        webhook_url: Slack-compatible incoming webhook (``ALERT_WEBHOOK_URL``); None turns alerts off.
        ui_url: base URL of the Dagster UI (``ALERT_UI_URL``), for a link to the run.
        slow_sync_minutes: a space's sync that runs longer than this is reported (``ALERT_SLOW_SYNC_MINUTES``).
        failed_pages_percent: a run in which more than this share of the pages it handled failed is reported
            (``ALERT_FAILED_PAGES_PERCENT``).
        timeout_s: timeout of one post (``ALERT_TIMEOUT_S``). Posts happen inside a sensor tick, which Dagster
            stops after 60 s: with the defaults, one alert takes at most 4 × 5 s, plus at most 3 × 8 s between
            attempts (a longer ``Retry-After`` is cut to 8 s).
        max_retries: retries of a post after a network error, a 429 or a 5xx (``ALERT_MAX_RETRIES``).
    """

    webhook_url: str | None = field(default=None, repr=False)
    ui_url: str | None = None
    slow_sync_minutes: float = 15.0
    failed_pages_percent: float = 10.0
    timeout_s: float = 5.0
    max_retries: int = 3

    def validate(self) -> None:
        """Check the settings before they are used.

        Raises:
            ValueError: a value is malformed or out of range; the message names the variable (never the webhook's
                value, which is a secret).
        """
        if self.webhook_url is not None:
            parts = urlsplit(self.webhook_url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ValueError(
                    "ALERT_WEBHOOK_URL is not an http(s) URL; set it to the incoming-webhook URL your chat tool gave "
                    "(e.g. https://hooks.slack.com/services/…), or unset it to turn alerts off"
                )
        if self.ui_url is not None and urlsplit(self.ui_url).scheme not in {"http", "https"}:
            raise ValueError(f"ALERT_UI_URL={self.ui_url!r} is not an http(s) URL, e.g. https://dagster.acme.com")
        for name, value in (("ALERT_SLOW_SYNC_MINUTES", self.slow_sync_minutes),
                            ("ALERT_TIMEOUT_S", self.timeout_s)):  # fmt: skip
            if value <= 0:
                raise ValueError(f"{name}={value} must be greater than 0")
        if not 0 <= self.failed_pages_percent < 100:
            raise ValueError(f"ALERT_FAILED_PAGES_PERCENT={self.failed_pages_percent} must be at least 0 and below 100")
        if self.max_retries < 0:
            raise ValueError(f"ALERT_MAX_RETRIES={self.max_retries} must be 0 or more")

    def run_url(self, run_id: str) -> str | None:
        """The run's page in the Dagster UI, when ``ui_url`` is set."""
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}" if self.ui_url else None


@dataclass(frozen=True)
class RunFacts:
    """What the alerting needs to know about one finished run, read from the Dagster instance.

    Attributes:
        run_id: the run.
        job_name: its job.
        space: the space key (the run's partition), when the run was for one space.
        succeeded: whether the run succeeded.
        seconds: how long the run took, start to end; None when unknown.
        step_seconds: how long each step took, by step key.
        pages_listed: pages the sync listed (``listed`` of ``confluence_pages``), when the step reported it.
        pages_fetched: pages the sync fetched (``fetched``).
        pages_failed: pages that failed after their retries (``pages_failed``).
        failed_page_ids: up to 20 of their ids.
        errors: the failed steps' messages, ``step: message``.
    """

    run_id: str
    job_name: str
    space: str | None = None
    succeeded: bool = True
    seconds: float | None = None
    step_seconds: Mapping[str, float] = field(default_factory=dict)
    pages_listed: int | None = None
    pages_fetched: int | None = None
    pages_failed: int | None = None
    failed_page_ids: str = ""
    errors: Sequence[str] = ()

    @property
    def pages_handled(self) -> int:
        """Pages the run dealt with: those listed, or, when a retry of earlier failures was more, those attempted."""
        attempted = (self.pages_fetched or 0) + (self.pages_failed or 0)
        return max(self.pages_listed or 0, attempted)


@dataclass(frozen=True)
class Alert:
    """One alert, before it is rendered for the webhook.

    Attributes:
        kind: ``run_failed``, ``slow_sync`` or ``pages_failed``.
        title: one line naming what happened and where.
        summary: what happened, in a sentence or two.
        action: what to do about it.
        run_id: the run.
        job_name: its job.
        space: the space key, when the run was for one space.
        run_url: the run's page in the Dagster UI, when a base URL is configured.
        details: further facts as (label, value) pairs.
    """

    kind: str
    title: str
    summary: str
    action: str
    run_id: str
    job_name: str
    space: str | None = None
    run_url: str | None = None
    details: tuple[tuple[str, str], ...] = ()


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


def _steps(facts: RunFacts) -> str:
    slowest = sorted(facts.step_seconds.items(), key=lambda item: -item[1])[:5]
    return ", ".join(f"{step} {_minutes(seconds)}" for step, seconds in slowest)


def _where(facts: RunFacts) -> str:
    return f"space {facts.space}" if facts.space else f"job {facts.job_name}"


def _rerun(facts: RunFacts) -> str:
    if facts.space and facts.job_name == "confluence_ingest":
        return f"`confluence-pipeline materialize --space {facts.space}`, or re-execute the run from the Dagster UI"
    return "re-execute the run from the Dagster UI"


def run_alerts(facts: RunFacts, settings: AlertSettings) -> list[Alert]:
    """The alerts a finished run earns: failed, slow, or too many failed pages (none for a healthy run).

    A failed run gets one alert, which also says when it was slow or lost pages; a successful run gets one alert
    for each threshold it crossed.

    Args:
        facts: the run.
        settings: the thresholds and the UI's base URL.

    Returns:
        The alerts, possibly none.
    """
    common = {"run_id": facts.run_id, "job_name": facts.job_name, "space": facts.space,
              "run_url": settings.run_url(facts.run_id)}  # fmt: skip
    details: list[tuple[str, str]] = []
    if facts.seconds is not None:
        details.append(("Duration", _minutes(facts.seconds)))
    if facts.step_seconds:
        details.append(("Slowest steps", _steps(facts)))
    handled = facts.pages_handled
    if facts.pages_failed:
        details.append(("Failed pages", f"{facts.pages_failed} of {handled}: {facts.failed_page_ids or '-'}"))

    slow = facts.seconds is not None and facts.seconds > settings.slow_sync_minutes * 60
    share = 100.0 * facts.pages_failed / handled if facts.pages_failed and handled else 0.0
    too_many_failed = share > settings.failed_pages_percent

    if not facts.succeeded:
        errors = "\n".join(f"• {error}" for error in facts.errors[:5]) or "(no step reported an error)"
        return [
            Alert(
                kind="run_failed",
                title=f"{facts.job_name} failed for {_where(facts)}",
                summary=f"Run {facts.run_id} failed.\n{errors}",
                action=(
                    "Read the error above and the run's logs. A wrong or expired token, a URL or a missing "
                    "permission needs a fix in the settings (CONFLUENCE_*, OPENAI_*, DATABASE_URL); a timeout or a "
                    "rate limit usually passes. Then re-run: " + _rerun(facts) + "."
                ),
                details=tuple(details),
                **common,
            )
        ]
    alerts: list[Alert] = []
    if slow:
        alerts.append(
            Alert(
                kind="slow_sync",
                title=f"Slow sync of {_where(facts)}: {_minutes(facts.seconds or 0)}",
                summary=(
                    f"Run {facts.run_id} took {_minutes(facts.seconds or 0)}, more than the "
                    f"{settings.slow_sync_minutes:g} min allowed (ALERT_SLOW_SYNC_MINUTES)."
                ),
                action=(
                    "Look at the slowest step: confluence_pages waiting on Confluence means throttling (see its "
                    "confluence_throttled / confluence_retries metadata; lower the confluence_api pool or "
                    "CONFLUENCE_RATE_LIMIT_RPS across runs), chunk_embeddings means the embedding provider. A first "
                    "sync of a big space is expected to be slow: raise ALERT_SLOW_SYNC_MINUTES if this is normal."
                ),
                details=tuple(details),
                **common,
            )
        )
    if too_many_failed:
        alerts.append(
            Alert(
                kind="pages_failed",
                title=f"{facts.pages_failed} page(s) failed in {_where(facts)} ({share:.0f}%)",
                summary=(
                    f"Run {facts.run_id} could not store {facts.pages_failed} of the {handled} page(s) it handled, "
                    f"more than the {settings.failed_pages_percent:g}% allowed (ALERT_FAILED_PAGES_PERCENT)."
                ),
                action=(
                    "Failed pages are retried by every later run. If they keep failing, read the warning in the "
                    "confluence_pages step's log and `confluence-pipeline status"
                    + (f" --space {facts.space}" if facts.space else "")
                    + "`: pages the token's user may not read, or bodies Confluence cannot render, need a fix there."
                ),
                details=tuple(details),
                **common,
            )
        )
    return alerts


def _escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(alert: Alert, secrets: Iterable[str | None] = ()) -> dict[str, Any]:
    """Render an alert as Slack incoming-webhook JSON, with every secret removed.

    Args:
        alert: the alert.
        secrets: exact secret values to mask wherever they appear (tokens, keys, the webhook URL).

    Returns:
        ``{"text": ..., "blocks": [...]}``: ``text`` alone carries the space, the run, what happened and what to do.
    """
    known = [s for s in secrets if s]

    def clean(text: str) -> str:
        return scrub_secrets(redact_url(text), known)

    title, summary, action = clean(alert.title), clean(alert.summary), clean(alert.action)
    details = [(label, clean(value)) for label, value in alert.details]
    run = f"<{alert.run_url}|{alert.run_id}>" if alert.run_url else f"`{alert.run_id}`"
    fields = [f"*Space*\n{_escape(alert.space)}" if alert.space else None, f"*Run*\n{run}",
              f"*Job*\n{_escape(alert.job_name)}"]  # fmt: skip
    fields += [f"*{_escape(label)}*\n{_escape(value)}" for label, value in details]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, _HEADER_MAX)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(_escape(summary), _SECTION_MAX)}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": _clip(f, _FIELD_MAX)} for f in fields if f][:_FIELDS_MAX],
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _clip(f"*What to do*\n{_escape(action)}", _SECTION_MAX)},
        },
    ]
    if alert.run_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Open the run"}, "url": alert.run_url}
                ],
            }
        )
    where = f"space {alert.space}, " if alert.space else ""
    link = f" {alert.run_url}" if alert.run_url else ""
    text = f"{title} ({where}run {alert.run_id}{link}). {summary} What to do: {action}"
    return {"text": _escape(" ".join(text.split())), "blocks": blocks}


class AlertError(RuntimeError):
    """An alert could not be delivered. The message names the problem, never the webhook URL."""


class _Transient(Exception):
    """A failed post worth retrying; carries the server's ``Retry-After`` in seconds, if any."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def _post_once(url: str, body: bytes, timeout_s: float) -> int:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        # The response body can quote the request; only the status goes into the message.
        status = int(exc.code)
        if status in _RETRYABLE_STATUS:
            raise _Transient(f"HTTP {status}", parse_retry_after(exc.headers.get("Retry-After"))) from None
        raise AlertError(
            f"the alert webhook refused the alert with HTTP {status}; check ALERT_WEBHOOK_URL (the hook may have "
            "been revoked or its channel archived)"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise _Transient(f"network error: {type(reason).__name__}") from None


def post_alert(
    payload: Mapping[str, Any], settings: AlertSettings, *, backoff_base_s: float = 1.0, backoff_max_s: float = 8.0
) -> int:
    """Post a payload to the webhook, with a timeout per attempt and retries on network errors, 429 and 5xx.

    Args:
        payload: the JSON body (:func:`slack_payload`).
        settings: the webhook, its timeout and retries.
        backoff_base_s: first back-off wait, doubled per retry; a ``Retry-After`` is honoured instead when sent.
        backoff_max_s: longest wait between attempts, also for a ``Retry-After``: the post runs in a sensor tick.

    Returns:
        The number of attempts it took.

    Raises:
        AlertError: no webhook is configured, the webhook refused the alert (4xx), or every attempt failed.
    """
    if not settings.webhook_url:
        raise AlertError("ALERT_WEBHOOK_URL is not set: there is nowhere to send the alert")
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    retrying = Retrying(
        stop=stop_after_attempt(settings.max_retries + 1),
        retry=retry_if_exception(lambda exc: isinstance(exc, _Transient)),
        wait=wait_hint_or_backoff(
            lambda exc: exc.retry_after_s if isinstance(exc, _Transient) else None,
            base_s=backoff_base_s,
            max_s=backoff_max_s,
        ),
        before_sleep=lambda state: log.warning(
            "alert post failed (%s); retrying", state.outcome.exception() if state.outcome else "?"
        ),
    )
    try:
        for attempt in retrying:
            with attempt:
                _post_once(settings.webhook_url, body, settings.timeout_s)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise AlertError(
            f"the alert webhook did not take the alert after {exc.last_attempt.attempt_number} attempt(s) ({last}); "
            "check that ALERT_WEBHOOK_URL is reachable from the Dagster daemon"
        ) from None
    return retrying.statistics.get("attempt_number", 1)
