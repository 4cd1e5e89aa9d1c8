from __future__ import annotations

from confluence_pipeline.lib.redact import redact_url, redact_userinfo, scrub_secrets

SECRET = "sk-live-abcdefghijklmnop1234"


def test_redact_url_masks_passwords_in_urls_inside_text() -> None:
    message = 'connection to "postgresql://app:s3cr3t@db.example.com:5432/wiki" failed; retry postgresql://u@h/db'
    redacted = redact_url(message)
    assert "s3cr3t" not in redacted
    assert "postgresql://app:***@db.example.com:5432/wiki" in redacted
    assert "postgresql://u@h/db" in redacted  # a user name alone is not a secret
    assert redact_url("postgresql://localhost/db") == "postgresql://localhost/db"


def test_redact_userinfo_masks_the_whole_user_part() -> None:
    assert redact_userinfo("https://user:hunter2@proxy.example.com/v1") == "https://***@proxy.example.com/v1"
    assert redact_userinfo("https://tok3n@proxy.example.com:8443/v1") == "https://***@proxy.example.com:8443/v1"
    assert redact_userinfo("http://localhost:11434/v1") == "http://localhost:11434/v1"


def test_scrub_secrets_masks_keys_and_bearer_tokens() -> None:
    text = f"failed with key {SECRET} and header Authorization: Bearer abc.def and sk-other-1234567890"
    scrubbed = scrub_secrets(text, [SECRET])
    assert SECRET not in scrubbed and "abc.def" not in scrubbed and "1234567890" not in scrubbed
    assert "Bearer ***" in scrubbed
    # Short or empty "secrets" would mangle ordinary text without protecting anything.
    assert scrub_secrets("a key of abc", ["abc", "", None]) == "a key of abc"
