"""Small helpers shared across the product: HTTP retry timing and secret redaction.

Nothing here imports the rest of the product or Dagster, so every layer may use it.
"""
