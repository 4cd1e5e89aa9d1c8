"""The UI's kind badges say only what is true whatever the settings: the embedding provider is chosen per run."""

from __future__ import annotations

from confluence_pipeline.defs.ingest.assets import ingest_assets


def test_no_asset_claims_a_provider_it_may_not_use() -> None:
    kinds = {spec.key.to_user_string(): spec.kinds for asset in ingest_assets for spec in asset.specs}
    # The local embedder runs without a key: an "openai" badge would be wrong then. The metadata's "provider" and
    # "model" name what ran (test_assets checks them).
    assert kinds["chunk_embeddings"] == {"pgvector"}
    assert all("openai" not in k for k in kinds.values())
