"""Space partitions: one registration path for the CLI and the sensor, over the real sandbox."""

from __future__ import annotations

from dagster import DagsterInstance

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.sync import find_new_spaces
from confluence_pipeline.defs.ingest.partitions import discover_new_spaces, register_new_spaces, space_partitions
from confluence_pipeline_tests.confluence.helpers import sandbox_settings


def test_find_new_spaces_reports_every_key_and_the_unknown_ones(make_sandbox) -> None:
    client = ConfluenceClient(sandbox_settings(make_sandbox(pages=30)))
    everything = find_new_spaces(client, [])
    assert everything.keys == everything.new == sorted(everything.keys) and "ENG" in everything.keys
    # A known key that Confluence no longer lists is not this function's business: its asset marks it missing.
    some = find_new_spaces(client, ["ENG", "GONE"])
    assert some.keys == everything.keys and some.new == [key for key in everything.keys if key != "ENG"]


def test_register_new_spaces_adds_each_space_once(make_sandbox) -> None:
    client = ConfluenceClient(sandbox_settings(make_sandbox(pages=30)))
    instance = DagsterInstance.ephemeral()
    first = register_new_spaces(instance, client)
    assert first.new == first.keys and first.keys
    assert sorted(instance.get_dynamic_partitions(space_partitions.name)) == first.keys
    again = register_new_spaces(instance, client)
    assert again.keys == first.keys and again.new == []
    assert discover_new_spaces(instance, client).new == []
