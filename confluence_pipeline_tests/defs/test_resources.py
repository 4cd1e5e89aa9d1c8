"""One configuration path: every setting is a described resource field, listed in the README, shown as runs use it."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from dagster import Definitions, EnvVar
from dagster._core.remote_representation.external_data import RepositorySnap, ResourceConfigEnvVarSnap

from confluence_pipeline.confluence.settings import ConfluenceSettings
from confluence_pipeline.defs.resources import (
    RESOURCE_CLASSES,
    LocalStackResource,
    SettingError,
    build_resources,
    configured_resources,
    setting_variable,
)
from confluence_pipeline.embed.factory import EmbeddingSettings
from confluence_pipeline.localstack import PROJECT_ROOT, LocalStackSettings
from confluence_pipeline.plays.settings import PlaySettings, PlaySettingsError, RagThresholds
from confluence_pipeline.search import SearchSettings
from confluence_pipeline.stages import StageSettings

README = PROJECT_ROOT / "README.md"
PRODUCT = PROJECT_ROOT / "confluence_pipeline"

# A configured site, with a value of every kind; secrets among them.
ENVIRON = {
    "DATABASE_URL": "postgresql://app:db-secret@db.example/confluence",
    "CONFLUENCE_BASE_URL": "https://acme.atlassian.net",
    "CONFLUENCE_EMAIL": "bot@acme.com",
    "CONFLUENCE_API_TOKEN": "atlassian-secret",
    "CONFLUENCE_VERIFY_TLS": "no",
    "CONFLUENCE_RATE_LIMIT_RPS": "2.5",
    "CONFLUENCE_MAX_RETRIES": " 3 ",
    "CONFLUENCE_SPACES": "ENG, OPS,",
    "CONFLUENCE_TIMEZONE": "",
    "JIRA_BASE_URL": "https://acme.atlassian.net/jira",
    "OPENAI_API_KEY": "sk-openai-secret",
    "EMBEDDING_PROVIDER": "OpenAI",
    "EMBEDDING_DIMENSIONS": "768",
    "PIPELINE_WORKERS": "2",
    "VECTOR_HNSW_M": "24",
    "VECTOR_EF_SEARCH": "100",
    "SEARCH_RRF_K": "10",
    "SANDBOX_PORT": "9999",
    "CONFLUENCE_PLAY_DB_PAGE_ID": " 720899 ",
    "CONFLUENCE_PLAY_LIVE_DOCS": '{"EXT_Desk_D01": 819201}',
    "PLAY_RAG_RED_BELOW": "0.4",
    "PLAY_OUTBOX_ATTEMPTS": "5",
}


def _names() -> dict[type, str]:
    """Each resource class and the name it has in the code location (or in ``ConfiguredResources``)."""
    names = {type(resource): name for name, resource in build_resources({}).items()}
    names[LocalStackResource] = "local_stack"
    return names


def _bindings() -> dict[str, tuple[str, bool]]:
    """Every variable the resources bind: its ``resource.field`` and whether it is a secret."""
    names = _names()
    out: dict[str, tuple[str, bool]] = {}
    for resource in RESOURCE_CLASSES:
        for field in resource.model_fields:
            variable, secret = setting_variable(resource, field)
            assert variable not in out, f"{variable} is bound twice"
            out[variable] = (f"{names[resource]}.{field}", secret)
    return out


def test_every_resource_field_has_a_description_and_a_variable() -> None:
    assert set(_names()) == set(RESOURCE_CLASSES)
    for resource in RESOURCE_CLASSES:
        assert resource.__doc__, resource.__name__
        for name, info in resource.model_fields.items():
            assert info.description and len(info.description) > 20, f"{resource.__name__}.{name} has no description"
            variable, _ = setting_variable(resource, name)
            assert re.fullmatch(r"[A-Z][A-Z0-9_]+", variable)
            assert variable in info.description


def _readme_table() -> dict[str, tuple[str, bool]]:
    """The README's settings table: variable → (resource field, secret), parsed from its first two columns."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Settings\n") : text.index("\n## ", text.index("\n## Settings\n") + 1)]
    rows: dict[str, tuple[str, bool]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`"):
            continue
        variables = re.findall(r"`([A-Z][A-Z0-9_]+)`( \(secret\))?", cells[0])
        fields = re.findall(r"`([a-z_]+\.[a-z_]+)`", cells[1])
        assert len(variables) == len(fields), line
        for (variable, secret), field in zip(variables, fields, strict=True):
            assert variable not in rows, f"README lists {variable} twice"
            rows[variable] = (field, bool(secret))
    return rows


def test_the_readme_lists_every_variable_the_resources_bind() -> None:
    readme, bound = _readme_table(), _bindings()
    assert sorted(set(bound) - set(readme)) == [], "bound but missing from the README's settings table"
    assert sorted(set(readme) - set(bound)) == [], "in the README's settings table but bound by no resource"
    assert readme == bound, "README rows name another field, or mark secrets differently"


def test_unset_variables_leave_the_defaults_of_the_plain_settings() -> None:
    resources = configured_resources({})
    assert resources.confluence.settings() == ConfluenceSettings(base_url="")
    assert resources.embeddings.settings() == EmbeddingSettings()
    assert resources.pipeline.settings() == StageSettings()
    assert resources.search.settings() == SearchSettings()
    assert resources.local_stack.settings() == LocalStackSettings(home=(PROJECT_ROOT / ".local").resolve())
    assert resources.plays.settings() == PlaySettings()


def test_values_are_parsed_and_reach_the_plain_settings() -> None:
    resources = configured_resources(ENVIRON)
    confluence = resources.confluence.settings()
    assert confluence.api_token == "atlassian-secret" and confluence.email == "bot@acme.com"
    assert confluence.verify_tls is False and confluence.rate_limit_rps == 2.5 and confluence.max_retries == 3
    assert confluence.spaces == ("ENG", "OPS") and confluence.timezone is None
    embeddings = resources.embeddings.settings()
    assert embeddings.provider == "openai" and embeddings.dimensions == 768 and embeddings.api_key == "sk-openai-secret"
    stage = resources.pipeline.settings(confluence)
    assert stage.workers == 2 and stage.hnsw.m == 24
    assert stage.site_url == "https://acme.atlassian.net" and stage.jira_base_url == "https://acme.atlassian.net/jira"
    assert resources.search.settings() == SearchSettings(rrf_k=10, ef_search=100)
    assert resources.postgres.database_url() == ENVIRON["DATABASE_URL"]
    assert resources.local_stack.settings().sandbox_port == 9999
    plays = resources.plays.settings()
    assert plays.play_db_page_id == "720899" and plays.live_docs == {"EXT_Desk_D01": "819201"}
    assert plays.rag == RagThresholds(red_below=0.4) and plays.outbox_attempts == 5


def test_secrets_are_bound_with_envvar_and_everything_else_by_value() -> None:
    resources = build_resources(ENVIRON)
    assert isinstance(resources["confluence"].api_token, EnvVar)
    assert resources["confluence"].api_token.env_var_name == "CONFLUENCE_API_TOKEN"
    assert isinstance(resources["postgres"].url, EnvVar) and isinstance(resources["embeddings"].api_key, EnvVar)
    assert resources["confluence"].rate_limit_rps == 2.5 and not isinstance(resources["confluence"].base_url, EnvVar)
    # Read outside a run, an EnvVar field holds the variable's name: settings() refuses rather than use it.
    with pytest.raises(RuntimeError, match="configured_resources"):
        resources["confluence"].settings()


def test_the_ui_shows_exactly_what_the_run_uses() -> None:
    """The values Dagster shows for each resource are the ones the settings objects are built from."""
    snapshot = RepositorySnap.from_def(Definitions(resources=build_resources(ENVIRON)).get_repository_def())
    resolved = configured_resources(ENVIRON)
    shown = {snap.name: snap for snap in snapshot.resources}
    assert set(shown) == {
        "postgres",
        "confluence",
        "embeddings",
        "pipeline",
        "search",
        "monitoring",
        "plays",
        "reconcile",
        "automation",
    }
    for name, snap in shown.items():
        resource = getattr(resolved, name)
        assert set(snap.configured_values) == set(type(resource).model_fields), name
        for field, value in snap.configured_values.items():
            variable, secret = setting_variable(type(resource), field)
            used = getattr(resource, field)
            if isinstance(value, ResourceConfigEnvVarSnap):
                # The UI names the variable; the run reads it.
                assert secret and value.name == variable and used == ENVIRON[variable], field
            else:
                assert not (secret and used), f"{name}.{field}: a secret's value is shown"
                assert json.loads(value) == used, f"{name}.{field}: UI shows {value}, the run uses {used!r}"
        assert {f.name: f.description for f in snap.config_field_snaps} == {
            f: info.description for f, info in type(resource).model_fields.items()
        }


def test_settings_do_not_read_the_environment_after_binding(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in ENVIRON.items():
        monkeypatch.setenv(variable, value)
    resources = configured_resources()
    before = (resources.confluence.settings(), resources.pipeline.settings(), resources.search.settings())
    for variable in ("CONFLUENCE_RATE_LIMIT_RPS", "PIPELINE_WORKERS", "VECTOR_EF_SEARCH", "CONFLUENCE_API_TOKEN"):
        monkeypatch.setenv(variable, "7")
    monkeypatch.setenv("CONFLUENCE_CONNECT_TIMEOUT_S", "1")
    assert (resources.confluence.settings(), resources.pipeline.settings(), resources.search.settings()) == before
    # A new binding sees the new environment, as a newly loaded code location would.
    rebound = configured_resources().confluence.settings()
    assert rebound == replace(before[0], rate_limit_rps=7.0, api_token="7", connect_timeout_s=1.0)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONFLUENCE_VERIFY_TLS", "maybe", "not a boolean"),
        ("CONFLUENCE_RATE_LIMIT_RPS", "fast", "not a number"),
        ("PIPELINE_BATCH_SIZE", "1e3", "not an integer"),
        ("SANDBOX_PORT", "http", "not an integer"),
    ],
)
def test_malformed_values_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingError, match=f"{variable}='{value}' is {message}") as caught:
        configured_resources({variable: value})
    assert caught.value.setting == variable


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"PIPELINE_BATCH_SIZE": "0"}, "PIPELINE_BATCH_SIZE"),
        ({"CHUNK_MAX_TOKENS": "100", "CHUNK_OVERLAP_TOKENS": "50"}, "CHUNK_OVERLAP_TOKENS"),
        ({"PIPELINE_WORKERS": "-1"}, "PIPELINE_WORKERS"),
    ],
)
def test_out_of_range_stage_settings_name_the_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        configured_resources(environ).pipeline.settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CONFLUENCE_PLAY_LIVE_DOCS", "EXT_Desk_D01=819201", "CONFLUENCE_PLAY_LIVE_DOCS is not valid JSON"),
        ("PLAY_TIMEZONE", "Seoul", "PLAY_TIMEZONE='Seoul' is not an IANA time zone"),
        ("PLAY_RAG_RED_BELOW", "2", "PLAY_RAG_RED_BELOW must be in"),
        ("PLAY_OUTBOX_BATCH_SIZE", "0", "PLAY_OUTBOX_BATCH_SIZE must be at least 1"),
    ],
)
def test_play_settings_name_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises((PlaySettingsError, SettingError), match=message):
        configured_resources({variable: value}).plays.settings()


def test_confluence_validation_names_the_variable() -> None:
    settings = configured_resources({**ENVIRON, "CONFLUENCE_BASE_URL": "acme.atlassian.net"}).confluence.settings()
    with pytest.raises(ValueError, match=r"CONFLUENCE_BASE_URL='acme.atlassian.net' is not an http\(s\) URL"):
        settings.validate()
    settings = configured_resources({**ENVIRON, "CONFLUENCE_READ_TIMEOUT_S": "0"}).confluence.settings()
    with pytest.raises(ValueError, match="CONFLUENCE_READ_TIMEOUT_S"):
        settings.validate()


def test_a_missing_database_url_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL is not set"):
        configured_resources({}).postgres.database_url()


def test_plain_modules_never_read_the_environment() -> None:
    """Only the Dagster glue and the CLI read the environment; localstack only writes it, for child processes."""
    reads = re.compile(r"os\.getenv|environ\.get\(|os\.environ\[[^\]]+\](?!\s*=[^=])|os\.environ(?![\[.])")
    allowed = {PRODUCT / "defs" / "resources.py", PRODUCT / "defs" / "binding.py"}
    offenders = []
    for path in sorted(PRODUCT.rglob("*.py")):
        if path in allowed or PRODUCT / "cli" in path.parents:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if reads.search(line.split("#", 1)[0]):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert offenders == []
