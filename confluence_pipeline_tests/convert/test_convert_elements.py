"""Golden tests: every storage-format element the converter handles, as a small snippet → exact Markdown."""

from __future__ import annotations

import pytest

from confluence_pipeline.convert.storage import ConvertContext, convert_storage

from .conftest import md

CASES: dict[str, tuple[str, str]] = {
    # ---------------------------------------------------------------------------------------------- code
    "code macro: language, title, CDATA verbatim (entities, markup, blank lines, indentation)": (
        '<ac:structured-macro ac:name="code" ac:schema-version="1">'
        '<ac:parameter ac:name="language">python</ac:parameter><ac:parameter ac:name="title">hello.py</ac:parameter>'
        '<ac:plain-text-body><![CDATA[def f():\n    return "&nbsp; <b>"\n\n\n    # done]]></ac:plain-text-body>'
        "</ac:structured-macro>",
        '**hello.py**\n\n```python\ndef f():\n    return "&nbsp; <b>"\n\n\n    # done\n```\n',
    ),
    "code macro: fence longer than any backtick run in the code": (
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[echo ```x```]]></ac:plain-text-body>'
        "</ac:structured-macro>",
        "````\necho ```x```\n````\n",
    ),
    "code macro: language none becomes text, others are kept lower-cased": (
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">none</ac:parameter>'
        "<ac:plain-text-body><![CDATA[x]]></ac:plain-text-body></ac:structured-macro>"
        '<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">C#</ac:parameter>'
        "<ac:plain-text-body><![CDATA[var x;]]></ac:plain-text-body></ac:structured-macro>",
        "```text\nx\n```\n\n```c#\nvar x;\n```\n",
    ),
    "noformat macro: fence without language, spacing kept": (
        '<ac:structured-macro ac:name="noformat"><ac:plain-text-body><![CDATA[  raw  text\n]]>'
        "</ac:plain-text-body></ac:structured-macro>",
        "```\n  raw  text\n```\n",
    ),
    "code inside a list item is indented with the item": (
        '<ul><li><p>Run:</p><ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[make\n  all]]>'
        "</ac:plain-text-body></ac:structured-macro></li><li>next</li></ul>",
        "- Run:\n\n  ```\n  make\n    all\n  ```\n- next\n",
    ),
    "pre: fenced, whitespace kept": ("<pre>  keep\n    this</pre>", "```\n  keep\n    this\n```\n"),
    # -------------------------------------------------------------------------------------------- panels
    "info macro with title": (
        '<ac:structured-macro ac:name="info"><ac:parameter ac:name="title">Heads up</ac:parameter>'
        "<ac:rich-text-body><p>First.</p><p>Second.</p></ac:rich-text-body></ac:structured-macro>",
        "> **Info:** Heads up\n>\n> First.\n>\n> Second.\n",
    ),
    "note macro: first paragraph joins the label": (
        '<ac:structured-macro ac:name="note"><ac:rich-text-body><p>Be careful.</p><ul><li>one</li></ul>'
        "</ac:rich-text-body></ac:structured-macro>",
        "> **Note:** Be careful.\n>\n> - one\n",
    ),
    "warning macro starting with a list: label on its own line": (
        '<ac:structured-macro ac:name="warning"><ac:rich-text-body><ul><li>one</li></ul></ac:rich-text-body>'
        "</ac:structured-macro>",
        "> **Warning:**\n>\n> - one\n",
    ),
    "tip macro": (
        '<ac:structured-macro ac:name="tip"><ac:rich-text-body><p>Use it.</p></ac:rich-text-body>'
        "</ac:structured-macro>",
        "> **Tip:** Use it.\n",
    ),
    "panel macro: title kept, styling parameters dropped": (
        '<ac:structured-macro ac:name="panel"><ac:parameter ac:name="title">Box</ac:parameter>'
        '<ac:parameter ac:name="borderStyle">solid</ac:parameter><ac:rich-text-body><p>Inside.</p>'
        "</ac:rich-text-body></ac:structured-macro>",
        "> **Panel:** Box\n>\n> Inside.\n",
    ),
    "ADF panel: panel type named, fallback copy not repeated": (
        '<ac:adf-extension><ac:adf-node type="panel"><ac:adf-attribute key="panel-type">success</ac:adf-attribute>'
        '<ac:adf-content><p>Done it.</p></ac:adf-content></ac:adf-node><ac:adf-fallback><div class="panel">'
        "<p>Done it.</p></div></ac:adf-fallback></ac:adf-extension>",
        "> **Success:** Done it.\n",
    ),
    "ADF node without content: the fallback is used": (
        '<ac:adf-extension><ac:adf-node type="mystery"><ac:adf-attribute key="x">1</ac:adf-attribute>'
        "</ac:adf-node><ac:adf-fallback><p>Fallback text.</p></ac:adf-fallback></ac:adf-extension>",
        "Fallback text.\n",
    ),
    "panel holding code and a nested panel": (
        '<ac:structured-macro ac:name="info"><ac:rich-text-body><ac:structured-macro ac:name="code">'
        '<ac:parameter ac:name="language">bash</ac:parameter><ac:plain-text-body><![CDATA[ls\n\n  -la]]>'
        '</ac:plain-text-body></ac:structured-macro><ac:structured-macro ac:name="note"><ac:rich-text-body>'
        "<p>Nested note.</p></ac:rich-text-body></ac:structured-macro></ac:rich-text-body></ac:structured-macro>",
        "> **Info:**\n>\n> ```bash\n> ls\n>\n>   -la\n> ```\n>\n> > **Note:** Nested note.\n",
    ),
    # ------------------------------------------------------------------------------------- other macros
    "expand: title then body": (
        '<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">More details</ac:parameter>'
        "<ac:rich-text-body><p>Hidden body.</p></ac:rich-text-body></ac:structured-macro>",
        "**More details**\n\nHidden body.\n",
    ),
    "expand without title: body only": (
        '<ac:structured-macro ac:name="expand"><ac:rich-text-body><p>Body only.</p></ac:rich-text-body>'
        "</ac:structured-macro>",
        "Body only.\n",
    ),
    "status: text in brackets, colour dropped": (
        '<p>State: <ac:structured-macro ac:name="status"><ac:parameter ac:name="colour">Green</ac:parameter>'
        '<ac:parameter ac:name="title">Done</ac:parameter></ac:structured-macro> now</p>',
        "State: [Done] now\n",
    ),
    "status in a heading": (
        '<h2>Plan <ac:structured-macro ac:name="status"><ac:parameter ac:name="title">WIP</ac:parameter>'
        "</ac:structured-macro></h2>",
        "## Plan [WIP]\n",
    ),
    "jira: key linked to the Jira site, server parameters dropped": (
        '<p>See <ac:structured-macro ac:name="jira"><ac:parameter ac:name="server">System JIRA</ac:parameter>'
        '<ac:parameter ac:name="serverId">1a2b</ac:parameter><ac:parameter ac:name="key">ABC-123</ac:parameter>'
        "</ac:structured-macro>.</p>",
        "See [ABC-123](https://jira.example.com/browse/ABC-123).\n",
    ),
    "jira: JQL tables and invalid keys render nothing": (
        '<p>a <ac:structured-macro ac:name="jira"><ac:parameter ac:name="jqlQuery">project = ABC</ac:parameter>'
        '</ac:structured-macro><ac:structured-macro ac:name="jira"><ac:parameter ac:name="key">not a key'
        "</ac:parameter></ac:structured-macro>b</p>",
        "a b\n",
    ),
    "excerpt: the body": (
        '<ac:structured-macro ac:name="excerpt"><ac:parameter ac:name="hidden">false</ac:parameter>'
        "<ac:rich-text-body><p>Summary text.</p></ac:rich-text-body></ac:structured-macro>",
        "Summary text.\n",
    ),
    "toc and children: omitted with their parameters": (
        '<ac:structured-macro ac:name="toc"><ac:parameter ac:name="printable">true</ac:parameter>'
        '<ac:parameter ac:name="style">disc</ac:parameter></ac:structured-macro><p>After.</p>'
        '<ac:structured-macro ac:name="children"><ac:parameter ac:name="all">true</ac:parameter>'
        "</ac:structured-macro>",
        "After.\n",
    ),
    "unknown macros: rich body kept, plain body fenced, parameters dropped": (
        '<ac:structured-macro ac:name="mystery-macro"><ac:parameter ac:name="secret">uuid-1234</ac:parameter>'
        "<ac:rich-text-body><p>Body survives.</p></ac:rich-text-body></ac:structured-macro><ac:structured-macro "
        'ac:name="html"><ac:plain-text-body><![CDATA[<b>raw</b>]]></ac:plain-text-body></ac:structured-macro>',
        "Body survives.\n\n```\n<b>raw</b>\n```\n",
    ),
    "view-file: a link to the attachment": (
        '<p><ac:structured-macro ac:name="view-file"><ac:parameter ac:name="name"><ri:attachment '
        'ri:filename="spec.pdf" /></ac:parameter><ac:parameter ac:name="height">250</ac:parameter>'
        "</ac:structured-macro></p>",
        "[spec.pdf](https://wiki.example.com/download/attachments/42/spec.pdf)\n",
    ),
    "profile: the user's name": (
        '<ac:structured-macro ac:name="profile"><ac:parameter ac:name="user"><ri:user ri:account-id="557058:abc" />'
        "</ac:parameter></ac:structured-macro>",
        "@Ada Lovelace\n",
    ),
    "page properties (details): the body table": (
        '<ac:structured-macro ac:name="details"><ac:rich-text-body><table><tbody><tr><th>Owner</th><td>Team A</td>'
        "</tr></tbody></table></ac:rich-text-body></ac:structured-macro>",
        "|  |  |\n| --- | --- |\n| Owner | Team A |\n",
    ),
    # --------------------------------------------------------------------------------------------- links
    "page links: title or body text, display URL with + for spaces and encoded specials": (
        '<p><ac:link><ri:page ri:content-title="Release Notes 2.0" /></ac:link> and <ac:link><ri:page '
        'ri:space-key="OPS" ri:content-title="Run/book (v2)" /><ac:link-body>the <strong>runbook</strong>'
        "</ac:link-body></ac:link></p>",
        "[Release Notes 2.0](https://wiki.example.com/display/ENG/Release+Notes+2.0) and "
        "[the **runbook**](https://wiki.example.com/display/OPS/Run%2Fbook+%28v2%29)\n",
    ),
    "page link with an anchor": (
        '<p><ac:link ac:anchor="Install"><ri:page ri:content-title="Guide" /><ac:plain-text-link-body>'
        "<![CDATA[install guide]]></ac:plain-text-link-body></ac:link></p>",
        "[install guide](https://wiki.example.com/display/ENG/Guide#Install)\n",
    ),
    "anchor links": (
        '<p><ac:link ac:anchor="Setup Steps"><ac:plain-text-link-body><![CDATA[jump]]></ac:plain-text-link-body>'
        '</ac:link> <ac:link ac:anchor="top" /></p>',
        "[jump](#Setup-Steps) [top](#top)\n",
    ),
    "attachment links: known download URL, else the page's attachment URL": (
        '<p><ac:link><ri:attachment ri:filename="report final.pdf" /></ac:link>, <ac:link><ri:attachment '
        'ri:filename="known.png" /><ac:plain-text-link-body><![CDATA[pic]]></ac:plain-text-link-body></ac:link></p>',
        "[report final.pdf](https://wiki.example.com/download/attachments/42/report%20final.pdf), "
        "[pic](https://files.example.com/known.png)\n",
    ),
    "user mentions: display names, never ids": (
        '<p>Ping <ac:link><ri:user ri:account-id="557058:abc" /></ac:link>, <ac:link><ri:user ri:username="jdoe" />'
        '</ac:link> and <ac:link><ri:user ri:account-id="999:zzz" /></ac:link>.</p>',
        "Ping @Ada Lovelace, @John Doe and @unknown user.\n",
    ),
    "other link targets: blog post, space, URL, content id, image body, another page's attachment": (
        '<p><ac:link><ri:blog-post ri:content-title="Launch Day" ri:posting-day="2024/01/15" /></ac:link> '
        '<ac:link><ri:space ri:space-key="DOCS" /></ac:link> <ac:link><ri:url ri:value="https://x.example.com/p?a=1'
        '&amp;b=2" /><ac:plain-text-link-body><![CDATA[ext]]></ac:plain-text-link-body></ac:link> <ac:link>'
        '<ri:content-entity ri:content-id="123" /><ac:plain-text-link-body><![CDATA[entity]]>'
        '</ac:plain-text-link-body></ac:link> <ac:link><ri:page ri:content-title="Img Page" /><ac:link-body>'
        '<ac:image><ri:attachment ri:filename="i.png" /></ac:image></ac:link-body></ac:link> <ac:link>'
        '<ri:attachment ri:filename="other.pdf"><ri:page ri:content-title="Other Page" ri:space-key="X" />'
        "</ri:attachment></ac:link></p>",
        "[Launch Day](https://wiki.example.com/display/ENG/2024/01/15/Launch+Day) "
        "[DOCS](https://wiki.example.com/display/DOCS) [ext](https://x.example.com/p?a=1&b=2) "
        "[entity](https://wiki.example.com/pages/viewpage.action?pageId=123) "
        "[![i.png](https://wiki.example.com/download/attachments/42/i.png)]"
        "(https://wiki.example.com/display/ENG/Img+Page) "
        "[other.pdf](https://wiki.example.com/display/X/Other+Page)\n",
    ),
    "HTML links: URL made safe, bare URL as autolink": (
        '<p><a href="https://example.com/a b">site</a> <a href="https://example.com">https://example.com</a></p>',
        "[site](https://example.com/a%20b) <https://example.com>\n",
    ),
    # -------------------------------------------------------------------------------------------- images
    "image attachment with alt and caption": (
        '<ac:image ac:alt="Diagram"><ri:attachment ri:filename="arch diagram.png" /><ac:caption><p>System '
        "<em>overview</em></p></ac:caption></ac:image>",
        "![Diagram](https://wiki.example.com/download/attachments/42/arch%20diagram.png)  \nSystem *overview*\n",
    ),
    "inline external image: file name as alt": (
        '<p>Logo: <ac:image><ri:url ri:value="https://cdn.example.com/logo.svg" /></ac:image></p>',
        "Logo: ![logo.svg](https://cdn.example.com/logo.svg)\n",
    ),
    "image with a known download URL": (
        '<ac:image><ri:attachment ri:filename="known.png" /></ac:image>',
        "![known.png](https://files.example.com/known.png)\n",
    ),
    # ------------------------------------------------------------------------------------- tasks, misc
    "task list: ids and statuses dropped, checkboxes kept": (
        "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-uuid>u-1</ac:task-uuid><ac:task-status>incomplete"
        '</ac:task-status><ac:task-body><span class="placeholder-inline-tasks">Write docs</span></ac:task-body>'
        "</ac:task><ac:task><ac:task-id>2</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>Ship "
        '<ac:link><ri:user ri:account-id="557058:abc" /></ac:link></ac:task-body></ac:task></ac:task-list>',
        "- [ ] Write docs\n- [x] Ship @Ada Lovelace\n",
    ),
    "nested task list": (
        "<ac:task-list><ac:task><ac:task-status>incomplete</ac:task-status><ac:task-body>Parent<ac:task-list>"
        "<ac:task><ac:task-status>complete</ac:task-status><ac:task-body>Child</ac:task-body></ac:task>"
        "</ac:task-list></ac:task-body></ac:task></ac:task-list>",
        "- [ ] Parent\n  - [x] Child\n",
    ),
    "emoticons: legacy names, emoji ids and Atlassian shortnames become Unicode": (
        '<p><ac:emoticon ac:name="tick" /> ok <ac:emoticon ac:name="blue-star" ac:emoji-shortname=":grinning:" '
        'ac:emoji-id="1f600" ac:emoji-fallback="&#128512;" /> <ac:emoticon ac:name="warning" /> <ac:emoticon '
        'ac:name="cross" ac:emoji-shortname=":cross_mark:" ac:emoji-id="atlassian-cross_mark" '
        'ac:emoji-fallback=":cross_mark:" /></p>',
        "✅ ok 😀 ⚠️ ❌\n",
    ),
    "time: the date": ('<p>Due <time datetime="2024-03-15" /> please.</p>', "Due 2024-03-15 please.\n"),
    "layouts: cells in reading order": (
        '<ac:layout><ac:layout-section ac:type="two_equal"><ac:layout-cell><p>Left</p></ac:layout-cell>'
        '<ac:layout-cell><p>Right</p></ac:layout-cell></ac:layout-section><ac:layout-section ac:type="single">'
        "<ac:layout-cell><p>Bottom</p></ac:layout-cell></ac:layout-section></ac:layout>",
        "Left\n\nRight\n\nBottom\n",
    ),
    "placeholder: dropped": (
        "<p>Before <ac:placeholder>Type here</ac:placeholder>after</p>",
        "Before after\n",
    ),
    "inline comment marker: unwrapped": (
        '<p>Some <ac:inline-comment-marker ac:ref="abc-123">marked</ac:inline-comment-marker> text.</p>',
        "Some marked text.\n",
    ),
    # -------------------------------------------------------------------------------------------- tables
    "table: th row inside tbody is the header": (
        "<table><tbody><tr><th>Name</th><th>Value</th></tr><tr><td>a</td><td>1</td></tr></tbody></table>",
        "| Name | Value |\n| --- | --- |\n| a | 1 |\n",
    ),
    "table without header cells: empty header row": (
        "<table><tbody><tr><td>a</td><td>1</td></tr><tr><td>b</td><td>2</td></tr></tbody></table>",
        "|  |  |\n| --- | --- |\n| a | 1 |\n| b | 2 |\n",
    ),
    "table: thead row is the header, short rows padded": (
        "<table><thead><tr><td>H1</td><td>H2</td></tr></thead><tbody><tr><td>v1</td></tr></tbody></table>",
        "| H1 | H2 |\n| --- | --- |\n| v1 |  |\n",
    ),
    "table: rowspan and colspan values repeated into every spanned cell": (
        '<table><tbody><tr><th>K</th><th colspan="2">Wide</th></tr><tr><td rowspan="2">x</td><td>1</td><td>2</td>'
        "</tr><tr><td>3</td><td>4</td></tr></tbody></table>",
        "| K | Wide | Wide |\n| --- | --- | --- |\n| x | 1 | 2 |\n| x | 3 | 4 |\n",
    ),
    "table: blocks, nested table and code inside cells stay inside the cell": (
        "<table><tbody><tr><th>A</th><th>B</th></tr><tr><td><p>one</p><p>two | three</p></td><td><ul><li>x</li>"
        "<li>y</li></ul></td></tr><tr><td><table><tr><td>n1</td><td>n2</td></tr><tr><td>n3</td><td>n4</td></tr>"
        '</table></td><td><ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[a | b\n  c]]>'
        "</ac:plain-text-body></ac:structured-macro></td></tr></tbody></table>",
        "| A | B |\n| --- | --- |\n| one<br>two \\| three | - x<br>- y |\n"
        "| n1 \\| n2<br>n3 \\| n4 | `a \\| b`<br>`   c ` |\n",
    ),
    "table: heading, panel and image with caption inside a cell": (
        '<table><tbody><tr><th>h</th></tr><tr><td><h2>Cell heading</h2><ac:structured-macro ac:name="info">'
        "<ac:rich-text-body><p>Info in cell</p></ac:rich-text-body></ac:structured-macro><ac:image><ri:attachment "
        'ri:filename="c.png" /><ac:caption><p>Cap</p></ac:caption></ac:image></td></tr></tbody></table>',
        "| h |\n| --- |\n| **Cell heading**<br>**Info:** Info in cell<br>"
        "![c.png](https://wiki.example.com/download/attachments/42/c.png)<br>Cap |\n",
    ),
    # ----------------------------------------------------------------------------------- HTML elements
    "headings: ATX, decorative bold removed, empty dropped": (
        "<h1>Top</h1><h2><strong>Bold heading</strong></h2><h3>With <code>code</code></h3><h4> </h4>",
        "# Top\n\n## Bold heading\n\n### With `code`\n",
    ),
    "lists: ordered start kept, nested lists tight": (
        '<ol start="3"><li><p>three</p><ul><li>sub</li></ul></li><li>four</li></ol>'
        "<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li></ul>",
        "3. three\n   - sub\n4. four\n\n- a\n  - b\n    - c\n",
    ),
    "legacy list nested directly in a list": (
        "<ul><li>one</li><ul><li>one.a</li></ul><li>two</li></ul>",
        "- one\n  - one.a\n- two\n",
    ),
    "inline formatting and minimal escaping": (
        "<p><strong>bold</strong> <em>it</em> <u>under</u> <s>gone</s> <code>x*y</code> a_b _c_ 2*3 &lt;tag&gt; "
        "&amp; &nbsp;x&nbsp;&nbsp;y</p><p># not heading</p><p>line<br />break</p>",
        "**bold** *it* under ~~gone~~ `x*y` a_b \\_c\\_ 2\\*3 \\<tag> & x y\n\n\\# not heading\n\nline  \nbreak\n",
    ),
    "HTML5 entities, unknown entities kept literally": (
        "<p>a&hellip;b &rarr; c &foo; d &#169; &Auml; &amp;lt;</p>",
        "a…b → c \\&foo; d © Ä \\&lt;\n",
    ),
    "blockquote and rule": (
        "<blockquote><p>Quoted</p></blockquote><hr /><p>End</p>",
        "> Quoted\n\n---\n\nEnd\n",
    ),
    "leading rule dropped (would read as front matter)": ("<hr /><h1>Title</h1>", "# Title\n"),
    "whitespace around inline elements": (
        "<p>a<span> </span>b <strong>c </strong>d</p>",
        "a b **c** d\n",
    ),
    "consecutive breaks start a new paragraph": ("<p>a<br/><br/>b</p>", "a\n\nb\n"),
    "empty paragraphs vanish": ("<p>a | b</p><p>&nbsp;</p><p> </p><p />", "a | b\n"),
    "definition list": ("<dl><dt>Term</dt><dd>Definition</dd></dl>", "Term\n:   Definition\n"),
    "sub and sup keep their text": ("<p>H<sub>2</sub>O x<sup>2</sup></p>", "H2O x2\n"),
}


