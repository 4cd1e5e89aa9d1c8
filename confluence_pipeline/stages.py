"""The pipeline's stages after the fetch, as plain functions over the database.

Each stage drains the work its upstream left, in batches that commit on their own: Markdown for pages whose
content hash moved, chunks for Markdown whose hash moved, embeddings for chunk texts never embedded with the model.
Re-running a stage after a crash, or when nothing changed, does only what is left, which may be nothing.
Connections must be autocommit (see :mod:`confluence_pipeline.store.documents`).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import psycopg

from confluence_pipeline.convert.chunking import Chunk, chunk_markdown
from confluence_pipeline.convert.reader import reader_text
from confluence_pipeline.convert.resolve import Dependency, ResolveLimits, lists_children, needs_resolver
from confluence_pipeline.convert.storage import ConvertContext, convert_storage
from confluence_pipeline.convert.tokens import get_encoding
from confluence_pipeline.embed.base import EmbeddingProvider
from confluence_pipeline.embed.factory import EmbeddingSettings, provider_for_model
from confluence_pipeline.lib.parallel import (
    PARALLEL_THRESHOLD,
    Pending,
    WorkerPool,
    pipelined,
    shared_pool,
    submit_map,
    submit_parts,
)
from confluence_pipeline.store import documents as docs
from confluence_pipeline.store.db import analyze_after_load
from confluence_pipeline.store.fts import fts_document
from confluence_pipeline.store.hnsw import HnswSettings
from confluence_pipeline.store.pages import user_names
from confluence_pipeline.store.references import dependency_states, read_snapshot, save_dependencies

log = logging.getLogger(__name__)

# A load this large, and larger than this share of what the model already has, goes in without the HNSW index,
# which is then built in one go: far cheaper than maintaining it row by row (measured here at 384 dimensions: a
# build takes about 0.8 ms a row, an insert into the built index about 1.8 ms).
_BULK_LOAD_MIN = 2000
_BULK_LOAD_SHARE = 0.2


@dataclass(frozen=True)
class StageSettings:
    """Knobs shared by the stages, built by ``PipelineResource.settings()`` (README "Settings" names the variables).

    Attributes:
        batch_size: rows read and committed per batch (``PIPELINE_BATCH_SIZE``).
        workers: processes for CPU-bound conversion and chunking; 1 = in-process, 0 = one per core
            (``PIPELINE_WORKERS``).
        max_tokens: chunk size bound, in cl100k tokens (``CHUNK_MAX_TOKENS``).
        overlap_tokens: tokens repeated between consecutive chunks of a section (``CHUNK_OVERLAP_TOKENS``).
        embed_batch_size: chunk texts sent to the provider per call of ``embed`` (``PIPELINE_EMBED_BATCH_SIZE``).
        site_url: Confluence URL for links in Markdown (``CONFLUENCE_BASE_URL``).
        jira_base_url: Jira URL for issue-key links (``JIRA_BASE_URL``).
        hnsw: build parameters of a model's vector index (``VECTOR_HNSW_*``).
        resolve: bounds of macros that show other pages (``CONVERT_INCLUDE_DEPTH``, ``CONVERT_INCLUDE_MAX_CHARS``,
            ``CONVERT_LIST_MAX_PAGES``).

    Raises:
        ValueError: on construction, when a value is out of range; the message names the variable.
    """

    batch_size: int = 200
    workers: int = 0
    max_tokens: int = 512
    overlap_tokens: int = 64
    embed_batch_size: int = 512
    site_url: str | None = None
    jira_base_url: str | None = None
    hnsw: HnswSettings = field(default_factory=HnswSettings)
    resolve: ResolveLimits = field(default_factory=ResolveLimits)

    def __post_init__(self) -> None:
        for name, value, minimum in (("CONVERT_INCLUDE_DEPTH", self.resolve.include_depth, 0),
                                     ("CONVERT_INCLUDE_MAX_CHARS", self.resolve.include_max_chars, 0),
                                     ("CONVERT_LIST_MAX_PAGES", self.resolve.max_listed_pages, 1),
                                     ("PIPELINE_BATCH_SIZE", self.batch_size, 1),
                                     ("PIPELINE_WORKERS", self.workers, 0),
                                     ("CHUNK_MAX_TOKENS", self.max_tokens, 32),
                                     ("CHUNK_OVERLAP_TOKENS", self.overlap_tokens, 0),
                                     ("PIPELINE_EMBED_BATCH_SIZE", self.embed_batch_size, 1)):  # fmt: skip
            if value < minimum:
                raise ValueError(f"{name}={value} must be at least {minimum}")
        # The chunker's own bound: overlap below half a chunk, so every chunk moves forward.
        if self.overlap_tokens >= self.max_tokens // 2:
            raise ValueError(
                f"CHUNK_OVERLAP_TOKENS={self.overlap_tokens} must be below half of CHUNK_MAX_TOKENS={self.max_tokens}"
            )

    @property
    def effective_workers(self) -> int:
        """Worker processes to use: the setting, or one per core when 0."""
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)


@dataclass
class StageResult:
    """What a stage did."""

    processed: int = 0
    written: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """Plain-typed summary for Dagster metadata."""
        return {"processed": self.processed, "written": self.written, "seconds": round(self.seconds, 3), **self.extra}


def _warm_worker() -> None:
    # Load the tokenizer when a worker starts rather than inside its first chunking task.
    get_encoding()


def _pool(settings: StageSettings) -> WorkerPool | None:
    """The process's shared pool for CPU-bound work, or None to work in process (``PIPELINE_WORKERS=1``)."""
    workers = settings.effective_workers
    if workers <= 1:
        return None
    # Workers fork from a server that imported the stages already, so each starts in milliseconds.
    return shared_pool(workers, preload=[__name__], initializer=_warm_worker)


