"""The Kubernetes example (deploy/helm/values.yaml) stays in step with the project: its module, settings and secrets."""

from __future__ import annotations

from pathlib import Path

import yaml

from confluence_pipeline.defs.resources import RESOURCE_CLASSES, setting_variable

REPO_ROOT = Path(__file__).resolve().parents[1]
VALUES = yaml.safe_load((REPO_ROOT / "deploy" / "helm" / "values.yaml").read_text(encoding="utf-8"))


def _settings() -> dict[str, bool]:
    """Every variable the resources bind, and whether it is a secret."""
    return dict(setting_variable(resource, field) for resource in RESOURCE_CLASSES for field in resource.model_fields)


def test_the_code_location_is_the_one_workspace_yaml_loads() -> None:
    [deployment] = VALUES["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text(encoding="utf-8"))
    target = workspace["load_from"][0]["python_module"]
    assert args == ["--module-name", target["module_name"], "--attribute", target["attribute"]]
    assert VALUES["dagster-user-deployments"]["enabled"] and deployment["includeConfigInLaunchedRuns"]["enabled"]


def test_settings_are_real_and_secrets_come_only_from_the_kubernetes_secret() -> None:
    [deployment] = VALUES["dagster-user-deployments"]["deployments"]
    settings = _settings()
    names = [entry["name"] for entry in deployment["env"]]
    assert sorted(set(names) - set(settings)) == [], "not a setting of the project"
    assert [name for name in names if settings[name]] == [], "secrets belong in the Secret, not in plain env"
    assert all(isinstance(entry["value"], str) for entry in deployment["env"])
    assert deployment["envSecrets"] == [{"name": "confluence-pipeline-env"}]


def test_runs_go_to_kubernetes_jobs_through_the_queue_with_limits() -> None:
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher"
    daemon = VALUES["dagsterDaemon"]
    assert daemon["runCoordinator"]["type"] == "QueuedRunCoordinator" and daemon["runRetries"]["enabled"]
    concurrency = VALUES["concurrency"]
    assert concurrency["enabled"] and concurrency["pools"]["defaultLimit"] and concurrency["runs"]["maxConcurrentRuns"]
    # The chart refuses the limit in both places.
    assert "maxConcurrentRuns" not in daemon["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert VALUES["postgresql"]["postgresqlScheme"] == "postgresql+psycopg2"
    assert not VALUES["generatePostgresqlPasswordSecret"] and "postgresqlPassword" not in VALUES["postgresql"]
