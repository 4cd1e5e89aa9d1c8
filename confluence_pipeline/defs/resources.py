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
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.settings import ConfluenceSettings
from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.embed.factory import EmbeddingSettings, build_provider
from confluence_pipeline.localstack import DEFAULT_SANDBOX_PORT, PROJECT_ROOT, LocalStackSettings
from confluence_pipeline.search.fusion import RRF_K
from confluence_pipeline.search.hybrid import SearchSettings
from confluence_pipeline.search.vector import DEFAULT_EF_SEARCH
from confluence_pipeline.stages import StageSettings
from confluence_pipeline.store.db import connect
from confluence_pipeline.store.hnsw import HnswSettings
from confluence_pipeline.store.migrate import apply_migrations

_migrated: set[str] = set()
_migrate_lock = threading.Lock()
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot take.

    Attributes:
        setting: the variable to fix.
    """

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


def _setting(default: Any, env: str, description: str, *, secret: bool = False) -> Any:
    """A resource field: its default, its description (shown in the UI) and the variable that sets it."""
    extra = {"env": env, "secret": secret}
    return Field(default=default, description=f"{description} Set by {env}.", json_schema_extra=extra)


def setting_variable(resource: type[ConfigurableResource], field: str) -> tuple[str, bool]:
    """The environment variable that sets a resource field, and whether it is a secret (bound with ``EnvVar``)."""
    extra = resource.model_fields[field].json_schema_extra
    if not isinstance(extra, dict) or not isinstance(extra.get("env"), str):
        raise TypeError(f"{resource.__name__}.{field} names no environment variable; declare it with _setting()")
    return str(extra["env"]), bool(extra.get("secret"))


class _SettingsResource(ConfigurableResource):
    """A resource whose fields are settings; ``_values()`` reads them for the plain settings objects."""

    def _values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, EnvVar):
                # Dagster resolves EnvVar only for a run (or a sensor tick); read directly, the field holds the
                # variable's name, and using it as the value would be silently wrong.
                raise RuntimeError(
                    f"{type(self).__name__}.{name} is bound to EnvVar({value.env_var_name!r}), which Dagster resolves "
                    "only inside a run; outside one, use configured_resources()"
                )
            values[name] = value
        return values


class PostgresResource(_SettingsResource):
    """The pipeline's PostgreSQL database. Migrations run once per process on first use."""

    url: str = _setting(
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


class ConfluenceResource(_SettingsResource):
    """A Confluence Cloud or Data Center site: where it is, how to log in, how hard to press it."""

    base_url: str = _setting(
        "", "CONFLUENCE_BASE_URL", "Site URL: https://<site>.atlassian.net (Cloud), or with its context path (DC)."
    )
    deployment: str = _setting("auto", "CONFLUENCE_DEPLOYMENT", "cloud, datacenter, or auto (by host name).")
    email: str | None = _setting(None, "CONFLUENCE_EMAIL", "Account e-mail for Basic auth with the API token.")
    api_token: str | None = _setting(None, "CONFLUENCE_API_TOKEN", "Cloud API token (Basic auth).", secret=True)
    personal_access_token: str | None = _setting(
        None, "CONFLUENCE_PAT", "Data Center personal access token (Bearer auth).", secret=True
    )
    verify_tls: bool = _setting(True, "CONFLUENCE_VERIFY_TLS", "Verify the server's TLS certificate.")
    ca_bundle: str | None = _setting(None, "CONFLUENCE_CA_BUNDLE", "CA bundle file to verify against.")
    connect_timeout_s: float = _setting(10.0, "CONFLUENCE_CONNECT_TIMEOUT_S", "TCP/TLS connect timeout, seconds.")
    read_timeout_s: float = _setting(60.0, "CONFLUENCE_READ_TIMEOUT_S", "Read timeout per request, seconds.")
    rate_limit_rps: float = _setting(
        10.0, "CONFLUENCE_RATE_LIMIT_RPS", "Client-side request rate limit, shared by the process."
    )
    max_retries: int = _setting(6, "CONFLUENCE_MAX_RETRIES", "Retries after the first attempt (429, 5xx, network).")
    backoff_base_s: float = _setting(1.0, "CONFLUENCE_BACKOFF_BASE_S", "First back-off wait; doubles per retry.")
    backoff_max_s: float = _setting(60.0, "CONFLUENCE_BACKOFF_MAX_S", "Longest wait; also caps Retry-After.")
    timezone: str | None = _setting(
        None, "CONFLUENCE_TIMEZONE", "IANA zone CQL dates are read in, when the server does not say."
    )
    overlap_minutes: int = _setting(
        10, "CONFLUENCE_OVERLAP_MINUTES", "How far before the watermark each incremental query starts."
    )
    space_refresh_hours: float = _setting(
        24.0, "CONFLUENCE_SPACE_REFRESH_HOURS", "Hours before a space's metadata is fetched again (0: every run)."
    )
    list_page_size: int = _setting(200, "CONFLUENCE_LIST_PAGE_SIZE", "Page size of the light change listing.")
    fetch_batch_size: int = _setting(50, "CONFLUENCE_FETCH_BATCH_SIZE", "Pages fetched with bodies per request.")
    spaces: str = _setting("", "CONFLUENCE_SPACES", "Comma-separated space keys to sync (empty: all).")
    exclude_spaces: str = _setting("", "CONFLUENCE_EXCLUDE_SPACES", "Comma-separated space keys to skip.")
    include_personal_spaces: bool = _setting(
        False, "CONFLUENCE_INCLUDE_PERSONAL_SPACES", "Also sync personal (~user) spaces."
    )
    jira_base_url: str | None = _setting(None, "JIRA_BASE_URL", "Jira site, for links from Jira macros.")

    def settings(self) -> ConfluenceSettings:
        """The plain settings object the client and the sync take."""
        values = self._values()
        values["spaces"] = _split(values["spaces"])
        values["exclude_spaces"] = _split(values["exclude_spaces"])
        return ConfluenceSettings(**values)

    def client(self) -> ConfluenceClient:
        """A new client; its ``stats`` count this run's requests."""
        return ConfluenceClient(self.settings())


class EmbeddingsResource(_SettingsResource):
    """The embedding provider: OpenAI (or any OpenAI-compatible server) with a key, else the local offline one."""

    provider: str = _setting(
        "auto", "EMBEDDING_PROVIDER", "auto (OpenAI when a key or base URL is set), openai or local."
    )
    api_key: str | None = _setting(None, "OPENAI_API_KEY", "OpenAI API key.", secret=True)
    base_url: str | None = _setting(
        None, "OPENAI_BASE_URL", "API root of an OpenAI-compatible server (may carry credentials).", secret=True
    )
    organization: str | None = _setting(None, "OPENAI_ORG_ID", "OpenAI organization, for keys of several.")
    model: str = _setting("text-embedding-3-small", "EMBEDDING_MODEL", "Embedding model of the OpenAI provider.")
    dimensions: int = _setting(1536, "EMBEDDING_DIMENSIONS", "Vector length of the OpenAI provider.")
    batch_size: int = _setting(256, "EMBEDDING_BATCH_SIZE", "Most inputs per embeddings request.")
    max_batch_tokens: int = _setting(250_000, "EMBEDDING_MAX_BATCH_TOKENS", "Most tokens per embeddings request.")
    max_input_tokens: int = _setting(8191, "EMBEDDING_MAX_INPUT_TOKENS", "Longer inputs are truncated first.")
    concurrency: int = _setting(4, "EMBEDDING_CONCURRENCY", "Embeddings requests in flight at once.")
    max_retries: int = _setting(6, "EMBEDDING_MAX_RETRIES", "Retries of a failed request (429, 5xx, network).")
    timeout_s: float = _setting(60.0, "EMBEDDING_TIMEOUT_S", "Timeout of one embeddings request, seconds.")
    local_dimensions: int = _setting(384, "EMBEDDING_LOCAL_DIMENSIONS", "Vector length of the local embedder.")

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


class PipelineResource(_SettingsResource):
    """Batching, parallelism, chunking and vector-index knobs of the stages."""

    batch_size: int = _setting(200, "PIPELINE_BATCH_SIZE", "Rows read and committed per batch in each stage.")
    workers: int = _setting(0, "PIPELINE_WORKERS", "Processes for conversion and chunking (0: one per core).")
    embed_batch_size: int = _setting(512, "PIPELINE_EMBED_BATCH_SIZE", "Chunk texts read per embedding batch.")
    chunk_max_tokens: int = _setting(512, "CHUNK_MAX_TOKENS", "Chunk size bound, in cl100k tokens.")
    chunk_overlap_tokens: int = _setting(64, "CHUNK_OVERLAP_TOKENS", "Tokens repeated between consecutive chunks.")
    hnsw_m: int = _setting(16, "VECTOR_HNSW_M", "HNSW links per node, used when a model's index is built.")
    hnsw_ef_construction: int = _setting(
        64, "VECTOR_HNSW_EF_CONSTRUCTION", "HNSW build candidate list, used when a model's index is built."
    )

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
        )