@pytest.mark.parametrize("storage,expected", list(CASES.values()), ids=list(CASES))
def test_element_golden(storage: str, expected: str) -> None:
    assert md(storage) == expected


def test_empty_and_parameter_only_bodies() -> None:
    assert md("") == ""
    assert md("   \n") == ""
    assert (
        md('<ac:structured-macro ac:name="toc"><ac:parameter ac:name="maxLevel">2</ac:parameter></ac:structured-macro>')
        == ""
    )


def test_jira_key_without_jira_site_is_plain_text() -> None:
    storage = (
        '<p><ac:structured-macro ac:name="jira"><ac:parameter ac:name="key">OPS-7</ac:parameter>'
        "</ac:structured-macro></p>"
    )
    assert convert_storage(storage).markdown == "OPS-7\n"


def test_links_without_site_or_space() -> None:
    link = '<p><ac:link><ri:page ri:content-title="Other" /></ac:link></p>'
    # No base URL: site-relative display URL.
    assert convert_storage(link, ConvertContext(space_key="ENG")).markdown == "[Other](/display/ENG/Other)\n"
    # No space at all: the title survives as text, without a guessed URL.
    assert convert_storage(link).markdown == "Other\n"
    attachment = '<p><ac:link><ri:attachment ri:filename="a b.pdf" /></ac:link></p>'
    assert convert_storage(attachment).markdown == "[a b.pdf](a%20b.pdf)\n"


