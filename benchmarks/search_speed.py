"""Search benchmark: load, HNSW build, search latency per mode and a 1% update, over 100,000 chunks of 1,536 dims.

On a fresh database of the pipeline's PostgreSQL server (the embedded one unless ``DATABASE_URL`` says otherwise):

1. Text: sandbox corpus pages go through the real converter and chunker (in worker processes) until there are
   enough chunks; pages and spaces get rows so search's joins and filters work.
2. Vectors: the local offline embedder at 1,536 dimensions (``local-hash-v1-1536``). Its vectors have the
   structure of real embeddings (similar texts lie close together), which HNSW relies on; random unit vectors in
   1,536 dimensions are all about equally far apart, and on them HNSW misses even a query's planted neighbour.
3. Load: chunks through :func:`~confluence_pipeline.store.documents.stage_chunks` (COPY) and vectors through
   :func:`~confluence_pipeline.store.documents.save_embeddings` (binary COPY), with the model's HNSW index dropped,
   as the embedding stage does for bulk loads; then the chunk sets go live. Embedding time is not counted.
4. HNSW build: the model's index over the loaded rows, as the pipeline builds it
   (:func:`~confluence_pipeline.store.documents.ensure_vector_index`), with ``maintenance_work_mem`` sized to the
   graph (:func:`~confluence_pipeline.store.hnsw.build_memory_mb`: 452 MB at 100k × 1,536 dims).
5. Search: :func:`~confluence_pipeline.search.search` in process (query embedding included), k=10, for natural
   queries from the corpus (Korean and English, half of them naming a page's error or policy code) in each mode, and
   hybrid with a space filter, after one untimed pass. Recall of the HNSW half is measured against an exact scan
   for a sample of questions and of code queries.
6. Update: 1% of the chunks get new text: staged, embedded (inserted into the existing index) and swapped live.

Figures are printed, never asserted. Run: ``python -m benchmarks.search_speed [--chunks N]``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg

from benchmarks import filtered_search
from benchmarks.harness import fresh_database
from confluence_pipeline.defs.resources import configured_resources
from confluence_pipeline.embed.local import LocalEmbedder
from confluence_pipeline.search import SearchFilters, SearchSettings, search
from confluence_pipeline.search.filters import filters_sql, vector_filter_sql
from confluence_pipeline.search.hybrid import MIN_CANDIDATES
from confluence_pipeline.search.vector import FILTERED_SCAN_TUPLES, set_scan, vector_half
from confluence_pipeline.store import documents as docs
from confluence_pipeline.store.db import connect
from confluence_pipeline.store.hnsw import HnswSettings, indexed_distance

_DOCS_PER_BATCH = 400
_WARMUP = 20


@dataclass(frozen=True)
class BenchSettings:
    """What to measure.

    Attributes:
        chunks: chunks to load.
        dimensions: vector size.
        queries: timed queries per mode.
        recall_queries: queries whose HNSW results are compared with an exact scan.
        update_share: share of chunks whose text changes in the incremental update.
        seed: corpus and sampling seed.
        workers: processes that convert and chunk the corpus (0: one per core, at most 4).
    """

    chunks: int = 100_000
    dimensions: int = 1536
    queries: int = 200
    recall_queries: int = 20
    update_share: float = 0.01
    seed: int = 7
    workers: int = 0


@dataclass
class BenchReport:
    """The figures, in the order they are printed."""

    chunks: int = 0
    pages: int = 0
    embeddings: int = 0
    text_seconds: float = 0.0
    embed_seconds: float = 0.0
    chunk_write_seconds: float = 0.0
    vector_copy_seconds: float = 0.0
    live_seconds: float = 0.0
    build_seconds: float = 0.0
    build_memory_mb: int = 0
    index_mb: float = 0.0
    shared_buffers: str = ""
    hnsw: HnswSettings = field(default_factory=HnswSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    latency_ms: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    filtered_full: str = ""
    recall: dict[str, float] = field(default_factory=dict)
    update: dict[str, float] = field(default_factory=dict)
    explain: dict[str, str] = field(default_factory=dict)
    filtered: filtered_search.FilteredReport | None = None

    @property
    def load_chunks_per_s(self) -> float:
        """Chunks written with their vectors per second (chunk COPY + vector binary COPY)."""
        spent = self.chunk_write_seconds + self.vector_copy_seconds
        return self.chunks / spent if spent else 0.0

    @property
    def copy_rows_per_s(self) -> float:
        """Vectors per second through binary COPY alone."""
        return self.embeddings / self.vector_copy_seconds if self.vector_copy_seconds else 0.0


# --- text -----------------------------------------------------------------------------------------------------------

_corpus_cache: dict[tuple[int, int], Any] = {}


def _corpus(pages: int, seed: int) -> Any:
    from confluence_sandbox.corpus import generate_corpus

    key = (pages, seed)
    if key not in _corpus_cache:
        _corpus_cache.clear()
        _corpus_cache[key] = generate_corpus(pages, seed)
    return _corpus_cache[key]


def _chunk_pages(job: tuple[int, int, list[int]]) -> list[tuple[str, str, list[Any]]]:
    """Worker: render, convert and chunk pages; returns (page id, Markdown hash, chunks) per page."""
    from confluence_pipeline.convert.chunking import chunk_markdown
    from confluence_pipeline.convert.storage import ConvertContext, convert_storage

    pages, seed, page_ids = job
    corpus = _corpus(pages, seed)
    out = []
    for page_id in page_ids:
        page = corpus.page(page_id)
        markdown = convert_storage(corpus.body(page), ConvertContext(page_id=str(page_id), page_title=page.title))
        chunks = chunk_markdown(markdown.markdown, title=page.title)
        out.append((str(page_id), docs.sha256(markdown.markdown), chunks))
    return out


def _iter_chunked(total_pages: int, seed: int, page_ids: list[int], workers: int) -> Iterator[list[Any]]:
    jobs = [(total_pages, seed, page_ids[i : i + 200]) for i in range(0, len(page_ids), 200)]
    if workers <= 1:
        yield from map(_chunk_pages, jobs)
        return
    # forkserver: the parent may run threads (Dagster, a sandbox); forking those is unsafe.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        yield from pool.map(_chunk_pages, jobs)


def _collect_chunks(settings: BenchSettings, corpus: Any, total_pages: int) -> list[tuple[str, str, list[Any]]]:
    """Chunk current pages of current spaces, in page order, until ``settings.chunks`` chunks."""
    page_ids = [p.id for p in corpus.pages(statuses=["current"]) if corpus.spaces[p.space_key].status == "current"]
    workers = settings.workers or min(4, multiprocessing.cpu_count())
    documents: list[tuple[str, str, list[Any]]] = []
    count = 0
    for batch in _iter_chunked(total_pages, settings.seed, page_ids, workers):
        for doc_id, source_hash, chunks in batch:
            if count >= settings.chunks:
                return documents
            chunks = chunks[: settings.chunks - count]
            documents.append((doc_id, source_hash, chunks))
            count += len(chunks)
    return documents


# --- database -------------------------------------------------------------------------------------------------------


def _insert_pages(conn: psycopg.Connection, corpus: Any, documents: list[tuple[str, str, list[Any]]]) -> None:
    """Rows for spaces, pages and their Markdown, so that search's joins and the promotion of chunk sets work.

    Promotion only takes chunk sets cut from the page's current Markdown, so each page gets a ``page_markdown`` row
    whose hash is the one its chunks were cut from (the Markdown text itself is not needed here).
    """
    with conn.transaction():
        for space in corpus.spaces.values():
            conn.execute(
                "INSERT INTO spaces (space_key, name, space_type, status) VALUES (%s, %s, %s, 'current')",
                (space.key, space.name, space.type),
            )
        with conn.cursor().copy(
            "COPY pages (page_id, space_key, title, status, version_number, version_at, path, labels, web_url, "
            "body_storage, content_hash) FROM STDIN"
        ) as copy:
            for page_id, _, _ in documents:
                page = corpus.page(page_id)
                path = "/" + "".join(f"{a.id}/" for a in corpus.ancestors(page)) + f"{page.id}/"
                copy.write_row(
                    (page_id, page.space_key, page.title, "current", page.version, "2026-01-05T09:00:00Z", path,
                     list(page.labels), f"https://wiki.example.com/pages/{page_id}", "", f"bench-{page_id}")
                )  # fmt: skip
        with conn.cursor().copy(
            "COPY page_markdown (page_id, source_hash, markdown, markdown_hash) FROM STDIN"
        ) as copy:
            for page_id, markdown_hash, _ in documents:
                copy.write_row((page_id, f"bench-{page_id}", "", markdown_hash))


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    """(p50, p95, mean) of the samples."""
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], statistics.fmean(samples)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _queries(corpus: Any, documents: list[tuple[str, str, list[Any]]], count: int, seed: int) -> list[Any]:
    """(query, space, page id), alternately a natural question about a loaded page and one naming the page's code."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, str, str]] = []
    for i in rng.permutation(len(documents)):
        keywords = corpus.keywords(documents[int(i)][0])
        if keywords is None:
            continue
        if len(out) % 2 == 0 and keywords.queries:
            _, query = keywords.queries[int(rng.integers(len(keywords.queries)))]
        else:
            query = rng.choice([f"{keywords.code} 오류 원인", f"what does {keywords.code} mean"])
        out.append((str(query), keywords.space_key, keywords.page_id))
        if len(out) == count:
            break
    return out


