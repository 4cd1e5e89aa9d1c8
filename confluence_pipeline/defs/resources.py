"""Dagster resources: the one home of every setting.

Every setting is a field of a resource below, with its default and a description, and names the environment variable
that sets it. :func:`build_resources` binds the fields to an environment once, when the code location loads:

* a variable that is unset or empty leaves its field at the default;
* a secret (tokens, keys, URLs that may carry a password) is bound with ``EnvVar``: the UI shows the variable's
  name, never its value, and Dagster reads the variable when a run starts;
* any other variable is parsed into the field's type and bound as a value: the UI shows the very value the run
  uses, and a malformed one stops the code location from loading, with a message naming the variable.

Binding everything with ``EnvVar`` would not do: the UI would show names instead of values, and Dagster fails a run
whose ``EnvVar`` names an unset variable, so optional settings could not fall back to their defaults. Choosing
between ``EnvVar`` and a default by whether the variable is set, while the run reads more knobs from the environment
behind the resource's back, is how the UI came to show values a run did not use; here the resources' ``settings()``
build the plain, frozen settings objects from their fields alone, and nothing reads the environment at run time.

The CLI and scripts use :func:`configured_resources`: the same :func:`build_resources`, with the ``EnvVar`` bindings
resolved from the same environment, so a command and a run can never disagree.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from dagster import ConfigurableResource, DefaultSensorStatus, EnvVar

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.reconcile import ReconcileSettings
from confluence_pipeline.confluence.settings import ConfluenceSettings
from confluence_pipeline.convert.resolve import ResolveLimits
from confluence_pipeline.defs.binding import SettingError, SettingsResource, bind, setting, setting_variable, split_list
from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.embed.factory import EmbeddingSettings, build_provider
from confluence_pipeline.localstack import DEFAULT_SANDBOX_PORT, PROJECT_ROOT, LocalStackSettings
from confluence_pipeline.maintenance.alerts import AlertSettings
from confluence_pipeline.maintenance.freshness import FreshnessSettings
from confluence_pipeline.plays.settings import PlaySettings, RagThresholds, parse_live_docs
from confluence_pipeline.search.fusion import RRF_K
from confluence_pipeline.search.hybrid import SearchSettings
from confluence_pipeline.search.vector import DEFAULT_EF_SEARCH
from confluence_pipeline.stages import StageSettings
from confluence_pipeline.store.db import connect
from confluence_pipeline.store.hnsw import HnswSettings
from confluence_pipeline.store.migrate import apply_migrations

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


class PostgresResource(SettingsResource):
    """The pipeline's PostgreSQL database. Migrations run once per process on first use."""

    url: str = setting(
        "", "DATABASE_URL", "libpq URL of the pipeline's PostgreSQL (≥ 15, with the vector extension).", secret=True
    )

    def database_url(self) -> str:
        """The configured URL.

        Raises:
            ValueError: ``DATABASE_URL`` is not set.
        """
        url = self._values()["url"]
        if not url:
            raise ValueError(
                "DATABASE_URL is not set: point it at a PostgreSQL ≥ 15 with pgvector, or use `confluence-pipeline "
                "dev` / `demo` / `materialize`, which start the embedded server and set it"
            )
        return url

    def _migrate(self, url: str) -> None:
        with _migrate_lock:
            if url not in _migrated:
                apply_migrations(url)
                _migrated.add(url)

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection with pgvector registered; closed on exit."""
        url = self.database_url()
        self._migrate(url)
        conn = connect(url, autocommit=True)
        try:
            yield conn
        finally:
            conn.close()


class ConfluenceResource(SettingsResource):
    """A Confluence Cloud or Data Center site: where it is, how to log in, how hard to press it."""

    base_url: str = setting(
        "", "CONFLUENCE_BASE_URL", "Site URL: https://<site>.atlassian.net (Cloud), or with its context path (DC)."
    )
    deployment: str = setting("auto", "CONFLUENCE_DEPLOYMENT", "cloud, datacenter, or auto (by host name).")
    email: str | None = setting(None, "CONFLUENCE_EMAIL", "Account e-mail for Basic auth with the API token.")
    api_token: str | None = setting(None, "CONFLUENCE_API_TOKEN", "Cloud API token (Basic auth).", secret=True)
    personal_access_token: str | None = setting(
        None, "CONFLUENCE_PAT", "Data Center personal access token (Bearer auth).", secret=True
    )
    verify_tls: bool = setting(True, "CONFLUENCE_VERIFY_TLS", "Verify the server's TLS certificate.")
    ca_bundle: str | None = setting(None, "CONFLUENCE_CA_BUNDLE", "CA bundle file to verify against.")
    connect_timeout_s: float = setting(10.0, "CONFLUENCE_CONNECT_TIMEOUT_S", "TCP/TLS connect timeout, seconds.")
    read_timeout_s: float = setting(60.0, "CONFLUENCE_READ_TIMEOUT_S", "Read timeout per request, seconds.")
    rate_limit_rps: float = setting(
        10.0, "CONFLUENCE_RATE_LIMIT_RPS", "Client-side request rate limit, shared by every process using the database."
    )
    max_retries: int = setting(6, "CONFLUENCE_MAX_RETRIES", "Retries after the first attempt (429, 5xx, network).")
    backoff_base_s: float = setting(1.0, "CONFLUENCE_BACKOFF_BASE_S", "First back-off wait; doubles per retry.")
    backoff_max_s: float = setting(60.0, "CONFLUENCE_BACKOFF_MAX_S", "Longest wait; also caps Retry-After.")
    timezone: str | None = setting(
        None, "CONFLUENCE_TIMEZONE", "IANA zone CQL dates are read in, when the server does not say."
    )
    overlap_minutes: int = setting(
        10, "CONFLUENCE_OVERLAP_MINUTES", "How far before the watermark each incremental query starts."
    )
    space_refresh_hours: float = setting(
        24.0, "CONFLUENCE_SPACE_REFRESH_HOURS", "Hours before a space's metadata is fetched again (0: every run)."
    )
    list_page_size: int = setting(200, "CONFLUENCE_LIST_PAGE_SIZE", "Page size of the light change listing.")
    fetch_batch_size: int = setting(50, "CONFLUENCE_FETCH_BATCH_SIZE", "Pages fetched with bodies per request.")
    spaces: str = setting("", "CONFLUENCE_SPACES", "Comma-separated space keys to sync (empty: all).")
    exclude_spaces: str = setting("", "CONFLUENCE_EXCLUDE_SPACES", "Comma-separated space keys to skip.")
    include_personal_spaces: bool = setting(
        False, "CONFLUENCE_INCLUDE_PERSONAL_SPACES", "Also sync personal (~user) spaces."
    )
    jira_base_url: str | None = setting(None, "JIRA_BASE_URL", "Jira site, for links from Jira macros.")

    def settings(self) -> ConfluenceSettings:
        """The plain settings object the client and the sync take."""
        values = self._values()
        values["spaces"] = split_list(values["spaces"])
        values["exclude_spaces"] = split_list(values["exclude_spaces"])
        return ConfluenceSettings(**values)

    def client(self, database_url: str | None = None) -> ConfluenceClient:
        """A new client; its ``stats`` count this run's requests.

        Args:
            database_url: the pipeline's database (``PostgresResource.database_url()``): the rate limit is then shared
                by every process that uses it, so that concurrent runs together keep to ``CONFLUENCE_RATE_LIMIT_RPS``.
        """
        return ConfluenceClient(self.settings(), database_url=database_url)


class EmbeddingsResource(SettingsResource):
    """The embedding provider: OpenAI (or any OpenAI-compatible server) with a key, else the local offline one."""

    provider: str = setting(
        "auto", "EMBEDDING_PROVIDER", "auto (OpenAI when a key or base URL is set), openai or local."
    )
    api_key: str | None = setting(None, "OPENAI_API_KEY", "OpenAI API key.", secret=True)
    base_url: str | None = setting(
        None, "OPENAI_BASE_URL", "API root of an OpenAI-compatible server (may carry credentials).", secret=True
    )
    organization: str | None = setting(None, "OPENAI_ORG_ID", "OpenAI organization, for keys of several.")
    model: str = setting("text-embedding-3-small", "EMBEDDING_MODEL", "Embedding model of the OpenAI provider.")
    dimensions: int = setting(1536, "EMBEDDING_DIMENSIONS", "Vector length of the OpenAI provider.")
    batch_size: int = setting(256, "EMBEDDING_BATCH_SIZE", "Most inputs per embeddings request.")
    max_batch_tokens: int = setting(250_000, "EMBEDDING_MAX_BATCH_TOKENS", "Most tokens per embeddings request.")
    max_input_tokens: int = setting(8191, "EMBEDDING_MAX_INPUT_TOKENS", "Longer inputs are truncated first.")
    concurrency: int = setting(4, "EMBEDDING_CONCURRENCY", "Embeddings requests in flight at once.")
    max_retries: int = setting(6, "EMBEDDING_MAX_RETRIES", "Retries of a failed request (429, 5xx, network).")
    timeout_s: float = setting(60.0, "EMBEDDING_TIMEOUT_S", "Timeout of one embeddings request, seconds.")
    local_dimensions: int = setting(384, "EMBEDDING_LOCAL_DIMENSIONS", "Vector length of the local embedder.")

    def settings(self) -> EmbeddingSettings:
        """The embedding settings.

        Raises:
            EmbeddingError: a value is invalid; the message names the variable.
        """
        values = self._values()
        values["provider"] = values["provider"].strip().lower()
        return EmbeddingSettings(**values)

    def build(self) -> EmbeddingProvider:
        """Build the configured provider."""
        return build_provider(self.settings())


class PipelineResource(SettingsResource):
    """Batching, parallelism, chunking and vector-index knobs of the stages."""

    batch_size: int = setting(200, "PIPELINE_BATCH_SIZE", "Rows read and committed per batch in each stage.")
    workers: int = setting(0, "PIPELINE_WORKERS", "Processes for conversion and chunking (0: one per core).")
    space_processes: int = setting(
        0,
        "PIPELINE_SPACE_PROCESSES",
        "Spaces `materialize` runs at once, each in a process of its own (0: one per core; 1: one after another).",
    )
    embed_batch_size: int = setting(512, "PIPELINE_EMBED_BATCH_SIZE", "Chunk texts read per embedding batch.")
    chunk_max_tokens: int = setting(512, "CHUNK_MAX_TOKENS", "Chunk size bound, in cl100k tokens.")
    chunk_overlap_tokens: int = setting(64, "CHUNK_OVERLAP_TOKENS", "Tokens repeated between consecutive chunks.")
    hnsw_m: int = setting(16, "VECTOR_HNSW_M", "HNSW links per node, used when a model's index is built.")
    hnsw_ef_construction: int = setting(
        64, "VECTOR_HNSW_EF_CONSTRUCTION", "HNSW build candidate list, used when a model's index is built."
    )
    include_depth: int = setting(
        1, "CONVERT_INCLUDE_DEPTH", "Levels of include macros shown inline (deeper includes are links; 0: all links)."
    )
    include_max_chars: int = setting(
        20_000, "CONVERT_INCLUDE_MAX_CHARS", "Characters of included Markdown per page, all includes together."
    )
    list_max_pages: int = setting(
        200, "CONVERT_LIST_MAX_PAGES", "Pages one children/pagetree/contentbylabel macro lists (images per gallery)."
    )

    def space_plan(self, spaces: int) -> tuple[int, int]:
        """How ``materialize`` runs ``spaces`` spaces: processes at once, and CPU workers in each.

        The ``PIPELINE_WORKERS`` budget is shared out among the processes, so that side by side they do not start
        more workers than the machine has cores for.

        Raises:
            ValueError: a value is out of range; the message names the variable.
        """
        values = self._values()
        if values["space_processes"] < 0:
            raise ValueError(f"PIPELINE_SPACE_PROCESSES={values['space_processes']} must be at least 0")
        cores = os.cpu_count() or 1
        processes = max(1, min(spaces, values["space_processes"] or cores))
        workers = self.settings().effective_workers
        return processes, workers if processes == 1 else max(1, workers // processes)

    def settings(self, confluence: ConfluenceSettings | None = None) -> StageSettings:
        """The stage settings.

        Args:
            confluence: the site's settings, for links in Markdown (only the Markdown stage needs them).

        Raises:
            ValueError: a value is out of range; the message names the variable.
        """
        values = self._values()
        return StageSettings(
            batch_size=values["batch_size"],
            workers=values["workers"],
            max_tokens=values["chunk_max_tokens"],
            overlap_tokens=values["chunk_overlap_tokens"],
            embed_batch_size=values["embed_batch_size"],
            site_url=(confluence.base_url or None) if confluence else None,
            jira_base_url=confluence.jira_base_url if confluence else None,
            hnsw=HnswSettings(m=values["hnsw_m"], ef_construction=values["hnsw_ef_construction"]),
            resolve=ResolveLimits(
                include_depth=values["include_depth"],
                include_max_chars=values["include_max_chars"],
                max_listed_pages=values["list_max_pages"],
            ),
        )


class SearchResource(SettingsResource):
    """Query-time knobs of hybrid search."""

    rrf_k: int = setting(RRF_K, "SEARCH_RRF_K", "Reciprocal-rank-fusion constant (small: top ranks dominate).")
    ef_search: int = setting(
        DEFAULT_EF_SEARCH,
        "VECTOR_EF_SEARCH",
        "HNSW search candidate list: higher, better recall, slower (a filtered search walks twice as many).",
    )

    def settings(self) -> SearchSettings:
        """The search settings.

        Raises:
            ValueError: a value is out of range; the message names the variable.
        """
        return SearchSettings(**self._values())


class MonitoringResource(SettingsResource):
    """Alerts to a Slack-compatible webhook, and how fresh each space must be."""

    webhook_url: str | None = setting(
        None, "ALERT_WEBHOOK_URL", "Slack-compatible incoming webhook for alerts (unset: no alerts).", secret=True
    )
    ui_url: str | None = setting(
        None, "ALERT_UI_URL", "Base URL of the Dagster UI, e.g. https://dagster.acme.com, for run links in alerts."
    )
    slow_sync_minutes: float = setting(
        15.0, "ALERT_SLOW_SYNC_MINUTES", "Alert when one space's sync run takes longer than this, minutes."
    )
    failed_pages_percent: float = setting(
        10.0, "ALERT_FAILED_PAGES_PERCENT", "Alert when more than this share of a run's pages failed, percent."
    )
    timeout_s: float = setting(5.0, "ALERT_TIMEOUT_S", "Timeout of one post to the alert webhook, seconds.")
    max_retries: int = setting(3, "ALERT_MAX_RETRIES", "Retries of an alert post (network errors, 429, 5xx).")
    freshness_hours: float = setting(
        24.0, "FRESHNESS_MAX_AGE_HOURS", "A space not confirmed current for longer than this fails its check, hours."
    )

    def alert_settings(self) -> AlertSettings:
        """The alert settings.

        Raises:
            ValueError: a value is malformed or out of range; the message names the variable.
        """
        values = self._values()
        settings = AlertSettings(
            webhook_url=values["webhook_url"] or None,
            ui_url=values["ui_url"] or None,
            slow_sync_minutes=values["slow_sync_minutes"],
            failed_pages_percent=values["failed_pages_percent"],
            timeout_s=values["timeout_s"],
            max_retries=values["max_retries"],
        )
        settings.validate()
        return settings

    def freshness_settings(self) -> FreshnessSettings:
        """The freshness settings.

        Raises:
            ValueError: the maximum age is not positive; the message names the variable.
        """
        settings = FreshnessSettings(max_age_hours=self._values()["freshness_hours"])
        settings.validate()
        return settings


_PLAY_DEFAULTS = PlaySettings()
_RAG_DEFAULTS = RagThresholds()


class PlaysResource(SettingsResource):
    """Play tracking: the Play pages, the team's time zone, the RAG thresholds, and how patient page writes are."""

    todo_page_id: str = setting(
        "", "CONFLUENCE_TODO_PAGE_ID", "Page id of Project TODO, the parent of each Play's ToDo List page."
    )
    play_db_page_id: str = setting(
        "", "CONFLUENCE_PLAY_DB_PAGE_ID", "Page id of the Play DB: one table row per Play, written by the aggregation."
    )
    action_log_page_id: str = setting(
        "", "CONFLUENCE_ACTION_LOG_PAGE_ID", "Page id of the Action Log: one table row per action."
    )
    live_docs: str = setting(
        "",
        "CONFLUENCE_PLAY_LIVE_DOCS",
        'JSON object from Play id to the page id of its Live doc, e.g. {"EXT_Desk_D01": "819201"}.',
    )
    timezone: str = setting(
        _PLAY_DEFAULTS.timezone,
        "PLAY_TIMEZONE",
        "IANA zone of the team: quarters start at midnight there; log times without an offset are read in it.",
    )
    rag_activity_target: int = setting(
        _RAG_DEFAULTS.activity_target, "PLAY_RAG_ACTIVITY_TARGET", "Activities a Play on pace logs in a quarter."
    )
    rag_signal_target: int = setting(
        _RAG_DEFAULTS.signal_target, "PLAY_RAG_SIGNAL_TARGET", "Signals a Play on pace finds in a quarter."
    )
    rag_red_below: float = setting(
        _RAG_DEFAULTS.red_below,
        "PLAY_RAG_RED_BELOW",
        "A Play is Red below this share of the pro-rated activity target (after the grace days).",
    )
    rag_grace_days: int = setting(
        _RAG_DEFAULTS.grace_days, "PLAY_RAG_GRACE_DAYS", "Days at the start of a quarter in which no Play is Red."
    )
    conflict_retries: int = setting(
        _PLAY_DEFAULTS.conflict_retries,
        "PLAY_CONFLICT_RETRIES",
        "Re-reads and re-applies of a page write after a 409 (someone saved in between) before giving up.",
    )
    request_retries: int = setting(
        _PLAY_DEFAULTS.request_retries,
        "PLAY_REQUEST_RETRIES",
        "HTTP retries (429, 5xx, network) within one outbox try; the outbox's own tries come on top.",
    )
    outbox_attempts: int = setting(
        _PLAY_DEFAULTS.outbox_attempts,
        "PLAY_OUTBOX_ATTEMPTS",
        "Tries of an outbox write per drain tick before it waits for a later tick.",
    )
    outbox_backoff_s: float = setting(
        _PLAY_DEFAULTS.outbox_backoff_s,
        "PLAY_OUTBOX_BACKOFF_S",
        "Wait after the first failed try of an outbox write, seconds; doubles per try.",
    )
    outbox_requeue_s: float = setting(
        _PLAY_DEFAULTS.outbox_requeue_s,
        "PLAY_OUTBOX_REQUEUE_S",
        "Wait before a later tick retries a write that failed its tries, seconds; doubles per round.",
    )
    outbox_requeue_max_s: float = setting(
        _PLAY_DEFAULTS.outbox_requeue_max_s, "PLAY_OUTBOX_REQUEUE_MAX_S", "Longest wait between rounds, seconds."
    )
    outbox_batch_size: int = setting(
        100, "PLAY_OUTBOX_BATCH_SIZE", "Most outbox page writes one drain (a sensor tick, `events drain`) tries."
    )

    def settings(self) -> PlaySettings:
        """The plain Play settings.

        Raises:
            PlaySettingsError: a value is malformed (the Live doc map, the time zone, a threshold); the message
                names the variable. Missing page ids are reported by the operation that needs them.
        """
        values = self._values()
        if values["outbox_batch_size"] < 1:
            raise SettingError(
                f"PLAY_OUTBOX_BATCH_SIZE must be at least 1, not {values['outbox_batch_size']}",
                setting="PLAY_OUTBOX_BATCH_SIZE",
            )
        settings = PlaySettings(
            todo_page_id=values["todo_page_id"].strip(),
            play_db_page_id=values["play_db_page_id"].strip(),
            action_log_page_id=values["action_log_page_id"].strip(),
            live_docs=parse_live_docs(values["live_docs"]),
            timezone=values["timezone"].strip(),
            rag=RagThresholds(
                activity_target=values["rag_activity_target"],
                signal_target=values["rag_signal_target"],
                red_below=values["rag_red_below"],
                grace_days=values["rag_grace_days"],
            ),
            conflict_retries=values["conflict_retries"],
            outbox_attempts=values["outbox_attempts"],
            outbox_backoff_s=values["outbox_backoff_s"],
            outbox_requeue_s=values["outbox_requeue_s"],
            outbox_requeue_max_s=values["outbox_requeue_max_s"],
            request_retries=values["request_retries"],
        )
        settings.validate(need=())
        return settings