class SearchResource(_SettingsResource):
    """Query-time knobs of hybrid search."""

    rrf_k: int = _setting(RRF_K, "SEARCH_RRF_K", "Reciprocal-rank-fusion constant (small: top ranks dominate).")
    ef_search: int = _setting(
        DEFAULT_EF_SEARCH, "VECTOR_EF_SEARCH", "HNSW search candidate list: higher, better recall, slower."
    )

    def settings(self) -> SearchSettings:
        """The search settings.

        Raises:
            ValueError: a value is out of range; the message names the variable.
        """
        return SearchSettings(**self._values())


class LocalStackResource(_SettingsResource):
    """The embedded local stack of the CLI (PostgreSQL, Dagster home, sandbox). Not part of the code location."""

    home: str | None = _setting(
        None, "CONFLUENCE_PIPELINE_HOME", "Folder of the embedded server's data and the Dagster home (default .local)."
    )
    dagster_home: str | None = _setting(None, "DAGSTER_HOME", "Dagster instance folder (default <home>/dagster_home).")
    dagster_pg_url: str | None = _setting(
        None, "DAGSTER_PG_URL", "Dagster's storage, postgresql+psycopg2://… (default: from DATABASE_URL).", secret=True
    )
    sandbox_port: int = _setting(
        DEFAULT_SANDBOX_PORT, "SANDBOX_PORT", "Port of the local Confluence sandbox (demo, dev)."
    )
    sandbox_pages: int = _setting(500, "SANDBOX_PAGES", "Generated pages of the local sandbox.")
    sandbox_seed: int = _setting(7, "SANDBOX_SEED", "Seed of the local sandbox's generated corpus.")

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


