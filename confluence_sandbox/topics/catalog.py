"""The topic catalogue in order, looked up by key and index, and the topics each generated space holds."""

from __future__ import annotations

from confluence_sandbox.topics.engineering import ENGINEERING_TOPICS
from confluence_sandbox.topics.model import Topic
from confluence_sandbox.topics.teams import TEAM_TOPICS

# Pages refer to topics by their index in this tuple, so its order is part of every generated corpus: new topics go
# at the end of TEAM_TOPICS.
TOPICS: tuple[Topic, ...] = (*ENGINEERING_TOPICS, *TEAM_TOPICS)

TOPICS_BY_KEY: dict[str, Topic] = {t.key: t for t in TOPICS}
TOPIC_INDEX: dict[str, int] = {t.key: i for i, t in enumerate(TOPICS)}

# Which topics each generated space holds, with relative weights.
SPACE_TOPICS: dict[str, tuple[tuple[str, int], ...]] = {
    "ENG": (
        ("howto_en", 3),
        ("design_en", 3),
        ("api_en", 2),
        ("deploy_ko", 2),
        ("adr_en", 1),
        ("release_en", 1),
        ("onboarding_ko", 1),
        ("faq_ko", 1),
    ),
    "OPS": (
        ("runbook_en", 4),
        ("runbook_ko", 4),
        ("incident_en", 2),
        ("incident_ko", 2),
        ("monitoring_ko", 2),
        ("deploy_ko", 1),
    ),
    "DATA": (("datapipe_ko", 4), ("dataspec_ko", 3), ("meeting_ko", 1)),
    "HR": (("policy_ko", 4), ("policy_en", 2), ("onboarding_ko", 1)),
    "~alice": (("meeting_ko", 2), ("howto_en", 1)),
    "LEGACY": (("release_en", 2), ("design_en", 1), ("adr_en", 1)),
}