class ReconcileResource(SettingsResource):
    """Deletion reconciliation: when each space is reconciled, and how much one run may delete."""

    strategy: str = setting(
        "weekly",
        "CONFLUENCE_RECONCILE",
        "weekly (by the weekly schedule), every_sync (also at the end of each ingest run) or on_demand (CLI and UI "
        "only), optionally per space: weekly,ENG=every_sync,HR=on_demand.",
    )
    max_delete_share: float = setting(
        0.2,
        "CONFLUENCE_RECONCILE_MAX_DELETE_SHARE",
        "Largest share of a space's stored pages one reconciliation may delete without force (never all of them).",
    )
    listing_timeout_s: float = setting(
        1800.0, "CONFLUENCE_RECONCILE_TIMEOUT_S", "A page-id listing still running after this long deletes nothing."
    )

    def settings(self) -> ReconcileSettings:
        """The reconcile settings.

        Raises:
            ValueError: a strategy or share is invalid; the message names the variable.
        """
        values = self._values()
        return ReconcileSettings.parse(
            values["strategy"],
            max_delete_share=values["max_delete_share"],
            listing_timeout_s=values["listing_timeout_s"],
        )


@dataclass(frozen=True)
class AutomationSettings:
    """What runs by itself: the sensors and the weekly schedule, read when the code location loads.

    Attributes:
        enabled: the sensors and the schedule start running (``DefaultSensorStatus.RUNNING``); False leaves all of
            them stopped until someone starts them in the UI.
        change_interval_s: seconds between two ticks of the change sensor.
        space_interval_s: seconds between two ticks of the space sensor.
        tick_budget_s: the longest a sensor tick may poll Confluence; below Dagster's sensor timeout (60 s).
        weekly_cron: cron of the weekly schedule (reconciliation, then the weekly follow-ups).
        weekly_timezone: IANA zone the cron is read in.
    """

    enabled: bool = True
    change_interval_s: int = 300
    space_interval_s: int = 3600
    tick_budget_s: float = 40.0
    weekly_cron: str = "0 18 * * 5"
    weekly_timezone: str = "Asia/Seoul"

    def validate(self) -> None:
        """Check the values before any definition uses them.

        Raises:
            ValueError: naming the variable to fix.
        """
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(self.weekly_cron):
            raise ValueError(
                f"PIPELINE_WEEKLY_CRON={self.weekly_cron!r} is not a cron string; use five fields, e.g. '0 18 * * 5' "
                "(Fridays at 18:00)"
            )
        try:
            ZoneInfo(self.weekly_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"PIPELINE_WEEKLY_TIMEZONE={self.weekly_timezone!r} is not an IANA time zone (e.g. Asia/Seoul)"
            ) from None
        if self.change_interval_s < 30 or self.space_interval_s < 30:
            raise ValueError(
                "PIPELINE_CHANGE_SENSOR_INTERVAL_S and PIPELINE_SPACE_SENSOR_INTERVAL_S must be at least 30 seconds"
            )
        if not 5 <= self.tick_budget_s <= 55:
            raise ValueError(
                f"PIPELINE_SENSOR_TICK_BUDGET_S={self.tick_budget_s:g} must lie between 5 and 55 seconds: Dagster "
                "abandons a sensor tick after 60 s"
            )