def run(url: str, settings: BenchSettings, log: Callable[[str], None] = print) -> BenchReport:
    """Run the benchmark against an empty, migrated database at ``url``.

    Args:
        url: the database (it is filled; see :func:`fresh_database`).
        settings: sizes and seeds.
        log: progress output.

    Returns:
        The figures.
    """
    # VECTOR_HNSW_* and VECTOR_EF_SEARCH as the pipeline reads them: through its resources.
    resources = configured_resources()
    report = BenchReport(hnsw=resources.pipeline.settings().hnsw, search=resources.search.settings())
    provider = LocalEmbedder(settings.dimensions, log_selection=False)
    model = provider.model
    # The sandbox cuts about 5 chunks per page; ask for a margin and stop at the target.
    total_pages = int(settings.chunks / 4.5) + 200
    corpus = _corpus(total_pages, settings.seed)

    with connect(url, autocommit=True) as conn:
        report.shared_buffers = conn.execute("SHOW shared_buffers").fetchone()[0]
        conn.execute("SET synchronous_commit = off")  # the benchmark database is thrown away afterwards
        docs.register_model(conn, model, provider.provider_name, settings.dimensions)
        docs.drop_vector_index(conn, model)

        log(f"chunking sandbox pages into {settings.chunks:,} chunks …")
        report.text_seconds, documents = _timed(lambda: _collect_chunks(settings, corpus, total_pages))
        report.chunks = sum(len(chunks) for _, _, chunks in documents)
        report.pages = len(documents)
        _insert_pages(conn, corpus, documents)

        log(f"loading {report.chunks:,} chunks with {settings.dimensions}-dim vectors …")
        for start in range(0, len(documents), _DOCS_PER_BATCH):
            batch = documents[start : start + _DOCS_PER_BATCH]
            started = time.perf_counter()
            with conn.transaction():
                docs.stage_chunks(conn, batch)
            report.chunk_write_seconds += time.perf_counter() - started
            texts = {c.content_hash: c.text for _, _, chunks in batch for c in chunks}
            started = time.perf_counter()
            vectors = provider.embed(list(texts.values()))
            report.embed_seconds += time.perf_counter() - started
            started = time.perf_counter()
            with conn.transaction():
                report.embeddings += docs.save_embeddings(conn, model, list(texts), vectors)
            report.vector_copy_seconds += time.perf_counter() - started
        spaces = sorted({corpus.page(doc_id).space_key for doc_id, _, _ in documents})
        report.live_seconds, _ = _timed(lambda: [docs.promote_ready_documents(conn, s, [model]) for s in spaces])
        live = conn.execute("SELECT count(*) FROM chunks WHERE is_live").fetchone()[0]
        if live != report.chunks:
            # Searching a half-empty store would print meaningless figures.
            raise RuntimeError(f"only {live:,} of {report.chunks:,} loaded chunks went live")
        for table in ("chunks", "embeddings", "search_vectors", "pages"):
            conn.execute(f"VACUUM ANALYZE {table}")

        log(f"building the HNSW index (m={report.hnsw.m}, ef_construction={report.hnsw.ef_construction}) …")
        index = docs.vector_index_name(model)

        report.build_memory_mb = docs.vector_index_build_memory(conn, model, settings.dimensions, report.hnsw)
        report.build_seconds, built = _timed(
            lambda: docs.ensure_vector_index(conn, model, settings.dimensions, report.hnsw)
        )
        if not built:
            raise RuntimeError(f"the index {index} existed before the build: the build time would mean nothing")
        report.index_mb = conn.execute("SELECT pg_relation_size(%s::regclass) / 1048576.0", (index,)).fetchone()[0]

        queries = _queries(corpus, documents, settings.queries + _WARMUP, settings.seed + 1)
        log(f"searching: {settings.queries} queries per mode …")
        # One untimed pass first: right after the build most of the index is not in memory yet, and the first mode
        # timed would pay for reading it. A running service searches a warm index.
        for query, *_ in queries:
            search(conn, query, provider, k=10, settings=report.search)
        for label, mode, filtered in (
            ("vector", "vector", False),
            ("text", "text", False),
            ("hybrid", "hybrid", False),
            ("hybrid + space filter", "hybrid", True),
        ):
            samples, full = [], 0
            for i, (query, space, _) in enumerate(queries):
                filters = SearchFilters(space_key=space) if filtered else None
                seconds, results = _timed(
                    lambda q=query, f=filters, m=mode: search(
                        conn, q, provider, k=10, filters=f, mode=m, settings=report.search
                    )
                )
                if i >= _WARMUP:
                    samples.append(seconds * 1000)
                    full += len(results) == 10
            report.latency_ms[label] = _percentiles(samples)
            if filtered:
                report.filtered_full = f"{full} of {len(samples)} filtered searches returned 10 results"
            p50, p95, _ = report.latency_ms[label]
            log(f"  {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")

        report.filtered = filtered_search.measure(
            conn, provider, filtered_search.filter_cases(conn, queries[_WARMUP:]), report.search, log
        )
        timed = [query for query, *_ in queries[_WARMUP:]]
        for kind, sample in (("questions", timed[0::2]), ("codes", timed[1::2])):
            recall = _recall(conn, provider, sample[: settings.recall_queries // 2], settings.dimensions,
                             report.search.ef_search)  # fmt: skip
            report.recall.update({f"{kind}, {key}": value for key, value in recall.items()})
        report.explain = _plans(conn, provider, queries[_WARMUP], settings.dimensions, report.search.ef_search)

        log(f"updating {settings.update_share:.0%} of the chunks …")
        report.update = _update(conn, documents, provider, settings, corpus)
    return report


def _vector_top(
    conn: psycopg.Connection, vector: np.ndarray, model: str, dims: int, ef_search: int, *, exact: bool, k: int = 10
) -> list[float]:
    """Cosine distances of the top ``k`` live (page, text) rows search reads, through the HNSW index or a scan."""
    literal = model.replace("'", "''")
    distance = f"v.embedding::vector({dims}) <=> %(v)s::vector({dims})"
    # The index orders by half precision; each row's full-precision distance is what is compared.
    order = distance if exact else indexed_distance(dims, query="%(v)s")
    with conn.transaction():
        if exact:
            conn.execute("SET LOCAL enable_indexscan = off")
        set_scan(conn, ef_search)
        rows = conn.execute(
            f"""SELECT {distance} FROM search_vectors v
                WHERE v.model = '{literal}' ORDER BY {order} LIMIT %(k)s""",
            {"v": vector, "k": k},
        ).fetchall()
    return [float(row[0]) for row in rows]


def _recall(
    conn: psycopg.Connection, provider: LocalEmbedder, queries: list[str], dims: int, ef_search: int, k: int = 10
) -> dict[str, float]:
    """Recall@k of the HNSW scan against an exact scan, at the configured ef_search, pgvector's 40, and 400.

    A hit is a returned chunk no farther than the exact k-th neighbour: sandbox pages share boilerplate sections,
    so many chunks tie at the same distance and comparing ids would count equally near chunks as misses.
    """
    vectors = provider.embed(queries)
    bounds = [_vector_top(conn, v, provider.model, dims, ef_search, exact=True, k=k)[-1] for v in vectors]
    out = {}
    for ef in sorted({ef_search, 40, 400}):
        found = sum(
            sum(d <= bound + 1e-6 for d in _vector_top(conn, v, provider.model, dims, ef, exact=False, k=k))
            for v, bound in zip(vectors, bounds, strict=True)
        )
        out[f"ef_search={ef}"] = found / (k * len(vectors)) if len(vectors) else 0.0
    return out


def _plans(
    conn: psycopg.Connection, provider: LocalEmbedder, query: tuple[str, str], dims: int, ef_search: int
) -> dict[str, str]:
    """EXPLAIN ANALYZE of the vector half as search runs it, without and with a space filter (vector elided)."""
    out = {}
    for label, filters in (("unfiltered", SearchFilters()), ("space filter", SearchFilters(space_key=query[1]))):
        _, params = filters_sql(filters)
        candidates = max(MIN_CANDIDATES, 20)  # what search() asks for at k=10
        params.update({"qvec": provider.embed([query[0]])[0], "candidates": candidates})
        statement = vector_half(conn, (provider.model, dims), vector_filter_sql(filters))
        with conn.transaction():
            set_scan(conn, max(ef_search, candidates), max_scan_tuples=FILTERED_SCAN_TUPLES if filters.any else None)
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY OFF) " + statement, params).fetchall()
        out[label] = re.sub(r"'\[[^\]]*\]'", "'[…]'", "\n".join(row[0] for row in rows))
    return out


