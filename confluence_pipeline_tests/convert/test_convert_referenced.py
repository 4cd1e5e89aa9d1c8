"""Golden tests of the macros whose content lives elsewhere, and of the local defects of issue 11.

Snippets are written the way the real pages are (``../shared/fixtures``): macros with ``ac:parameter`` children, page
references as ``ri:page`` with ``ri:content-title`` + ``ri:space-key`` (Data Center, and Cloud pages saved with a
title) or with ``ri:content-id`` (Cloud). The answers come from a :class:`PageIndex`, the resolver the pipeline
builds from its store.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from confluence_pipeline.convert.resolve import (
    PageIndex,
    ResolveLimits,
    StoredAttachment,
    StoredPage,
    needs_resolver,
)
from confluence_pipeline.convert.storage import ConvertContext, convert_storage

from .conftest import CONTEXT, md

ONCALL_BODY = (
    "<h2>Paging</h2><p>Page the <strong>on-call engineer</strong> through PagerDuty.</p>"
    '<ac:structured-macro ac:name="code" ac:schema-version="1"><ac:plain-text-body><![CDATA[pd trigger --service api]]>'
    "</ac:plain-text-body></ac:structured-macro>"
)
EXCERPT_BODY = (
    "<p>Intro that is not the excerpt.</p>"
    '<ac:structured-macro ac:name="excerpt" ac:schema-version="1"><ac:parameter ac:name="hidden">true</ac:parameter>'
    "<ac:rich-text-body><p>Payments settle <em>nightly</em> at 02:00 UTC.</p></ac:rich-text-body></ac:structured-macro>"
)
PLAIN_BODY = "<h1>Glossary</h1><p></p><p>An <strong>SLO</strong> is a target.</p><p>Second paragraph.</p>"

PAGES = [
    StoredPage("1", "ENG", "Engineering", position=0),
    StoredPage("42", "ENG", "Home", parent_id="1", position=0),
    StoredPage("10", "ENG", "Beta", parent_id="42", position=1, created_at="2024-01-01", modified_at="2024-06-01"),
    StoredPage("11", "ENG", "Alpha", parent_id="42", position=0, created_at="2024-02-01", modified_at="2024-05-01"),
    StoredPage("12", "ENG", "Alpha child", parent_id="11", position=0),
    StoredPage("101", "OPS", "On-call procedure", body_storage=ONCALL_BODY, modified_at="2024-03-01"),
    StoredPage("102", "FIN", "Settlement", body_storage=EXCERPT_BODY, modified_at="2024-07-01"),
    StoredPage("103", "ENG", "Glossary", body_storage=PLAIN_BODY, parent_id="1", position=1),
]
RESOLVER = PageIndex(
    PAGES,
    attachments={
        "42": [
            StoredAttachment("diagram.png", "image/png", "https://files.example.com/diagram.png"),
            StoredAttachment("notes.pdf", "application/pdf", "https://files.example.com/notes.pdf"),
            StoredAttachment("photo.jpg", "image/jpeg", "https://files.example.com/photo.jpg"),
        ],
        "103": [StoredAttachment("glossary.gif", "image/gif", "https://files.example.com/glossary.gif")],
    },
    labels={"10": ["runbook"], "11": ["runbook", "ops"], "101": ["runbook", "ops"]},
    homes={"ENG": "1"},
)
STORE = replace(CONTEXT, resolver=RESOLVER)
WIKI = "https://wiki.example.com/display"


def macro(name: str, *params: str) -> str:
    return f'<ac:structured-macro ac:name="{name}" ac:schema-version="1">{"".join(params)}</ac:structured-macro>'


def param(name: str, value: str) -> str:
    return f'<ac:parameter ac:name="{name}">{value}</ac:parameter>'


def by_title(title: str, space: str | None = None) -> str:
    space_attr = f' ri:space-key="{space}"' if space else ""
    return f'<ac:link><ri:page ri:content-title="{title}"{space_attr} /></ac:link>'


def by_id(content_id: str) -> str:
    return f'<ac:link><ri:page ri:content-id="{content_id}" /></ac:link>'


def convert(storage: str, context: ConvertContext = STORE) -> tuple[str, list[str]]:
    result = convert_storage(storage, context)
    return result.markdown, result.warnings


ONCALL_MD = (
    f"*Included from [On-call procedure]({WIKI}/OPS/On-call+procedure):*\n\n## Paging\n\n"
    "Page the **on-call engineer** through PagerDuty.\n\n```\npd trigger --service api\n```\n"
)

# ------------------------------------------------------------------------------------------------ local defects


LOCAL_CASES: dict[str, tuple[str, str]] = {
    "details (Page Properties) with several rich-text bodies: every body": (
        macro(
            "details",
            param("id", "props"),
            "<ac:rich-text-body><table><tbody><tr><th>Owner</th><td>Team A</td></tr></tbody></table>"
            "</ac:rich-text-body>",
            "<ac:rich-text-body><p>Second body.</p></ac:rich-text-body>",
            "<ac:rich-text-body><p>Third body.</p></ac:rich-text-body>",
        ),
        "|  |  |\n| --- | --- |\n| Owner | Team A |\n\nSecond body.\n\nThird body.\n",
    ),
    "code macro with a title and no body: an empty titled block": (
        macro("code", param("title", "setup.sh"), param("language", "bash")),
        "**setup.sh**\n\n```bash\n```\n",
    ),
    "noformat macro with a title and an empty CDATA body: an empty titled block": (
        macro("noformat", param("title", "Output"), "<ac:plain-text-body><![CDATA[]]></ac:plain-text-body>"),
        "**Output**\n\n```\n```\n",
    ),
    "a word followed by a time element in a table cell: two words": (
        '<table><tbody><tr><th>Due</th></tr><tr><td><p>proident<time datetime="2023-05-01" /></p></td></tr>'
        "</tbody></table>",
        "| Due |\n| --- |\n| proident 2023-05-01 |\n",
    ),
    "a time element glued between words and before punctuation": (
        '<p>until<time datetime="2024-01-31" />then <strong>done</strong><time datetime="2024-02-01" />.</p>',
        "until 2024-01-31 then **done** 2024-02-01.\n",
    ),
    "a hidden excerpt is not shown on its own page": (
        macro("excerpt", param("hidden", "true"), "<ac:rich-text-body><p>Hidden.</p></ac:rich-text-body>")
        + "<p>Shown.</p>",
        "Shown.\n",
    ),
}


@pytest.mark.parametrize(("storage", "expected"), LOCAL_CASES.values(), ids=LOCAL_CASES.keys())
def test_local_defects(storage: str, expected: str) -> None:
    assert md(storage) == expected


def test_empty_untitled_code_still_renders_nothing() -> None:
    assert md(macro("code", "<ac:plain-text-body><![CDATA[ ]]></ac:plain-text-body>") + "<p>x</p>") == "x\n"


# ---------------------------------------------------------------------------------------------------- include

REF_FORMS = {
    "title+space": by_title("On-call procedure", "OPS"),
    "content-id": by_id("101"),
}


@pytest.mark.parametrize("ref", REF_FORMS.values(), ids=REF_FORMS.keys())
@pytest.mark.parametrize("name", ["include", "include-page"])
def test_include_inlines_the_page_under_a_linked_source_line(name: str, ref: str) -> None:
    markdown, warnings = convert("<p>Before.</p>" + macro(name, param("", ref)) + "<p>After.</p>")
    assert warnings == []
    assert markdown == "Before.\n\n" + ONCALL_MD + "\nAfter.\n"


def test_include_records_its_dependency() -> None:
    for ref, expected in ((REF_FORMS["title+space"], ("page", "OPS:On-call procedure")), (by_id("101"), None)):
        deps = convert_storage(macro("include", param("", ref)), STORE).dependencies
        assert [(d.kind, d.target) for d in deps] == [expected or ("page-id", "101")]


def test_include_title_without_space_uses_the_page_space() -> None:
    markdown, warnings = convert(macro("include", param("", by_title("Glossary"))))
    assert warnings == []
    assert markdown.startswith(f"*Included from [Glossary]({WIKI}/ENG/Glossary):*\n\n# Glossary\n\nAn **SLO**")


@pytest.mark.parametrize(
    ("ref", "described"),
    [
        (by_title("Restricted runbook", "SEC"), '"Restricted runbook" in space SEC'),
        (by_id("999"), "page 999"),
    ],
    ids=["title+space", "content-id"],
)
def test_include_of_a_page_the_store_lacks_is_a_link_and_a_warning(ref: str, described: str) -> None:
    markdown, warnings = convert(macro("include", param("", ref)))
    if "999" in described:
        assert markdown == "[page 999](https://wiki.example.com/pages/viewpage.action?pageId=999)\n"
    else:
        assert markdown == f"[Restricted runbook]({WIKI}/SEC/Restricted+runbook)\n"
    assert warnings == [f'page 42 "Home": include source {described} is not in the store; rendered as a link']


def test_include_cycle_terminates_with_a_warning() -> None:
    a_body = macro("include", param("", by_title("B", "ENG")))
    b_body = "<p>B text.</p>" + macro("include", param("", by_id("201")))
    resolver = PageIndex(
        [StoredPage("201", "ENG", "A", body_storage=a_body), StoredPage("202", "ENG", "B", body_storage=b_body)]
    )
    context = ConvertContext(page_id="201", page_title="A", space_key="ENG", base_url="https://w", resolver=resolver)
    result = convert_storage(a_body, replace(context, limits=ResolveLimits(include_depth=5)))
    assert result.markdown == (
        "*Included from [B](https://w/display/ENG/B):*\n\nB text.\n\n[A](https://w/display/ENG/A)\n"
    )
    assert len(result.warnings) == 1 and "include cycle" in result.warnings[0] and "201" in result.warnings[0]


def test_include_depth_is_bounded_by_the_setting() -> None:
    outer = macro("include", param("", by_title("Middle", "ENG")))
    resolver = PageIndex(
        [
            StoredPage(
                "301", "ENG", "Middle", body_storage="<p>Middle.</p>" + macro("include", param("", by_id("101")))
            ),
            StoredPage("101", "OPS", "On-call procedure", body_storage=ONCALL_BODY),
        ]
    )
    one = convert_storage(outer, replace(STORE, resolver=resolver))
    assert one.warnings == []
    assert one.markdown.endswith(f"Middle.\n\n[On-call procedure]({WIKI}/OPS/On-call+procedure)\n")
    two = convert_storage(outer, replace(STORE, resolver=resolver, limits=ResolveLimits(include_depth=2)))
    assert "Page the **on-call engineer** through PagerDuty." in two.markdown
    assert [d.target for d in two.dependencies] == ["ENG:Middle", "101"]
    # Nested included text counts once against the page's budget.
    included = two.markdown.split(":*\n\n", 1)[1]
    tight = ResolveLimits(include_depth=2, include_max_chars=len(included) + 10)
    assert convert_storage(outer, replace(STORE, resolver=resolver, limits=tight)).warnings == []


def test_include_is_size_bounded_at_a_block_boundary() -> None:
    body = "".join(f"<p>Paragraph {n} {'word ' * 20}</p>" for n in range(50))
    resolver = PageIndex([StoredPage("401", "ENG", "Long", body_storage=body)])
    limits = ResolveLimits(include_max_chars=1000)
    context = replace(STORE, resolver=resolver, limits=limits)
    result = convert_storage(macro("include", param("", by_id("401"))), context)
    included = result.markdown.split(":*\n\n", 1)[1]
    assert len(included) <= 1000 and included.rstrip().endswith("word")
    assert "Paragraph 0 " in included and "Paragraph 49" not in included
    assert len(result.warnings) == 1 and "cut at" in result.warnings[0]


def test_include_without_a_resolver_is_a_link_without_warning() -> None:
    result = convert_storage(macro("include", param("", REF_FORMS["title+space"])), CONTEXT)
    assert result.markdown == f"[On-call procedure]({WIKI}/OPS/On-call+procedure)\n"
    assert result.warnings == [] and result.dependencies == []


# -------------------------------------------------------------------------------------------- excerpt-include


@pytest.mark.parametrize("ref", [by_title("Settlement", "FIN"), by_id("102")], ids=["title+space", "content-id"])
def test_excerpt_include_shows_the_excerpt_in_a_panel_or_bare(ref: str) -> None:
    markdown, warnings = convert(macro("excerpt-include", param("", ref)))
    assert warnings == []
    assert markdown == f"> **[Settlement]({WIKI}/FIN/Settlement)**\n>\n> Payments settle *nightly* at 02:00 UTC.\n"
    markdown, _ = convert(macro("excerpt-include", param("nopanel", "true"), param("", ref)))
    assert markdown == "Payments settle *nightly* at 02:00 UTC.\n"


def test_excerpt_include_without_excerpt_shows_the_first_paragraph() -> None:
    markdown, warnings = convert(macro("excerpt-include", param("nopanel", "true"), param("", by_title("Glossary"))))
    assert (markdown, warnings) == ("An **SLO** is a target.\n", [])


def test_excerpt_include_by_name() -> None:
    body = "".join(
        macro("excerpt", param("name", name), f"<ac:rich-text-body><p>{text}</p></ac:rich-text-body>")
        for name, text in (("short", "Short one."), ("long", "Long one."))
    )
    resolver = PageIndex([StoredPage("501", "ENG", "Named", body_storage=body)])
    storage = macro("excerpt-include", param("name", "long"), param("nopanel", "true"), param("", by_id("501")))
    assert convert_storage(storage, replace(STORE, resolver=resolver)).markdown == "Long one.\n"


def test_excerpt_include_of_a_missing_page_is_a_link_and_a_warning() -> None:
    markdown, warnings = convert(macro("excerpt-include", param("", by_title("Gone", "FIN"))))
    assert markdown == f"[Gone]({WIKI}/FIN/Gone)\n"
    assert warnings == [
        'page 42 "Home": excerpt-include source "Gone" in space FIN is not in the store; rendered as a link'
    ]


# ----------------------------------------------------------------------------------------- children, pagetree

ALPHA = f"[Alpha]({WIKI}/ENG/Alpha)"
BETA = f"[Beta]({WIKI}/ENG/Beta)"
ALPHA_CHILD = f"[Alpha child]({WIKI}/ENG/Alpha+child)"

TREE_CASES: dict[str, tuple[str, str]] = {
    "children: direct children in manual order": (macro("children"), f"- {ALPHA}\n- {BETA}\n"),
    "children all=true: every level": (
        macro("children", param("all", "true")),
        f"- {ALPHA}\n  - {ALPHA_CHILD}\n- {BETA}\n",
    ),
    "children depth=2, sort=title, reverse": (
        macro("children", param("depth", "2"), param("sort", "title"), param("reverse", "true")),
        f"- {BETA}\n- {ALPHA}\n  - {ALPHA_CHILD}\n",
    ),
    "children sort=modified, first=1": (
        macro("children", param("sort", "modified"), param("first", "1")),
        f"- {ALPHA}\n",
    ),
    "children sort=creation": (macro("children", param("sort", "creation")), f"- {BETA}\n- {ALPHA}\n"),
    "children of another page (title+space)": (
        macro("children", param("page", by_title("Alpha", "ENG"))),
        f"- {ALPHA_CHILD}\n",
    ),
    "children of another page (content-id)": (macro("children", param("page", by_id("11"))), f"- {ALPHA_CHILD}\n"),
    "pagetree: default root is the space home, one level": (
        macro("pagetree"),
        f"- [Home]({WIKI}/ENG/Home)\n- [Glossary]({WIKI}/ENG/Glossary)\n",
    ),
    "pagetree root @home written as an ri:page title (as the editor saves it)": (
        macro("pagetree", param("root", by_title("@home"))),
        f"- [Home]({WIKI}/ENG/Home)\n- [Glossary]({WIKI}/ENG/Glossary)\n",
    ),
    "pagetree root @self, startDepth 2, sort title": (
        macro("pagetree", param("root", "@self"), param("startDepth", "2"), param("sort", "title")),
        f"- {ALPHA}\n  - {ALPHA_CHILD}\n- {BETA}\n",
    ),
    "pagetree root by reference (content-id)": (macro("pagetree", param("root", by_id("11"))), f"- {ALPHA_CHILD}\n"),
    "pagetree root @parent": (
        macro("pagetree", param("root", "@parent")),
        f"- [Home]({WIKI}/ENG/Home)\n- [Glossary]({WIKI}/ENG/Glossary)\n",
    ),
}


@pytest.mark.parametrize(("storage", "expected"), TREE_CASES.values(), ids=TREE_CASES.keys())
def test_page_trees(storage: str, expected: str) -> None:
    markdown, warnings = convert(storage)
    assert (markdown, warnings) == (expected, [])


def test_page_trees_are_bounded() -> None:
    limits = ResolveLimits(max_listed_pages=2)
    result = convert_storage(macro("children", param("all", "true")), replace(STORE, limits=limits))
    assert result.markdown == f"- {ALPHA}\n  - {ALPHA_CHILD}\n"


def test_page_trees_without_a_resolver() -> None:
    assert convert_storage(macro("children"), CONTEXT).markdown == ""
    assert convert_storage(macro("pagetree"), CONTEXT).markdown == ""
    assert convert_storage(macro("children", param("page", by_title("Alpha", "ENG"))), CONTEXT).markdown == (
        f"{ALPHA}\n"
    )


def test_children_of_a_missing_page_is_a_link_and_a_warning() -> None:
    markdown, warnings = convert(macro("children", param("page", by_id("777"))))
    assert markdown == "[page 777](https://wiki.example.com/pages/viewpage.action?pageId=777)\n"
    assert warnings == ['page 42 "Home": children source page 777 is not in the store; rendered as a link']


def test_tree_dependencies() -> None:
    deps = convert_storage(macro("pagetree"), STORE).dependencies
    assert [(d.kind, d.target) for d in deps] == [("home", "ENG"), ("tree", "1")]


# ---------------------------------------------------------------------------------------------------- gallery

DIAGRAM = "![diagram.png](https://files.example.com/diagram.png)"
PHOTO = "![photo.jpg](https://files.example.com/photo.jpg)"

GALLERY_CASES: dict[str, tuple[str, str]] = {
    "gallery: the page's image attachments (not the PDF)": (macro("gallery"), f"{DIAGRAM}\n\n{PHOTO}\n"),
    "gallery with a title, exclude and reverse name sort": (
        macro("gallery", param("title", "Shots"), param("exclude", "diagram.png"), param("sort", "name")),
        f"**Shots**\n\n{PHOTO}\n",
    ),
    "gallery with listed images (include), in the listed order": (
        macro("gallery", param("include", "photo.jpg, diagram.png")),
        f"{PHOTO}\n\n{DIAGRAM}\n",
    ),
    "gallery listing an image the store does not describe": (
        macro("gallery", param("include", "extra.png")),
        "![extra.png](https://wiki.example.com/download/attachments/42/extra.png)\n",
    ),
    "gallery of another page (title+space)": (
        macro("gallery", param("page", by_title("Glossary", "ENG"))),
        "![glossary.gif](https://files.example.com/glossary.gif)\n",
    ),
    "gallery of another page (content-id)": (
        macro("gallery", param("page", by_id("103"))),
        "![glossary.gif](https://files.example.com/glossary.gif)\n",
    ),
}


@pytest.mark.parametrize(("storage", "expected"), GALLERY_CASES.values(), ids=GALLERY_CASES.keys())
def test_gallery(storage: str, expected: str) -> None:
    assert convert(storage) == (expected, [])


def test_gallery_without_a_resolver_uses_the_known_attachments() -> None:
    context = replace(CONTEXT, attachments={"a.png": "https://f/a.png", "b.txt": "https://f/b.txt"})
    assert convert_storage(macro("gallery"), context).markdown == "![a.png](https://f/a.png)\n"
    listed = macro("gallery", param("include", "x.jpg"))
    assert convert_storage(listed, CONTEXT).markdown == (
        "![x.jpg](https://wiki.example.com/download/attachments/42/x.jpg)\n"
    )


# --------------------------------------------------------------------------------------------- contentbylabel

LABEL_CASES: dict[str, tuple[str, str]] = {
    "contentbylabel: newest change first by default": (
        macro("contentbylabel", param("labels", "runbook")),
        f"- {BETA}\n- {ALPHA}\n- [On-call procedure]({WIKI}/OPS/On-call+procedure)\n",
    ),
    "contentbylabel: AND, title sort, max, spaces": (
        macro(
            "contentbylabel", param("labels", "runbook,ops"), param("operator", "AND"), param("sort", "title")
        ).replace("</ac:structured-macro>", "")
        + param("spaces", "@self")
        + param("max", "5")
        + param("title", "Ops runbooks")
        + "</ac:structured-macro>",
        f"**Ops runbooks**\n\n- {ALPHA}\n",
    ),
    "contentbylabel: a cql parameter (Cloud)": (
        macro("contentbylabel", param("cql", 'label = "ops" and space = "OPS"')),
        f"- [On-call procedure]({WIKI}/OPS/On-call+procedure)\n",
    ),
    "contentbylabel: max bounds the list, excluded labels": (
        macro("contentbylabel", param("labels", "runbook -ops"), param("max", "1")),
        f"- {BETA}\n",
    ),
}


@pytest.mark.parametrize(("storage", "expected"), LABEL_CASES.values(), ids=LABEL_CASES.keys())
def test_content_by_label(storage: str, expected: str) -> None:
    assert convert(storage) == (expected, [])


def test_content_by_label_dependencies_and_no_resolver() -> None:
    storage = macro("contentbylabel", param("labels", "runbook, Ops"))
    assert [(d.kind, d.target) for d in convert_storage(storage, STORE).dependencies] == [
        ("label", "runbook"),
        ("label", "ops"),
    ]
    assert convert_storage(storage, CONTEXT).markdown == ""


def test_needs_resolver_spots_the_macros() -> None:
    assert needs_resolver(macro("include", param("", by_id("1"))))
    assert needs_resolver(macro("gallery"))
    assert not needs_resolver(macro("code") + "<p>children include gallery</p>")