class AutomationResource(SettingsResource):
    """The sensors and the weekly schedule: whether they run by default, how often, and when."""

    enabled: bool = setting(
        True,
        "PIPELINE_AUTOMATION",
        "The space sensor, the change sensor and the weekly schedule start running by default; false turns all "
        "automation off (each can still be started in the UI).",
    )
    change_interval_s: int = setting(
        300, "PIPELINE_CHANGE_SENSOR_INTERVAL_S", "Seconds between ticks of the change sensor (one request a space)."
    )
    space_interval_s: int = setting(
        3600, "PIPELINE_SPACE_SENSOR_INTERVAL_S", "Seconds between ticks of the space sensor (lists the spaces)."
    )
    tick_budget_s: float = setting(
        40.0,
        "PIPELINE_SENSOR_TICK_BUDGET_S",
        "Longest a sensor tick polls Confluence (Dagster abandons a tick after 60 s); the rest waits for the next.",
    )
    weekly_cron: str = setting(
        "0 18 * * 5", "PIPELINE_WEEKLY_CRON", "Cron of the weekly schedule (deletion reconciliation, then follow-ups)."
    )
    weekly_timezone: str = setting(
        "Asia/Seoul", "PIPELINE_WEEKLY_TIMEZONE", "IANA time zone the weekly schedule's cron is read in."
    )

    def settings(self) -> AutomationSettings:
        """The automation settings.

        Raises:
            ValueError: a value is invalid; the message names the variable.
        """
        settings = AutomationSettings(**self._values())
        settings.validate()
        return settings


