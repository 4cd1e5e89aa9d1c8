"""The monitoring resource: alert and freshness settings from the environment, secrets bound as EnvVar."""

from __future__ import annotations

import pytest
from dagster import EnvVar

from confluence_pipeline.defs.resources import SettingError, build_resources, configured_resources, secret_values
from confluence_pipeline.maintenance.alerts import AlertSettings
from confluence_pipeline.maintenance.freshness import FreshnessSettings

HOOK = "https://hooks.slack.com/services/T0/B0/hook-secret"


def test_defaults_send_nothing_and_allow_a_day() -> None:
    monitoring = configured_resources({}).monitoring
    assert monitoring.alert_settings() == AlertSettings()
    assert monitoring.freshness_settings() == FreshnessSettings(max_age_hours=24.0)


def test_values_reach_the_settings_and_the_webhook_is_a_secret() -> None:
    environ = {
        "ALERT_WEBHOOK_URL": HOOK,
        "ALERT_UI_URL": "https://dagster.acme.com",
        "ALERT_SLOW_SYNC_MINUTES": "30",
        "ALERT_FAILED_PAGES_PERCENT": "2.5",
        "ALERT_TIMEOUT_S": "5",
        "ALERT_MAX_RETRIES": "1",
        "FRESHNESS_MAX_AGE_HOURS": "6",
    }
    bound = build_resources(environ)["monitoring"]
    assert isinstance(bound.webhook_url, EnvVar) and bound.webhook_url.env_var_name == "ALERT_WEBHOOK_URL"
    monitoring = configured_resources(environ).monitoring
    assert monitoring.alert_settings() == AlertSettings(
        webhook_url=HOOK,
        ui_url="https://dagster.acme.com",
        slow_sync_minutes=30.0,
        failed_pages_percent=2.5,
        timeout_s=5.0,
        max_retries=1,
    )
    assert monitoring.freshness_settings().max_age_hours == 6.0
    assert HOOK not in repr(monitoring.alert_settings())
    assert secret_values(monitoring) == [HOOK]


def test_bad_values_name_the_variable_and_never_the_webhook() -> None:
    with pytest.raises(SettingError, match="ALERT_SLOW_SYNC_MINUTES='soon' is not a number"):
        configured_resources({"ALERT_SLOW_SYNC_MINUTES": "soon"})
    with pytest.raises(ValueError, match="ALERT_WEBHOOK_URL is not an http") as caught:
        configured_resources({"ALERT_WEBHOOK_URL": "hooks.slack.com/services/hook-secret"}).monitoring.alert_settings()
    assert "hook-secret" not in str(caught.value)
    with pytest.raises(ValueError, match="FRESHNESS_MAX_AGE_HOURS"):
        configured_resources({"FRESHNESS_MAX_AGE_HOURS": "0"}).monitoring.freshness_settings()
