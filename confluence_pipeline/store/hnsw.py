"""HNSW settings of the vector index: build parameters and the search-time candidate list.

pgvector's HNSW index has two build parameters, ``m`` (links per node) and ``ef_construction`` (candidate list
while building), and one search parameter, ``hnsw.ef_search`` (candidate list while searching). They come from the
environment:

| Variable | Default | Meaning |
|---|---|---|
| ``VECTOR_HNSW_M`` | 16 | links per node (2–100); more: better recall, bigger index, slower build |
| ``VECTOR_HNSW_EF_CONSTRUCTION`` | 64 | build candidate list (≥ 2·m, ≤ 1000); more: better graph, slower build |
| ``VECTOR_EF_SEARCH`` | 100 | search candidate list (1–1000); more: better recall, slower search |

The build defaults are pgvector's. ``ef_search`` defaults to 100 rather than pgvector's 40: hybrid search takes 50
vector candidates (``search(candidates=50)``), and an HNSW scan with ``ef_search`` below the LIMIT returns fewer
rows than asked unless it iterates; 100 gives the graph walk room above the 50 it must return (the search
benchmark, ``python -m confluence_pipeline.store.bench_search``, prints recall and latency for it).
Build parameters apply when an index is built: change them, then drop the model's index (or run a bulk load) for
them to take effect.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class HnswSettings:
    """HNSW parameters.

    Attributes:
        m: links per node, fixed when the index is built.
        ef_construction: candidate list size while building.
        ef_search: candidate list size while searching (``SET LOCAL hnsw.ef_search``).
    """

    m: int = 16
    ef_construction: int = 64
    ef_search: int = 100

    def __post_init__(self) -> None:
        if not 2 <= self.m <= 100:
            raise ValueError(f"VECTOR_HNSW_M={self.m} must be between 2 and 100")
        if not 2 * self.m <= self.ef_construction <= 1000:
            raise ValueError(
                f"VECTOR_HNSW_EF_CONSTRUCTION={self.ef_construction} must be at least 2 × VECTOR_HNSW_M "
                f"({2 * self.m}) and at most 1000"
            )
        if not 1 <= self.ef_search <= 1000:
            raise ValueError(f"VECTOR_EF_SEARCH={self.ef_search} must be between 1 and 1000")

    @classmethod
    def from_env(cls) -> HnswSettings:
        """Read ``VECTOR_HNSW_M``, ``VECTOR_HNSW_EF_CONSTRUCTION`` and ``VECTOR_EF_SEARCH``; unset means default.

        Raises:
            ValueError: a variable is not an integer or is out of range; the message names it.
        """
        values: dict[str, int] = {}
        for attr, name in (("m", "VECTOR_HNSW_M"), ("ef_construction", "VECTOR_HNSW_EF_CONSTRUCTION"),
                           ("ef_search", "VECTOR_EF_SEARCH")):  # fmt: skip
            raw = os.environ.get(name, "").strip()
            if raw:
                try:
                    values[attr] = int(raw)
                except ValueError:
                    raise ValueError(f"{name}={raw!r} is not an integer") from None
        return cls(**values)


def hnsw_index_sql(name: str, model: str, dimensions: int, settings: HnswSettings | None = None) -> str:
    """The ``CREATE INDEX`` statement of one model's partial HNSW index (cosine distance).

    Dimensions differ per model, so the index is on a cast to the model's own ``vector(N)`` and only covers the
    model's rows; search casts the same way and names the model as a literal, so the planner can prove the index
    applies.

    Args:
        name: index name (see ``documents.vector_index_name``).
        model: the embedding model whose rows the index covers.
        dimensions: the model's vector size.
        settings: build parameters; default: from the environment.

    Returns:
        The statement (identifiers and literals already quoted: it takes no parameters).
    """
    settings = settings or HnswSettings.from_env()
    literal = model.replace("'", "''")
    return (
        f"CREATE INDEX IF NOT EXISTS {name} ON embeddings "
        f"USING hnsw ((embedding::vector({int(dimensions)})) vector_cosine_ops) "
        f"WITH (m = {int(settings.m)}, ef_construction = {int(settings.ef_construction)}) "
        f"WHERE model = '{literal}'"
    )