RESOURCE_CLASSES: tuple[type[_SettingsResource], ...] = (
    PostgresResource,
    ConfluenceResource,
    EmbeddingsResource,
    PipelineResource,
    SearchResource,
    LocalStackResource,
)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _field_type(annotation: Any) -> Any:
    """``int`` for ``int`` and ``int | None``, and so on."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return args[0] if args else annotation


def _parse(env: str, raw: str, kind: Any) -> Any:
    if kind is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise SettingError(f"{env}={raw!r} is not a boolean; use true or false", setting=env)
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            noun = "an integer" if kind is int else "a number"
            raise SettingError(f"{env}={raw!r} is not {noun}", setting=env) from None
    return raw


def _bind[R: ConfigurableResource](resource: type[R], environ: Mapping[str, str]) -> R:
    """The resource with each field whose variable is set bound to it: secrets with EnvVar, the rest by value."""
    values: dict[str, Any] = {}
    for name, info in resource.model_fields.items():
        env, secret = setting_variable(resource, name)
        raw = environ.get(env, "").strip()
        if not raw:
            continue
        values[name] = EnvVar(env) if secret else _parse(env, raw, _field_type(info.annotation))
    return resource(**values)


def build_resources(environ: Mapping[str, str] | None = None) -> dict[str, ConfigurableResource]:
    """The resources of the code location, bound to ``environ`` (default: this process's environment).

    Args:
        environ: the environment to bind. Secrets are bound with ``EnvVar``, which Dagster resolves from the
            environment of the process that runs (normally the same one).

    Returns:
        ``postgres``, ``confluence``, ``embeddings``, ``pipeline`` and ``search``.

    Raises:
        SettingError: a variable holds a value its field cannot take; the message names it.
    """
    env = os.environ if environ is None else environ
    return {
        "postgres": _bind(PostgresResource, env),
        "confluence": _bind(ConfluenceResource, env),
        "embeddings": _bind(EmbeddingsResource, env),
        "pipeline": _bind(PipelineResource, env),
        "search": _bind(SearchResource, env),
    }


@dataclass(frozen=True)
class ConfiguredResources:
    """The code location's resources with their ``EnvVar`` bindings resolved, plus the local stack's, for the CLI."""

    postgres: PostgresResource
    confluence: ConfluenceResource
    embeddings: EmbeddingsResource
    pipeline: PipelineResource
    search: SearchResource
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
    return ConfiguredResources(**built, local_stack=_resolved(_bind(LocalStackResource, env), env))  # type: ignore[arg-type]