Converted = tuple[str, str, str, list[str], list[Dependency]]


def _convert_one(job: tuple[str, str, str, ConvertContext]) -> Converted:
    page_id, content_hash, body, context = job
    try:
        result = convert_storage(body, context)
        return page_id, content_hash, result.markdown, list(result.warnings), list(result.dependencies)
    except Exception as exc:
        log.exception("page %s could not be converted", page_id)
        return page_id, content_hash, "", [f"conversion failed: {type(exc).__name__}: {exc}"], []


# Per page with dependencies, the state of each as its conversion saw it.
Edges = dict[str, dict[Dependency, str]]


def _start_convert(
    conn: psycopg.Connection, jobs: list[tuple[str, str, str, ConvertContext]], pool: WorkerPool | None
) -> Pending[tuple[list[Converted], Edges]]:
    """Start converting a batch: its rows, and the edges of the pages with dependencies.

    Bodies with macros that show other pages convert in this process against one store snapshot (their lookups are
    queries) while the worker pool converts the rest.
    """
    resolving = [job for job in jobs if needs_resolver(job[2])]
    plain = submit_map(_convert_one, [job for job in jobs if not needs_resolver(job[2])], pool)
    edges: Edges = {}
    done: list[Converted] = []
    if resolving:
        with read_snapshot(conn) as resolver:
            # A children macro lists the page's own children by default: theirs are read in one go.
            resolver.prefetch_children(job[0] for job in resolving if lists_children(job[2]))
            done = [_convert_one((pid, h, body, replace(ctx, resolver=resolver))) for pid, h, body, ctx in resolving]
            states = dependency_states(conn, (dep for row in done for dep in row[4]))
        edges = {row[0]: {dep: states[dep] for dep in row[4]} for row in done if row[4]}
    return plain.then(lambda rows: (rows + done, edges))


