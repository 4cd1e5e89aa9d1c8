"""HNSW settings of the vector index: build parameters and the search-time candidate list.

pgvector's HNSW index has two build parameters, ``m`` (links per node) and ``ef_construction`` (candidate list
while building), and one search parameter, ``hnsw.ef_search`` (candidate list while searching). The build parameters
are :class:`HnswSettings` (``PipelineResource``); ``ef_search`` is a search setting
(:class:`~confluence_pipeline.search.hybrid.SearchSettings`, ``SearchResource``). Their variables:

| Variable | Default | Meaning |
|---|---|---|
| ``VECTOR_HNSW_M`` | 16 | links per node (2–100); more: better recall, bigger index, slower build |
| ``VECTOR_HNSW_EF_CONSTRUCTION`` | 64 | build candidate list (≥ 2·m, ≤ 1000); more: better graph, slower build |
| ``VECTOR_EF_SEARCH`` | 40 | search candidate list (1–1000); more: better recall, slower search |

All three defaults are pgvector's. Search raises ``ef_search`` to the number of vector candidates it asks for when
that is larger (an HNSW scan returns at most ``ef_search`` rows per pass; an iterative scan then goes on, at a worse
recall than one longer pass). Measured here with the local embedder, whose sparse lexical vectors are hard on HNSW
graphs (dense semantic embeddings such as OpenAI's usually reach high recall at 40):

* vector-only hit@5 over ~1,600 sandbox queries on 2,900 chunks: 0.71 at 40, 0.79 at 100, 0.93 at 200 (= exact);
  hybrid hit@5 0.94 at 40 and 0.95 at 100 (MRR 0.81 and 0.85): full-text carries most of it;
* recall@10 of natural questions over 100k chunks (``python -m benchmarks.search_speed``): 0.72–0.88
  at 40, 0.82–0.99 at 100, 1.00 at 400;
* hybrid p95 over 100k chunks on the embedded server (shared_buffers 128MB): about 11 ms at 40 and 14–15 ms at 100,
  against a 15 ms budget.

So the default keeps the budget with room to spare; with the local embedder, ``VECTOR_EF_SEARCH=100`` (or 200)
buys better vector results for 3–4 ms.

The index holds half-precision copies of the vectors (``halfvec``); the table keeps them whole. At 100k × 1,536
dims the index is half the size (361 MB against 729 MB) and builds about 13% faster (48k × 384 dims: 6.5–7.1 s
against 7.6–8.3 s). A walk reads half the bytes: at 100k × 1,536 dims, one that reads 1,500 tuples a filter
rejects took 7.9 ms against 9.0 (median of 300, ef_search 80), an unfiltered one 5.0 against 5.6. Recall@10
against an exact search was the same (300 questions at 100k chunks: 0.503 against 0.507 at ef_search 40, 0.548
against 0.542 at 80), since search ranks the candidates the walk returns by their full-precision distance. It also
indexes models of up to 4,000 dimensions (:data:`MAX_DIMENSIONS`; ``vector`` stops at 2,000), such as
text-embedding-3-large's 3,072.

Build parameters apply when an index is built: change them, then drop the model's index (or run a bulk load) for
them to take effect.
"""

from __future__ import annotations

from dataclasses import dataclass

# Most dimensions pgvector's HNSW index takes for halfvec (for vector: 2,000).
MAX_DIMENSIONS = 4000

# pgvector's in-memory build graph, per vector: its half-precision copy (2 bytes a dimension), 16 bytes a neighbour
# link (2·m of them at layer 0) and about 200 bytes of element and upper layers. Measured: a 64 MB graph ran out
# after 43.4k vectors of 384 dims (1,474 bytes each; this gives 1,480), a 96 MB one after 25.7k of 1,536 dims
# (3,794; this gives 3,784), both at m = 16.
_GRAPH_BYTES_PER_LINK = 16
_GRAPH_BYTES_PER_VECTOR = 200
# Room for rows added between the count and the build, and for the estimate's error.
_GRAPH_HEADROOM = 1.25
# Smallest and largest memory a build is given when nothing else says otherwise.
BUILD_MEMORY_MIN_MB = 64
BUILD_MEMORY_MAX_MB = 1024


