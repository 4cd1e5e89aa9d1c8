"""Dagster resources, bound to environment variables with ``EnvVar`` so secrets never enter code or run config."""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import psycopg
from dagster import ConfigurableResource, EnvVar

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.settings import ConfluenceSettings, env_bool
from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.embed.factory import EmbeddingSettings, build_provider
from confluence_pipeline.stages import StageSettings
from confluence_pipeline.store.db import connect
from confluence_pipeline.store.migrate import apply_migrations

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


class PostgresResource(ConfigurableResource):
    """The pipeline's PostgreSQL database (``DATABASE_URL``). Migrations run once per process on first use."""

    url: str

    def _migrate(self) -> None:
        with _migrate_lock:
            if self.url not in _migrated:
                apply_migrations(self.url)
                _migrated.add(self.url)

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection with pgvector registered; closed on exit."""
        self._migrate()
        conn = connect(self.url, autocommit=True)
        try:
            yield conn
        finally:
            conn.close()


class ConfluenceResource(ConfigurableResource):
    """A Confluence Cloud or Data Center site. See README "Settings" for each field's variable."""

    base_url: str
    deployment: str = "auto"
    email: str | None = None
    api_token: str | None = None
    personal_access_token: str | None = None
    verify_tls: bool = True
    ca_bundle: str | None = None
    timezone: str | None = None
    rate_limit_rps: float = 10.0
    max_retries: int = 6
    overlap_minutes: int = 10
    fetch_batch_size: int = 50
    list_page_size: int = 200
    include_personal_spaces: bool = False
    spaces: str = ""
    exclude_spaces: str = ""
    jira_base_url: str | None = None

    def settings(self) -> ConfluenceSettings:
        """The plain settings object the client and the sync take."""
        env = ConfluenceSettings.from_env()
        return ConfluenceSettings(
            base_url=self.base_url,
            deployment=self.deployment,
            email=self.email,
            api_token=self.api_token,
            personal_access_token=self.personal_access_token,
            verify_tls=self.verify_tls,
            ca_bundle=self.ca_bundle,
            timezone=self.timezone,
            rate_limit_rps=self.rate_limit_rps,
            max_retries=self.max_retries,
            overlap_minutes=self.overlap_minutes,
            fetch_batch_size=self.fetch_batch_size,
            list_page_size=self.list_page_size,
            include_personal_spaces=self.include_personal_spaces,
            spaces=tuple(s.strip() for s in self.spaces.split(",") if s.strip()),
            exclude_spaces=tuple(s.strip() for s in self.exclude_spaces.split(",") if s.strip()),
            jira_base_url=self.jira_base_url,
            connect_timeout_s=env.connect_timeout_s,
            read_timeout_s=env.read_timeout_s,
            backoff_base_s=env.backoff_base_s,
            backoff_max_s=env.backoff_max_s,
        )

    def client(self) -> ConfluenceClient:
        """A new client; its ``stats`` count this run's requests."""
        return ConfluenceClient(self.settings())


class EmbeddingsResource(ConfigurableResource):
    """The embedding provider: OpenAI (or any OpenAI-compatible server) with a key, else the local offline one."""

    provider: str = "auto"
    api_key: str | None = None
    base_url: str | None = None
    model: str | None = None
    dimensions: int | None = None

    def settings(self) -> EmbeddingSettings:
        """The embedding settings; remaining knobs (batching, concurrency, retries) come from the environment."""
        overrides: dict[str, object] = {"provider": self.provider, "api_key": self.api_key, "base_url": self.base_url}
        if self.model:
            overrides["model"] = self.model
        if self.dimensions:
            overrides["dimensions"] = self.dimensions
        return replace(EmbeddingSettings.from_env(), **overrides)

    def build(self) -> EmbeddingProvider:
        """Build the configured provider."""
        return build_provider(self.settings())


class PipelineResource(ConfigurableResource):
    """Batching, parallelism and chunking knobs for the stages (``PIPELINE_*``, ``CHUNK_*``)."""

    def settings(self) -> StageSettings:
        """Stage settings from the environment."""
        return StageSettings.from_env()


def _env(name: str, default: object = None) -> object:
    """``EnvVar(name)`` when the variable is set, else ``default``: optional settings may be absent."""
    return EnvVar(name) if os.environ.get(name) else default


def _env_int(name: str, default: object = None) -> object:
    return EnvVar.int(name) if os.environ.get(name) else default


def _env_float(name: str, default: float) -> object:
    return float(os.environ[name]) if os.environ.get(name) else default


def build_resources() -> dict[str, ConfigurableResource]:
    """The resources of the code location, bound to the environment."""
    return {
        "postgres": PostgresResource(url=_env("DATABASE_URL", "")),
        "confluence": ConfluenceResource(
            base_url=_env("CONFLUENCE_BASE_URL", ""),
            deployment=_env("CONFLUENCE_DEPLOYMENT", "auto"),
            email=_env("CONFLUENCE_EMAIL"),
            api_token=_env("CONFLUENCE_API_TOKEN"),
            personal_access_token=_env("CONFLUENCE_PAT"),
            verify_tls=env_bool("CONFLUENCE_VERIFY_TLS", True),
            ca_bundle=_env("CONFLUENCE_CA_BUNDLE"),
            timezone=_env("CONFLUENCE_TIMEZONE"),
            rate_limit_rps=_env_float("CONFLUENCE_RATE_LIMIT_RPS", 10.0),
            max_retries=_env_int("CONFLUENCE_MAX_RETRIES", 6),
            overlap_minutes=_env_int("CONFLUENCE_OVERLAP_MINUTES", 10),
            fetch_batch_size=_env_int("CONFLUENCE_FETCH_BATCH_SIZE", 50),
            list_page_size=_env_int("CONFLUENCE_LIST_PAGE_SIZE", 200),
            include_personal_spaces=env_bool("CONFLUENCE_INCLUDE_PERSONAL_SPACES", False),
            spaces=_env("CONFLUENCE_SPACES", ""),
            exclude_spaces=_env("CONFLUENCE_EXCLUDE_SPACES", ""),
            jira_base_url=_env("JIRA_BASE_URL"),
        ),
        "embeddings": EmbeddingsResource(
            provider=_env("EMBEDDING_PROVIDER", "auto"),
            api_key=_env("OPENAI_API_KEY"),
            base_url=_env("OPENAI_BASE_URL"),
            model=_env("EMBEDDING_MODEL"),
            dimensions=_env_int("EMBEDDING_DIMENSIONS"),
        ),
        "pipeline": PipelineResource(),
    }