class _Conversion:
    """Converts batches of pending pages and writes their Markdown and dependency edges, counting what it did."""

    def __init__(self, conn: psycopg.Connection, space_key: str, settings: StageSettings) -> None:
        self.conn = conn
        self.space_key = space_key
        self.settings = settings
        self.pool = _pool(settings)
        self.result = StageResult()
        self.warned = 0
        self.with_dependencies = 0
        self.failed: list[str] = []

    def start(self, batch: list[docs.PendingPage]) -> Pending[tuple[list[Converted], Edges]]:
        """Hand a batch to the workers (pages that show other pages convert here); returns it pending."""
        settings = self.settings
        names = user_names(self.conn, {ref for page in batch for ref in page.mentions})
        jobs = [
            (
                page.page_id,
                page.content_hash,
                page.body_storage,
                ConvertContext(
                    page_id=page.page_id,
                    page_title=page.title,
                    space_key=page.space_key,
                    base_url=settings.site_url,
                    jira_base_url=settings.jira_base_url,
                    users={ref: names[ref] for ref in page.mentions if ref in names},
                    attachments={a["title"]: a["download_url"] for a in page.attachments if a.get("download_url")},
                    limits=settings.resolve,
                ),
            )
            for page in batch
        ]
        return _start_convert(self.conn, jobs, self.pool)

    def finish(self, _batch: list[docs.PendingPage], converted: tuple[list[Converted], Edges]) -> None:
        """Write a converted batch in one transaction."""
        rows, edges = converted
        self.warned += sum(1 for row in rows if row[3])
        self.with_dependencies += len(edges)
        self.failed.extend(row[0] for row in rows if row[3] and row[3][0].startswith("conversion failed"))
        with self.conn.transaction():
            docs.space_lock(self.conn, self.space_key)
            self.result.written += docs.save_markdown(self.conn, [row[:4] for row in rows])
            save_dependencies(self.conn, [row[0] for row in rows], edges)
        self.result.processed += len(rows)

    def summary(self, started: float) -> StageResult:
        """The result, with the seconds since ``started`` and the counts."""
        analyze_after_load(self.conn, "page_markdown", self.result.written)
        self.result.seconds = time.monotonic() - started
        self.result.extra = {
            "pages_with_warnings": self.warned,
            "conversion_failures": len(self.failed),
            "pages_with_dependencies": self.with_dependencies,
        }
        if self.failed:
            self.result.extra["failed_page_ids"] = ", ".join(self.failed[:20])
        return self.result


def convert_space(conn: psycopg.Connection, space_key: str, settings: StageSettings) -> StageResult:
    """Convert the storage body of every page of the space whose Markdown is missing or stale.

    Stale includes pages that show content of other pages which changed, moved or left since (their dependency
    edges, see :mod:`confluence_pipeline.store.references`); each conversion stores its edges anew.
    """
    started = time.monotonic()
    conversion = _Conversion(conn, space_key, settings)
    # The workers convert the next batch while this thread writes the last one.
    pipelined(
        docs.iter_pages_needing_markdown(conn, space_key, settings.batch_size), conversion.start, conversion.finish
    )
    return conversion.summary(started)


class ConvertWhileFetching:
    """Converts the pages a fetch stores while the fetch goes on, on a thread and a connection of its own.

    A fetch spends most of its time waiting for Confluence's rate limit: on a first sync the cores sat idle for
    seconds while the spaces' bodies came in. Each batch the sync stores (see
    :func:`~confluence_pipeline.confluence.sync.sync_space`'s ``on_stored``) is converted here as it arrives, so the
    Markdown stage finds most of the work done. Pages whose macros show other pages (includes, children, ...) are
    left to that stage: the pages they show may not be stored yet. This is only a head start: whatever is not
    converted here (the fetch ended first, or a failure, which is logged) the Markdown stage converts as always.

    Use it as a context manager around the fetch; pass :meth:`stored` as the hook.
    """

    def __init__(
        self,
        connect: Callable[[], AbstractContextManager[psycopg.Connection]],
        space_key: str,
        settings: StageSettings,
    ) -> None:
        """Prepare; the thread starts on entering.

        Args:
            connect: opens an autocommit connection to the pipeline database (closed on exit).
            space_key: the space being fetched.
            settings: the stage settings (those of the Markdown stage).
        """
        self._connect = connect
        self._space_key = space_key
        self._settings = settings
        self._queue: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"convert-{space_key}", daemon=True)
        self.result = StageResult()

    def __enter__(self) -> ConvertWhileFetching:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ended.set()
        self._queue.put(None)
        self._thread.join()

    def stored(self, page_ids: list[str]) -> None:
        """The sync stored these current pages: convert them (the hook of ``sync_space``)."""
        self._queue.put(page_ids)

    def _batches(self, conn: psycopg.Connection) -> Iterator[list[docs.PendingPage]]:
        # Batches of at least PARALLEL_THRESHOLD pages: what the workers take (a smaller one converts on this thread),
        # and a run of a few edits gains nothing from a head start. Once the fetch has ended, what is not started
        # yet is left to the Markdown stage, not waited for.
        batch: list[docs.PendingPage] = []
        while (ids := self._queue.get()) is not None and not self._ended.is_set():
            batch += [page for page in docs.pages_needing_markdown(conn, ids) if not needs_resolver(page.body_storage)]
            if len(batch) >= PARALLEL_THRESHOLD:
                yield batch
                batch = []

    def _run(self) -> None:
        started = time.monotonic()
        try:
            with self._connect() as conn:
                conversion = _Conversion(conn, self._space_key, self._settings)
                pipelined(self._batches(conn), conversion.start, conversion.finish)
                self.result = conversion.summary(started)
        except Exception:
            # A head start only: the Markdown stage converts what is left, and reports what fails there. The fetch
            # goes on telling the queue, which never blocks it.
            log.warning("space %s: converting while fetching stopped; the Markdown stage converts the rest",
                        self._space_key, exc_info=True)  # fmt: skip


