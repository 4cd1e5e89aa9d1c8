"""How a resource field becomes a setting: its default, its description, its variable, and binding from the environment.

The machinery behind :mod:`confluence_pipeline.defs.resources`, which holds the settings themselves.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

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


def setting(default: Any, env: str, description: str, *, secret: bool = False) -> Any:
    """A resource field: its default, its description (shown in the UI) and the variable that sets it."""
    extra = {"env": env, "secret": secret}
    return Field(default=default, description=f"{description} Set by {env}.", json_schema_extra=extra)


def setting_variable(resource: type[ConfigurableResource], field: str) -> tuple[str, bool]:
    """The environment variable that sets a resource field, and whether it is a secret (bound with ``EnvVar``)."""
    extra = resource.model_fields[field].json_schema_extra
    if not isinstance(extra, dict) or not isinstance(extra.get("env"), str):
        raise TypeError(f"{resource.__name__}.{field} names no environment variable; declare it with setting()")
    return str(extra["env"]), bool(extra.get("secret"))


class SettingsResource(ConfigurableResource):
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


def split_list(value: str) -> tuple[str, ...]:
    """The non-empty, stripped items of a comma-separated setting."""
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


def bind[R: ConfigurableResource](resource: type[R], environ: Mapping[str, str]) -> R:
    """The resource with each field whose variable is set bound to it: secrets with EnvVar, the rest by value."""
    values: dict[str, Any] = {}
    for name, info in resource.model_fields.items():
        env, secret = setting_variable(resource, name)
        raw = environ.get(env, "").strip()
        if not raw:
            continue
        values[name] = EnvVar(env) if secret else _parse(env, raw, _field_type(info.annotation))
    return resource(**values)