@dataclass(frozen=True)
class HnswSettings:
    """HNSW build parameters.

    Attributes:
        m: links per node, fixed when the index is built (``VECTOR_HNSW_M``).
        ef_construction: candidate list size while building (``VECTOR_HNSW_EF_CONSTRUCTION``).

    Raises:
        ValueError: on construction, when a value is out of range; the message names the variable.
    """

    m: int = 16
    ef_construction: int = 64

    def __post_init__(self) -> None:
        if not 2 <= self.m <= 100:
            raise ValueError(f"VECTOR_HNSW_M={self.m} must be between 2 and 100")
        if not 2 * self.m <= self.ef_construction <= 1000:
            raise ValueError(
                f"VECTOR_HNSW_EF_CONSTRUCTION={self.ef_construction} must be at least 2 × VECTOR_HNSW_M "
                f"({2 * self.m}) and at most 1000"
            )


def indexed_distance(dimensions: int, column: str = "v.embedding", query: str = "%(qvec)s") -> str:
    """The cosine distance the model's HNSW index orders by: ``column`` and ``query`` as ``halfvec(dimensions)``.

    An ``ORDER BY`` on exactly this expression (and the model named as a literal) lets the planner walk the index.
    """
    dims = int(dimensions)
    return f"{column}::halfvec({dims}) <=> {query}::halfvec({dims})"


def hnsw_index_sql(name: str, model: str, dimensions: int, settings: HnswSettings | None = None) -> str:
    """The ``CREATE INDEX`` statement of one model's partial HNSW index (cosine distance).

    Dimensions differ per model, so the index is on a cast to the model's own ``halfvec(N)`` and only covers the
    model's rows; search orders by the same cast (:func:`indexed_distance`) and names the model as a literal, so the
    planner can prove the index applies.

    Args:
        name: index name (see ``documents.vector_index_name``).
        model: the embedding model whose rows the index covers.
        dimensions: the model's vector size.
        settings: build parameters; default: pgvector's (``HnswSettings()``).

    Returns:
        The statement (identifiers and literals already quoted: it takes no parameters).

    Raises:
        ValueError: more than :data:`MAX_DIMENSIONS` dimensions.
    """
    if not 1 <= int(dimensions) <= MAX_DIMENSIONS:
        raise ValueError(
            f"an HNSW index takes 1 to {MAX_DIMENSIONS:,} dimensions, not {dimensions}: use a model (or a "
            "`dimensions` setting, which OpenAI's text-embedding-3 models take) of at most that size"
        )
    settings = settings or HnswSettings()
    literal = model.replace("'", "''")
    return (
        f"CREATE INDEX IF NOT EXISTS {name} ON search_vectors "
        f"USING hnsw ((embedding::halfvec({int(dimensions)})) halfvec_cosine_ops) "
        f"WITH (m = {int(settings.m)}, ef_construction = {int(settings.ef_construction)}) "
        f"WHERE model = '{literal}'"
    )


def build_memory_mb(rows: int, dimensions: int, m: int, configured_mb: int) -> int:
    """``maintenance_work_mem`` (MB) for building an index over ``rows`` vectors: what the graph needs, with room.

    A build whose graph outgrows ``maintenance_work_mem`` goes on inserting on disk, several times slower. A parallel
    build, on the other hand, reserves all of it in shared memory up front (pgvector sizes its graph area by the
    setting), and the kernel zeroes every page: with the embedded server's 2 GB that cost ~0.9 s of a 6.3 s build
    of 48k × 384 dims, for a graph of 70 MB. So the build gets what its graph needs, never less than
    :data:`BUILD_MEMORY_MIN_MB`, and never more than the server's setting or :data:`BUILD_MEMORY_MAX_MB`, whichever
    is larger (a graph larger than that spills, as it would have before).

    Args:
        rows: vectors the index will hold.
        dimensions: the model's dimensions.
        m: the index's ``m``.
        configured_mb: the server's ``maintenance_work_mem``, in MB.
    """
    per_vector = 2 * dimensions + 2 * m * _GRAPH_BYTES_PER_LINK + _GRAPH_BYTES_PER_VECTOR
    need = int(rows * per_vector * _GRAPH_HEADROOM / 1048576) + 1
    return min(max(need, BUILD_MEMORY_MIN_MB), max(configured_mb, BUILD_MEMORY_MAX_MB))
