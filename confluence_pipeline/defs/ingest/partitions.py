"""One dynamic partition per Confluence space key."""

from dagster import DynamicPartitionsDefinition

SPACES_PARTITIONS_NAME = "confluence_spaces"

space_partitions = DynamicPartitionsDefinition(name=SPACES_PARTITIONS_NAME)
