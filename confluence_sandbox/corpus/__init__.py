"""The sandbox's deterministic Confluence content: users, spaces, page trees, versions, labels and attachments.

``generate_corpus(pages, seed)`` builds the same corpus for the same arguments on any machine: every timestamp
derives from the fixed :data:`EPOCH` (2026-01-05T09:00Z), never from the current time. Pages keep only small
metadata; storage bodies and attachment lists are rebuilt on demand from ``(seed, page id, version)``, so 40,000
pages take a few megabytes and build in about a second.

Finding pages for search queries
--------------------------------
Generated pages are the combination (topic, subject, variant) from :mod:`confluence_sandbox.topics`:
"Runbook: payment-gateway consumer lag", "order-service 카나리 배포 가이드", "orders_daily 백필 절차" …
Each combination is handed out once before any repeats, and every page also carries a unique code (an error code
such as ``PAYGW-E1417``, a data-quality check id or a policy id) and a unique Jira key. To write search-relevance
tests:

- ``corpus.query_candidates(language="ko")`` lists ready-made natural-language queries (Korean or English) whose
  one right answer is a known page (``kind="topic"``: only combinations that name exactly one current, searchable
  page), plus ``kind="code"`` queries built around the page's unique code;
- ``corpus.keywords(page_id)`` gives a page's topic, subject, distinctive terms, code and the queries above;
- ``corpus.topics()`` summarises the topics (language, description, variants, page counts);
- ``corpus.find_pages("consumer lag")`` lists the pages whose title or keywords contain a term, to check that a
  hand-written query is unambiguous. It does not scan bodies; ``corpus.body(page)`` renders one when needed.
"""

from confluence_sandbox.corpus.content import plain_text
from confluence_sandbox.corpus.generate import generate_corpus
from confluence_sandbox.corpus.model import (
    ALL_USERS,
    EPOCH,
    EPOCH_MS,
    FLAVORS,
    KIND_CREATED,
    KIND_FIXTURE,
    KIND_FOLDER,
    KIND_HOME,
    KIND_SECTION,
    PROFILES,
    SERVICE_USER,
    STATUSES,
    USERS,
    Attachment,
    CorpusError,
    Page,
    PageKeywords,
    QueryCandidate,
    Space,
    TopicSummary,
    User,
    format_instant,
)
from confluence_sandbox.corpus.store import Corpus

__all__ = [
    "ALL_USERS",
    "EPOCH",
    "EPOCH_MS",
    "FLAVORS",
    "KIND_CREATED",
    "KIND_FIXTURE",
    "KIND_FOLDER",
    "KIND_HOME",
    "KIND_SECTION",
    "PROFILES",
    "SERVICE_USER",
    "STATUSES",
    "USERS",
    "Attachment",
    "Corpus",
    "CorpusError",
    "Page",
    "PageKeywords",
    "QueryCandidate",
    "Space",
    "TopicSummary",
    "User",
    "format_instant",
    "generate_corpus",
    "plain_text",
]