def automation_settings(environ: Mapping[str, str] | None = None) -> AutomationSettings:
    """The automation settings bound from ``environ`` (default: this process's), for definitions built at load time.

    A sensor's interval and default status, and a schedule's cron and zone, are part of the definition, so they are
    read when the code location loads, from the same variables as :class:`AutomationResource` (none is a secret).

    Raises:
        SettingError: a variable is malformed; ValueError: a value is out of range. Both name the variable.
    """
    return bind(AutomationResource, os.environ if environ is None else environ).settings()


def default_sensor_status(environ: Mapping[str, str] | None = None) -> DefaultSensorStatus:
    """RUNNING, or STOPPED when ``PIPELINE_AUTOMATION`` is off: the default status of a sensor, read at load time."""
    return DefaultSensorStatus.RUNNING if automation_settings(environ).enabled else DefaultSensorStatus.STOPPED


class LocalStackResource(SettingsResource):
    """The embedded local stack of the CLI (PostgreSQL, Dagster home, sandbox). Not part of the code location."""

    home: str | None = setting(
        None, "CONFLUENCE_PIPELINE_HOME", "Folder of the embedded server's data and the Dagster home (default .local)."
    )
    dagster_home: str | None = setting(None, "DAGSTER_HOME", "Dagster instance folder (default <home>/dagster_home).")
    dagster_pg_url: str | None = setting(
        None, "DAGSTER_PG_URL", "Dagster's storage, postgresql+psycopg2://… (default: from DATABASE_URL).", secret=True
    )
    sandbox_port: int = setting(
        DEFAULT_SANDBOX_PORT, "SANDBOX_PORT", "Port of the local Confluence sandbox (demo, dev)."
    )
    sandbox_pages: int = setting(500, "SANDBOX_PAGES", "Generated pages of the local sandbox.")
    sandbox_seed: int = setting(7, "SANDBOX_SEED", "Seed of the local sandbox's generated corpus.")

    def settings(self) -> LocalStackSettings:
        """The local stack's settings."""
        values = self._values()
        home = Path(values["home"]) if values["home"] else PROJECT_ROOT / ".local"
        return LocalStackSettings(
            home=home.resolve(),
            dagster_home=Path(values["dagster_home"]).resolve() if values["dagster_home"] else None,
            dagster_pg_url=values["dagster_pg_url"],
            sandbox_port=values["sandbox_port"],
            sandbox_pages=values["sandbox_pages"],
            sandbox_seed=values["sandbox_seed"],
        )


