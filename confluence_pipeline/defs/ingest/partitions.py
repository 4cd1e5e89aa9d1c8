"""One dynamic partition per Confluence space key, and the one place that registers new ones."""

from collections.abc import Collection

from dagster import DagsterInstance, DynamicPartitionsDefinition

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.sync import SpaceDiscovery, find_new_spaces

SPACES_PARTITIONS_NAME = "confluence_spaces"

space_partitions = DynamicPartitionsDefinition(name=SPACES_PARTITIONS_NAME)


def discover_new_spaces(
    instance: DagsterInstance, client: ConfluenceClient, removed: Collection[str] = ()
) -> SpaceDiscovery:
    """List the site's spaces to sync and tell which are not partitions of the instance yet.

    Args:
        instance: the Dagster instance that holds the space partitions.
        client: the Confluence client.
        removed: spaces taken out of the pipeline (``spaces remove``): never reported, so never added back.

    Returns:
        Every space key to sync and the ones without a partition.
    """
    found = find_new_spaces(client, instance.get_dynamic_partitions(space_partitions.name))
    skip = set(removed)
    return SpaceDiscovery(
        keys=[key for key in found.keys if key not in skip], new=[key for key in found.new if key not in skip]
    )


def register_new_spaces(
    instance: DagsterInstance, client: ConfluenceClient, removed: Collection[str] = ()
) -> SpaceDiscovery:
    """Discover spaces and add the new ones as partitions right away (the CLI's path).

    A sensor returns ``space_partitions.build_add_request(discovery.new)`` from :func:`discover_new_spaces` instead,
    so that the partitions and the runs it requests for them are recorded in the same tick.

    Args:
        instance: the Dagster instance that holds the space partitions.
        client: the Confluence client.
        removed: spaces taken out of the pipeline; they are left out.

    Returns:
        Every space key to sync and the ones that were added.
    """
    discovery = discover_new_spaces(instance, client, removed)
    if discovery.new:
        instance.add_dynamic_partitions(space_partitions.name, discovery.new)
    return discovery
