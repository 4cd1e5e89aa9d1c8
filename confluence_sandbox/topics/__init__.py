"""The sandbox corpus's subject matter: services, data sets, HR subjects, topics and their variants.

A generated page is the combination (topic, subject, variant): for example topic ``deploy_ko`` ("배포 가이드"),
subject ``payment-gateway`` and variant "카나리 배포 가이드". The corpus hands out each combination once before it
repeats any, so in corpora up to a few thousand pages every combination names exactly one page; the variant's
``queries`` are then unambiguous search queries for that page (see ``Corpus.query_candidates``).
"""

from confluence_sandbox.topics.catalog import SPACE_TOPICS, TOPIC_INDEX, TOPICS, TOPICS_BY_KEY
from confluence_sandbox.topics.model import Subject, Topic, Variant
from confluence_sandbox.topics.subjects import DATASETS, HR_SUBJECTS, SERVICES, SUBJECTS_BY_KIND

__all__ = [
    "DATASETS",
    "HR_SUBJECTS",
    "SERVICES",
    "SPACE_TOPICS",
    "SUBJECTS_BY_KIND",
    "TOPICS",
    "TOPICS_BY_KEY",
    "TOPIC_INDEX",
    "Subject",
    "Topic",
    "Variant",
]