RESOURCE_CLASSES: tuple[type[SettingsResource], ...] = (
    PostgresResource,
    ConfluenceResource,
    EmbeddingsResource,
    PipelineResource,
    SearchResource,
    MonitoringResource,
    PlaysResource,
    ReconcileResource,
    AutomationResource,
    LocalStackResource,
)


def secret_values(*resources: ConfigurableResource) -> list[str]:
    """The values of the secret fields of resources as a run or a sensor sees them, for scrubbing messages.

    Args:
        *resources: resources whose ``EnvVar`` fields Dagster has resolved (inside a run or a sensor tick), or that
            :func:`configured_resources` resolved.

    Returns:
        Each non-empty secret value (tokens, keys, URLs that may carry credentials).
    """
    values: list[str] = []
    for resource in resources:
        for name in type(resource).model_fields:
            value = getattr(resource, name)
            if setting_variable(type(resource), name)[1] and isinstance(value, str) and value:
                values.append(value)
    return values


def build_resources(environ: Mapping[str, str] | None = None) -> dict[str, ConfigurableResource]:
    """The resources of the code location, bound to ``environ`` (default: this process's environment).

    Args:
        environ: the environment to bind. Secrets are bound with ``EnvVar``, which Dagster resolves from the
            environment of the process that runs (normally the same one).

    Returns:
        ``postgres``, ``confluence``, ``embeddings``, ``pipeline``, ``search``, ``monitoring``, ``plays``,
        ``reconcile`` and ``automation``.

    Raises:
        SettingError: a variable holds a value its field cannot take; the message names it.
    """
    env = os.environ if environ is None else environ
    return {
        "postgres": bind(PostgresResource, env),
        "confluence": bind(ConfluenceResource, env),
        "embeddings": bind(EmbeddingsResource, env),
        "pipeline": bind(PipelineResource, env),
        "search": bind(SearchResource, env),
        "monitoring": bind(MonitoringResource, env),
        "plays": bind(PlaysResource, env),
        "reconcile": bind(ReconcileResource, env),
        "automation": bind(AutomationResource, env),
    }


