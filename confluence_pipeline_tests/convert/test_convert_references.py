"""extract_references: Jira keys, users, pages and attachments a body refers to."""

from __future__ import annotations

import time

from confluence_pipeline.convert.references import References, extract_references
from confluence_sandbox.fixtures import FixturePage

BODY = """
<p>See <ac:structured-macro ac:name="jira"><ac:parameter ac:name="server">System JIRA</ac:parameter>
<ac:parameter ac:name="key">ABC-123</ac:parameter></ac:structured-macro> and
<ac:structured-macro ac:name="jira"><ac:parameter ac:name="jqlQuery">key in (OPS-7, ABC-123) AND x = "DEF-9x"
</ac:parameter></ac:structured-macro>. Text mentioning XYZ-1 is not a reference.</p>
<p><ac:link><ri:user ri:account-id="557058:abc" /></ac:link> <ac:link><ri:user ri:userkey="8a7f" /></ac:link>
<ac:link><ri:user ri:username="jdoe" /></ac:link> <ac:link><ri:user ri:account-id="557058:abc" /></ac:link></p>
<p><ac:link><ri:page ri:content-title="Home" /></ac:link>
<ac:link><ri:page ri:space-key="OPS" ri:content-title="Runbook" /></ac:link>
<ac:link><ri:page ri:content-title="Home" /></ac:link></p>
<ac:image><ri:attachment ri:filename="diagram.png" /></ac:image>
<p><ac:link><ri:attachment ri:filename="spec.pdf" /></ac:link>
<ac:link><ri:attachment ri:filename="elsewhere.pdf"><ri:page ri:content-title="Other" /></ri:attachment></ac:link></p>
<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[<ri:user ri:account-id="not-a-ref" /> ZZZ-5]]>
</ac:plain-text-body></ac:structured-macro>
"""


def test_references_in_document_order_deduplicated() -> None:
    refs = extract_references(BODY)
    assert refs.jira_keys == ["ABC-123", "OPS-7"]
    assert refs.user_refs == ["557058:abc", "8a7f", "jdoe"]
    assert refs.page_titles == [(None, "Home"), ("OPS", "Runbook"), (None, "Other")]
    assert refs.attachment_names == ["diagram.png", "spec.pdf"]


def test_empty_and_plain_bodies() -> None:
    assert extract_references("") == References()
    assert extract_references("just text ABC-1") == References()


def test_malformed_body_is_read_as_far_as_possible() -> None:
    refs = extract_references('<p><ac:link><ri:user ri:account-id="u1" /></ac:link><p>unclosed')
    assert refs.user_refs == ["u1"]


def test_real_pages_are_fast(fixture_pages: list[FixturePage]) -> None:
    big = next(p for p in fixture_pages if p.page_id == "1454342158")
    refs = extract_references(big.storage)
    assert ("QM", "AWS SSO 연동하기 (SAML 2.0)") not in refs.page_titles
    assert (None, "AWS SSO 연동하기 (SAML 2.0)") in refs.page_titles
    assert "image-20251222-023912.png" in refs.attachment_names
    started = time.perf_counter()
    for _ in range(20):
        for page in fixture_pages:
            extract_references(page.storage)
    per_page = (time.perf_counter() - started) / (20 * len(fixture_pages))
    assert per_page < 0.005, per_page