def _update(
    conn: psycopg.Connection,
    documents: list[tuple[str, str, list[Any]]],
    provider: LocalEmbedder,
    settings: BenchSettings,
    corpus: Any,
) -> dict[str, float]:
    """Give 1% of the chunks new text: stage new chunk sets, embed the new texts, swap them live; time each step."""
    from confluence_pipeline.convert.chunking import Chunk

    target = max(1, int(settings.chunks * settings.update_share))
    rng = np.random.default_rng(settings.seed + 2)
    edited: list[tuple[str, str, list[Any]]] = []
    new_texts: dict[str, str] = {}
    for i in rng.permutation(len(documents)):
        if len(new_texts) >= target:
            break
        doc_id, source_hash, chunks = documents[int(i)]
        # One section per page changes; the page's other chunks keep their text, so their vectors are reused.
        k = int(rng.integers(len(chunks)))
        text = chunks[k].text + f"\n\nRevised in the benchmark ({uuid.uuid4().hex[:8]})."
        changed = Chunk(chunks[k].index, chunks[k].section_title, text, chunks[k].token_count + 8, docs.sha256(text))
        edited.append((doc_id, docs.sha256(source_hash + text), [*chunks[:k], changed, *chunks[k + 1 :]]))
        new_texts[changed.content_hash] = text
    started = time.perf_counter()

    def stage() -> int:
        with conn.transaction():
            # What the Markdown stage records for the edited pages, then their new chunk sets (pending).
            conn.execute(
                """UPDATE page_markdown m SET markdown_hash = u.markdown_hash, converted_at = now()
                   FROM unnest(%s::text[], %s::text[]) AS u(page_id, markdown_hash) WHERE m.page_id = u.page_id""",
                ([doc_id for doc_id, _, _ in edited], [source_hash for _, source_hash, _ in edited]),
            )
            return docs.stage_chunks(conn, edited)

    stage_s, _ = _timed(stage)
    embed_s, vectors = _timed(lambda: provider.embed(list(new_texts.values())))

    def insert() -> int:
        with conn.transaction():
            return docs.save_embeddings(conn, provider.model, list(new_texts), vectors)

    insert_s, _ = _timed(insert)
    spaces = sorted({corpus.page(doc_id).space_key for doc_id, _, _ in edited})
    promote_s, promoted = _timed(lambda: sum(docs.promote_ready_documents(conn, s, [provider.model]) for s in spaces))
    return {
        "chunks_changed": float(len(new_texts)),
        "pages": float(len(edited)),
        "pages_promoted": float(promoted),
        "stage_seconds": stage_s,
        "embed_seconds": embed_s,
        "insert_seconds": insert_s,
        "promote_seconds": promote_s,
        "seconds": time.perf_counter() - started,
    }