@dataclass(frozen=True)
class ConfiguredResources:
    """The code location's resources with their ``EnvVar`` bindings resolved, plus the local stack's, for the CLI."""

    postgres: PostgresResource
    confluence: ConfluenceResource
    embeddings: EmbeddingsResource
    pipeline: PipelineResource
    search: SearchResource
    monitoring: MonitoringResource
    plays: PlaysResource
    reconcile: ReconcileResource
    automation: AutomationResource
    local_stack: LocalStackResource


def _resolved[R: ConfigurableResource](resource: R, environ: Mapping[str, str]) -> R:
    values: dict[str, Any] = {}
    for name in type(resource).model_fields:
        value = getattr(resource, name)
        values[name] = environ.get(value.env_var_name) if isinstance(value, EnvVar) else value
    return type(resource)(**values)


def configured_resources(environ: Mapping[str, str] | None = None) -> ConfiguredResources:
    """:func:`build_resources` with every ``EnvVar`` read from the same environment, as a run would read it.

    For the CLI and scripts, which use the resources outside a run: their ``settings()`` then agree with a run's.

    Raises:
        SettingError: a variable holds a value its field cannot take; the message names it.
    """
    env = os.environ if environ is None else environ
    built = {name: _resolved(resource, env) for name, resource in build_resources(env).items()}
    return ConfiguredResources(**built, local_stack=_resolved(bind(LocalStackResource, env), env))  # type: ignore[arg-type]
