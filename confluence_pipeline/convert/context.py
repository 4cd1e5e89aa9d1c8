"""What the converter knows about a page beyond its body, and what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from confluence_pipeline.convert.resolve import Dependency, ReferenceResolver, ResolveLimits


@dataclass(frozen=True)
class ConvertContext:
    """What the converter knows about the page beyond its body.

    Attributes:
        page_id: the page id, used in attachment download URLs and warnings.
        page_title: the page title, used in warnings.
        space_key: the page's space, the default space of page links.
        base_url: the Confluence site URL (Cloud: ``https://x.atlassian.net/wiki``).
        jira_base_url: the Jira site URL; jira macro keys become links when set.
        users: accountId, userkey or username → display name.
        attachments: attachment file name → download URL.
        resolver: answers for macros whose content lives elsewhere (include, children, gallery...); None renders
            them as links (see :mod:`confluence_pipeline.convert.referenced`).
        limits: bounds of that resolution.
    """

    page_id: str | None = None
    page_title: str | None = None
    space_key: str | None = None
    base_url: str | None = None
    jira_base_url: str | None = None
    users: Mapping[str, str] = field(default_factory=dict)
    attachments: Mapping[str, str] = field(default_factory=dict)
    resolver: ReferenceResolver | None = None
    limits: ResolveLimits = field(default_factory=ResolveLimits)


@dataclass
class Conversion:
    """The Markdown of a page and what went wrong while making it.

    Attributes:
        markdown: GitHub-flavoured Markdown, ending with a newline unless empty.
        warnings: human-readable problems (malformed input, flattened deep nesting, sources not in the store),
            each naming the page.
        dependencies: what the conversion asked the context's resolver (the pages, trees, labels and attachments
            the Markdown depends on), in the order first asked.
    """

    markdown: str
    warnings: list[str] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)


def page_label(ctx: ConvertContext) -> str:
    """Name a page for warnings and logs: ``page 123 "Title"``.

    Args:
        ctx: the conversion context.

    Returns:
        A short label with whatever of the id and title is known.
    """
    parts = ["page"]
    if ctx.page_id:
        parts.append(ctx.page_id)
    if ctx.page_title:
        parts.append(f'"{ctx.page_title}"')
    if len(parts) == 1:
        parts.append("(unknown)")
    return " ".join(parts)