def test_page_title_url_keeps_unicode_readable_and_encodes_invisible_characters() -> None:
    storage = '<p><ac:link><ri:page ri:content-title="설치 가이드&#8203;" /></ac:link></p>'
    assert md(storage) == "[설치 가이드](https://wiki.example.com/display/ENG/설치+가이드%E2%80%8B)\n"


def test_user_mention_with_link_body_and_unknown_user() -> None:
    storage = (
        '<p><ac:link><ri:user ri:userkey="8a7f" /><ac:plain-text-link-body><![CDATA[@Grace]]>'
        "</ac:plain-text-link-body></ac:link></p>"
    )
    assert md(storage) == "@Grace\n"


def test_code_in_heading_becomes_inline_code() -> None:
    storage = (
        '<h2>Run <ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[a\nb]]></ac:plain-text-body>'
        "</ac:structured-macro></h2>"
    )
    assert md(storage) == "## Run `a b`\n"


def test_empty_code_and_empty_panel_render_nothing() -> None:
    storage = (
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[  \n]]></ac:plain-text-body>'
        "</ac:structured-macro>"
        '<ac:structured-macro ac:name="info"><ac:rich-text-body><p /></ac:rich-text-body></ac:structured-macro><p>x</p>'
    )
    assert md(storage) == "x\n"
