"""Play tracking: the weekly QTD aggregation into the Play DB, event writes through an outbox, Play ToDo pages.

Plain modules (no Dagster): :mod:`.aggregate` (pandas QTD figures and RAG status), :mod:`.writeback` (optimistic-
locking page edits and their audit), :mod:`.outbox` (events, routing, draining), :mod:`.todo` (ToDo List pages).
"""
