"""Storage-format (XHTML) bodies for generated sandbox pages.

Bodies are built on demand from ``(seed, page id, version)`` plus the page's small metadata, so a 40,000-page corpus
holds no body text in memory. They use the markup Confluence really stores (compare the bundled fixture pages):
headings, paragraphs, lists, tables with ``rowspan``/``colspan`` and ``th`` cells in ``tbody``, the ``code``,
``info``/``note``/``warning``/``tip``/``panel``, ``expand``, ``status``, ``jira``, ``toc``, ``children`` and
``anchor`` macros, page/attachment/anchor links, user mentions, images, task lists, layouts, emoticons, ``time``,
``ac:placeholder``, inline comment markers and HTML entities such as ``&nbsp;``.
"""

from confluence_sandbox.bodies.blocks import BodyContext
from confluence_sandbox.bodies.render import render_index_body, render_topic_body, revision_note, to_utc
from confluence_sandbox.bodies.shapes import SHAPES, term
from confluence_sandbox.bodies.writer import BodyAttachment, MentionUser, StorageWriter

__all__ = [
    "SHAPES",
    "BodyAttachment",
    "BodyContext",
    "MentionUser",
    "StorageWriter",
    "render_index_body",
    "render_topic_body",
    "revision_note",
    "term",
    "to_utc",
]