def print_report(report: BenchReport, settings: BenchSettings, *, explain: bool = False) -> None:
    """Print the figures, clearly labelled."""
    hnsw = report.hnsw
    up = report.update
    print(f"\n== search over {report.chunks:,} chunks × {settings.dimensions} dims ({report.pages:,} pages, "
          f"vectors from the local embedder) ==")  # fmt: skip
    print(f"load:                 {report.load_chunks_per_s:,.0f} chunks/s with their vectors (chunk COPY "
          f"{report.chunk_write_seconds:.1f} s + vector binary COPY {report.vector_copy_seconds:.1f} s; "
          f"vectors alone {report.copy_rows_per_s:,.0f} rows/s; "
          f"embedding {report.embed_seconds:.1f} s not counted)")  # fmt: skip
    print(f"HNSW build:           {report.build_seconds:.1f} s (m={hnsw.m}, ef_construction={hnsw.ef_construction}, "
          f"maintenance_work_mem={report.build_memory_mb} MB; index {report.index_mb:,.0f} MB)")  # fmt: skip
    print(f"search, in process, k=10, {settings.queries} queries per mode (ef_search={report.search.ef_search}, "
          f"shared_buffers={report.shared_buffers}):")  # fmt: skip
    for label, (p50, p95, mean) in report.latency_ms.items():
        print(f"  {label + ':':<24}p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   mean {mean:6.1f} ms")
    print(f"  {report.filtered_full}")
    if report.filtered is not None:
        filtered_search.print_report(report.filtered)
    recall = ", ".join(f"{key} {value:.3f}" for key, value in report.recall.items())
    print(f"HNSW recall@10:       {recall} (against an exact scan, {settings.recall_queries // 2} queries each)")
    print(f"1% update:            {up['seconds']:.1f} s for {int(up['chunks_changed']):,} new chunk texts on "
          f"{int(up['pages']):,} pages ({int(up['pages_promoted']):,} swapped live) against the built index "
          f"(stage {up['stage_seconds']:.2f} s, embed {up['embed_seconds']:.2f} s, insert into table + index "
          f"{up['insert_seconds']:.1f} s, swap live {up['promote_seconds']:.2f} s)")  # fmt: skip
    if explain:
        for label, plan in report.explain.items():
            print(f"vector half plan ({label}):\n{plan}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.search_speed [--chunks N] [--dims D] [--queries Q]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.search_speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--chunks", type=int, default=BenchSettings.chunks)
    parser.add_argument("--dims", type=int, default=BenchSettings.dimensions)
    parser.add_argument("--queries", type=int, default=BenchSettings.queries)
    parser.add_argument("--seed", type=int, default=BenchSettings.seed)
    parser.add_argument("--explain", action="store_true", help="also print the vector half's plans")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args(argv)
    from confluence_pipeline.cli.common import local_database

    settings = BenchSettings(chunks=args.chunks, dimensions=args.dims, queries=args.queries, seed=args.seed)
    urls = local_database()
    started = time.monotonic()
    with fresh_database(urls.app, keep=args.keep) as url:
        report = run(url, settings)
    print_report(report, settings, explain=args.explain)
    print(f"(search benchmark: {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
