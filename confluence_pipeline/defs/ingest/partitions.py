"""One dynamic partition per Confluence space key, and the one place that registers new ones."""

from dagster import DagsterInstance, DynamicPartitionsDefinition

from confluence_pipeline.confluence.client import ConfluenceClient
from confluence_pipeline.confluence.sync import SpaceDiscovery, find_new_spaces

SPACES_PARTITIONS_NAME = "confluence_spaces"

space_partitions = DynamicPartitionsDefinition(name=SPACES_PARTITIONS_NAME)


def discover_new_spaces(instance: DagsterInstance, client: ConfluenceClient) -> SpaceDiscovery:
    """List the site's spaces to sync and tell which are not partitions of the instance yet.

    Args:
        instance: the Dagster instance that holds the space partitions.
        client: the Confluence client.

    Returns:
        Every space key to sync and the ones without a partition.
    """
    return find_new_spaces(client, instance.get_dynamic_partitions(space_partitions.name))


def register_new_spaces(instance: DagsterInstance, client: ConfluenceClient) -> SpaceDiscovery:
    """Discover spaces and add the new ones as partitions right away (the CLI's path).

    A sensor returns ``space_partitions.build_add_request(discovery.new)`` from :func:`discover_new_spaces` instead,
    so that the partitions and the runs it requests for them are recorded in the same tick.

    Args:
        instance: the Dagster instance that holds the space partitions.
        client: the Confluence client.

    Returns:
        Every space key to sync and the ones that were added.
    """
    discovery = discover_new_spaces(instance, client)
    if discovery.new:
        instance.add_dynamic_partitions(space_partitions.name, discovery.new)
    return discovery