def _chunk_one(job: tuple[str, str, str, str, int, int]) -> tuple[str, str, list[Chunk], list[str]]:
    page_id, title, markdown, markdown_hash, max_tokens, overlap = job
    chunks = chunk_markdown(markdown, title=title, max_tokens=max_tokens, overlap_tokens=overlap)
    # The full-text documents too: tokenizing every chunk is CPU work the workers can share.
    return page_id, markdown_hash, chunks, [fts_document(chunk.embedding_input) for chunk in chunks]


def chunk_space(conn: psycopg.Connection, space_key: str, settings: StageSettings) -> StageResult:
    """Cut chunks from every page of the space whose Markdown changed; the new sets stay pending until embedded."""
    started = time.monotonic()
    result = StageResult()
    tokens = 0
    pool = _pool(settings)

    def start(batch: list[docs.PendingMarkdown]) -> Pending[list[tuple[str, str, list[Chunk], list[str]]]]:
        jobs = [
            (m.page_id, m.title, m.markdown, m.markdown_hash, settings.max_tokens, settings.overlap_tokens)
            for m in batch
        ]
        return submit_map(_chunk_one, jobs, pool)

    def finish(_batch: list[docs.PendingMarkdown], cut: list[tuple[str, str, list[Chunk], list[str]]]) -> None:
        nonlocal tokens
        tokens += sum(c.token_count for _, _, chunks, _ in cut for c in chunks)
        with conn.transaction():
            docs.space_lock(conn, space_key)
            result.written += docs.stage_chunks(
                conn, [(page_id, source, chunks) for page_id, source, chunks, _ in cut], [fts for *_, fts in cut]
            )
        result.processed += len(cut)

    pipelined(docs.iter_markdown_needing_chunks(conn, space_key, settings.batch_size), start, finish)
    analyze_after_load(conn, "chunks", result.written)
    result.seconds = time.monotonic() - started
    result.extra = {"pages_chunked": result.processed, "chunks_written": result.written, "tokens": tokens}
    return result


def embed_space(
    conn: psycopg.Connection, space_key: str, providers: Sequence[EmbeddingProvider], settings: StageSettings
) -> StageResult:
    """Embed every chunk text of the space that lacks a vector for a provider's model, then go live.

    Texts are keyed by (model, content hash), so a text embedded before (on any page, in any run) is never sent
    again. ``providers[0]`` is the configured model; a second provider, during a model switch, keeps the model
    search still serves complete (see :func:`serving_providers`). When the configured model covers every live
    chunk, search switches to it.

    Raises:
        EmbeddingError: a provider failed for good; batches embedded before stay stored, pages stay pending.
    """
    started = time.monotonic()
    result = StageResult()
    configured = providers[0]
    states = {p.model: docs.register_model(conn, p.model, p.provider_name, p.dimensions) for p in providers}
    requests_before = {p.model: p.stats.requests for p in providers}
    with conn.transaction():
        docs.space_lock(conn, space_key)
        docs.discard_stale_pending(conn, space_key)
    rebuilt: list[str] = []
    pool = _pool(settings)
    bulk: list[str] = []
    try:
        for provider in providers:
            # Live chunks always have vectors for the active model; only a model being built needs the full scan.
            pending_only = states[provider.model] == "active"

            def start(batch: list[tuple[str, str]], provider: EmbeddingProvider = provider) -> Pending[np.ndarray]:
                return _submit_embed(provider, [text for _, text in batch], pool)

            def finish(batch: list[tuple[str, str]], vectors: np.ndarray, model: str = provider.model) -> None:
                with conn.transaction():
                    result.written += docs.save_embeddings(conn, model, [h for h, _ in batch], vectors)
                result.processed += len(batch)

            batches = docs.iter_unembedded(
                conn, space_key, provider.model, settings.embed_batch_size, pending_only=pending_only
            )
            pipelined(batches, start, finish)
        analyze_after_load(conn, "embeddings", result.written)
        # Only the active model's index grows as pages go live (a model being built gets its rows and index at once
        # when it is activated), and only while they do: search keeps its index while the texts are embedded.
        for provider in providers:
            if states[provider.model] == "active" and _begin_bulk_load(conn, space_key, provider.model):
                bulk.append(provider.model)
        promoted = docs.promote_ready_documents(conn, space_key, [p.model for p in providers])
    finally:
        for model in bulk:
            docs.end_bulk_load(conn, model)
        # Also after a failure: search must not be left without its index (unless another run is still loading
        # the model in bulk: that run builds it when it is done).
        for provider in providers:
            if docs.build_vector_index(conn, provider.model, provider.dimensions, settings.hnsw):
                rebuilt.append(provider.model)
    switched = (
        docs.activate_if_complete(conn, configured.model, configured.dimensions, settings.hnsw)
        if states[configured.model] != "active"
        else False
    )
    result.seconds = time.monotonic() - started
    result.extra = {
        "provider": configured.provider_name,
        "model": configured.model,
        "dimensions": configured.dimensions,
        "models": ", ".join(p.model for p in providers),
        "texts_embedded": result.processed,
        "embedding_requests": sum(p.stats.requests - requests_before[p.model] for p in providers),
        "documents_promoted": promoted,
        "model_activated": switched,
        "vector_indexes_built": ", ".join(rebuilt),
    }
    return result


def _begin_bulk_load(conn: psycopg.Connection, space_key: str, model: str) -> bool:
    """Drop the model's HNSW index for a large load (see :func:`~.store.documents.begin_bulk_load`); True if so.

    A load is large when the space's pending pages add many search rows, against the rows the index holds.
    """
    pending = docs.count_pending_search_vectors(conn, space_key, model)
    if pending < _BULK_LOAD_MIN or pending <= docs.count_search_vectors(conn, model) * _BULK_LOAD_SHARE:
        return False
    docs.begin_bulk_load(conn, model)
    # Another run may have finished a load and built the index while this one waited: weigh the load again.
    if pending <= docs.count_search_vectors(conn, model) * _BULK_LOAD_SHARE:
        docs.end_bulk_load(conn, model)
        return False
    docs.drop_vector_index(conn, model)
    return True


def _embed_texts(provider: EmbeddingProvider, texts: list[str]) -> tuple[np.ndarray, dict[str, int | float]]:
    """Worker: embed the reader text of stored chunk texts with a copy of the provider; its counters go back too."""
    vectors = provider.embed([reader_text(text) for text in texts])
    return vectors, provider.stats.snapshot()


def _submit_embed(provider: EmbeddingProvider, texts: list[str], pool: WorkerPool | None) -> Pending[np.ndarray]:
    """Embed stored chunk texts: in the workers when the provider is CPU-bound and can travel to them, else here.

    What is embedded is what a reader reads, :func:`~confluence_pipeline.convert.reader.reader_text`: link text
    without destinations (the chunk's ``content_hash`` is its hash). The workers derive it too.
    """
    if pool is None or len(texts) < PARALLEL_THRESHOLD or not getattr(provider, "runs_in_workers", False):
        return Pending.done(provider.embed([reader_text(text) for text in texts]))

    def combine(parts: list[tuple[np.ndarray, dict[str, int | float]]]) -> np.ndarray:
        for _, stats in parts:
            provider.stats.add(**{k: v for k, v in stats.items() if k != "requests"})
        # One batch is one embedding request, however many workers shared it.
        provider.stats.add(requests=1)
        return np.concatenate([vectors for vectors, _ in parts])

    return submit_parts(partial(_embed_texts, provider), texts, pool, combine)


def serving_providers(
    conn: psycopg.Connection, configured: EmbeddingProvider, settings: EmbeddingSettings
) -> list[EmbeddingProvider]:
    """The configured provider, plus one for the model search serves when that is another (a switch in progress)."""
    active = docs.active_model(conn)
    if active is None or active[0] == configured.model:
        return [configured]
    return [configured, provider_for_model(settings, active[0], active[1])]
