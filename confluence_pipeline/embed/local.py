"""An offline, deterministic embedder based on signed feature hashing.

It needs no network and no model download, so the pipeline runs anywhere. It captures lexical overlap only, which
is enough for a meaningful vector leg in hybrid search (a query that shares rare terms with a chunk ranks it high),
but it knows no synonyms. Configure OpenAI (or a compatible server) for semantic search.

Features, each hashed to a signed bucket:

* word terms: lowercase words outside stop words, with a light plural fold (``servers`` → ``server``);
* word bigrams over those terms, so phrases weigh more than scattered words;
* whole identifiers joined by ``-``, ``_``, ``.``, ``/`` or ``:`` (``PAY-E1001``, ``search_queries``), besides their
  parts, so an exact identifier match stands out;
* for scripts written without spaces between words and particles (Hangul, Kana, Han, from U+1100 up): the run
  with a trailing particle or ending stripped (``데이터베이스에`` → ``데이터베이스``), plus character bigrams and
  trigrams of the run, so a word still matches when a particle is glued to it.

Each feature weighs ``kind_weight * (1 + ln tf)`` (sub-linear term frequency); words that mix letters and digits
(error codes, versions, hosts) weigh double because they are rare and telling. Hashes come from ``zlib.crc32`` and
a fixed 64-bit mixer, never from Python's per-process salted ``hash``, so vectors are identical across processes and
machines. The heavy lifting (n-grams, counting, bucketing) is vectorised with numpy over the whole batch.
"""

from __future__ import annotations

import logging
import re
import time
import zlib
from collections.abc import Sequence
from itertools import chain
from typing import Any, Final

import numpy as np

from confluence_pipeline.embed.base import EmbedStats, l2_normalize

__all__ = ["LocalEmbedder"]

log = logging.getLogger(__name__)

_VERSION: Final = "v1"

# One pass finds spans: an ASCII identifier joined by -, _, ., / or : (``pay-e1001``, ``search_queries``), else a
# run of word characters from one side of U+1100. Scripts from U+1100 up (Hangul Jamo, Kana, Han, Hangul syllables)
# don't put spaces between words and particles, so their runs get character n-grams; lower code points are
# space-delimited words.
_SPAN_RE: Final = re.compile(
    r"(?<![0-9a-z])[0-9a-z]++(?:[-_./:][0-9a-z]++)+|[^\W_\x00-\u10ff]+|[^\W_\u1100-\U0010ffff]+"
)
_PART_RE: Final = re.compile(r"[0-9a-z]+")
_CJK_START: Final = "\u1100"

_STOP_WORDS: Final = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been before being below
    between both but by can cannot could did didn do does doesn doing don down during each either else etc ever
    every few for from further get gets got had has hasn have having he her here hers herself him himself his how
    however i if in into is isn it its itself just let like may me might more most must my myself no nor not now
    of off on once only or other ought our ours ourselves out over own per same shall she should so some such than
    that the their theirs them themselves then there these they this those though through thus to too under until
    up upon us use used using very via was wasn we were weren what when where whether which while who whom whose
    why will with within without won would yes yet you your yours yourself yourselves
    """.split()  # noqa: SIM905 - a word list reads and diffs better as text
)

# Whole runs that carry no topic: conjunctions, bound nouns and copulas.
_CJK_STOP_RUNS: Final = frozenset(
    """
    및 또는 등 수 것 이 그 저 때 위해 위한 통해 대한 대해 경우 있습니다 합니다 됩니다 입니다 있는 없는 있다 없다
    하는 하여 하고 해야 하면 된다 되는 되어 또한 그리고 하지만 그러나 따라서 이후 이전 모든 각 해당 같은 다른
    """.split()  # noqa: SIM905 - a word list reads and diffs better as text
)

# Trailing particles and verb endings, longest first; stripped only when at least two characters remain.
_CJK_SUFFIXES: Final = tuple(
    sorted(
        """
        으로부터 에서부터 이라고 에게서 으로서 으로써 입니다 합니다 됩니다 습니다 했습니다 하였습니다 되었습니다
        하려면 하세요 하십시오 해야 하면 하기 하여 해서 하는 하고 한다 된다 되는 되어 되며 하며 했다
        에서 에게 께서 부터 까지 보다 처럼 으로 이나 이랑 와 과 은 는 이 가 을 를 에 로 의 도 만 나 랑
        """.split(),  # noqa: SIM905 - a word list reads and diffs better as text
        key=len,
        reverse=True,
    )
)

# Character n-grams produced by verb endings; they occur in nearly every sentence and only add noise.
_CJK_STOP_GRAMS: Final = tuple(
    "니다 습니 합니 됩니 입니 있습 습니다 합니다 됩니다 입니다 있습니".split()  # noqa: SIM905 - a word list reads better as text
)

_MASK64: Final = (1 << 64) - 1
_KEY_BITS: Final = 40
_KEY_MASK: Final = np.uint64((1 << _KEY_BITS) - 1)
_SALT_TERM: Final = np.uint64(0x51_7C_C1_B7_27_22_0A_95)
_SALT_TERM2: Final = np.uint64(0x2545_F491_4F6C_DD1D)
_SALT_CHAR2: Final = np.uint64(0x9FB2_1C65_1E98_DF25)
_SALT_CHAR3: Final = np.uint64(0xD6E8_FEB8_6659_FD93)
_EMPTY_FEATURE: Final = np.uint64(0x6A09_E667_F3BC_C908)

# Relative weights of the feature kinds: a shared word counts fully; phrases and character n-grams refine.
_W_TERM: Final = 1.0
_W_TERM2: Final = 0.25
_W_CHAR2: Final = 0.4
_W_CHAR3: Final = 0.6

_W_COMPOUND: Final = 1.0
# Words mixing letters and digits (error codes, versions, hosts: e1229, p99, s3) are rare and telling.
_W_CODE_BOOST: Final = 2.0
_CODE_FLAG: Final = 1 << 32
_COMPOUND_FLAG: Final = 1 << 33

# Spans remembered per process (about 240 bytes each): enough for the words a corpus repeats (3,000 real-size pages
# hold about 26,000 distinct spans), small enough that a large corpus's long tail does not grow every worker's memory.
_MAX_CACHE: Final = 1 << 15


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: spreads packed keys over all 64 bits (deterministic, vectorised)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _fold_word(word: str) -> str:
    """Normalise a lowercase space-delimited word into a term, or '' when it carries no topic."""
    if len(word) == 1 or word in _STOP_WORDS:
        return ""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) and not word[-2].isdigit():
        return word[:-1]
    return word


def _fold_cjk(run: str) -> str:
    """Strip a trailing particle or verb ending from a run, or return '' for a run that carries no topic."""
    if run in _CJK_STOP_RUNS:
        return ""
    for suffix in _CJK_SUFFIXES:
        if len(run) - len(suffix) >= 2 and run.endswith(suffix):
            return run[: -len(suffix)]
    return run


def _term_value(term: str, token: str) -> int:
    """Return the crc32 of a term (never 0, which marks stop words), with the code flag for letter+digit tokens."""
    value = zlib.crc32(term.encode("utf-8")) or 1
    if token < _CJK_START and not token.isalpha() and not token.isdigit() and token.isalnum():
        value |= _CODE_FLAG
    return value


class _SpanCache(dict[str, tuple[int, ...]]):
    """Maps a span to the values of its terms, filled on first sight (vocabularies repeat, so most lookups hit).

    A word maps to one value (0 for a stop word). An identifier maps to its parts' values followed by the whole
    identifier's value carrying the compound flag.
    """

    def __missing__(self, span: str) -> tuple[int, ...]:
        if span >= _CJK_START:
            term = _fold_cjk(span)
            values: tuple[int, ...] = (_term_value(term, span),) if term else (0,)
        elif span.isalnum():
            term = _fold_word(span)
            values = (_term_value(term, span),) if term else (0,)
        else:
            pieces = _PART_RE.findall(span)
            parts = tuple(self[piece][0] for piece in pieces)
            values = parts
            # Abbreviations such as "e.g" (only stop words and letters) get no identifier feature. A separator
            # prefix keeps an identifier apart from a single word with the same letters.
            if any(parts):
                values = (*parts, _term_value("\x1f" + span, "".join(pieces)) | _COMPOUND_FLAG)
        if len(self) >= _MAX_CACHE:
            # A bounded cache keeps memory flat on huge vocabularies; refilling is cheap.
            self.clear()
        self[span] = values
        return values


_SPANS: Final = _SpanCache()


def _pack_chars(codes: np.ndarray, n: int) -> np.ndarray:
    """Pack runs of ``n`` consecutive code points (< 2**21 each) into one integer key per start position."""
    key = codes[: len(codes) - n + 1].copy()
    for k in range(1, n):
        key = (key << np.uint64(21)) | codes[k : len(codes) - n + 1 + k]
    return key


def _stop_gram_keys(n: int) -> np.ndarray:
    grams = [g for g in _CJK_STOP_GRAMS if len(g) == n]
    return np.array(
        [sum(ord(c) << (21 * (n - 1 - i)) for i, c in enumerate(g)) for g in grams],
        dtype=np.uint64,
    )


_STOP_CHAR2: Final = _stop_gram_keys(2)
_STOP_CHAR3: Final = _stop_gram_keys(3)


class LocalEmbedder:
    """Offline, deterministic feature-hashing embedder (provider ``local``).

    Attributes:
        provider_name: Always ``"local"``.
        model: ``local-hash-v1-<dimensions>``; a different dimension is a different model.
        dimensions: Vector length.
        stats: Counters; ``tokens`` counts lexical tokens, ``requests`` counts ``embed`` calls.
        runs_in_workers: Always True: embedding is CPU-bound work and the embedder pickles (without its counters),
            so the stages may embed a batch in their worker processes.
    """

    provider_name: str = "local"
    runs_in_workers: bool = True

    def __init__(self, dimensions: int = 384, *, log_selection: bool = True) -> None:
        """Create the embedder.

        Args:
            dimensions: Vector length (≥ 16). More dimensions mean fewer hash collisions and sharper lexical
                matching, at the cost of storage.
            log_selection: Log that the local offline embedder is in use. Test servers that embed internally
                turn this off to keep logs truthful about which provider the pipeline runs.
        """
        if not isinstance(dimensions, int) or dimensions < 16:
            raise ValueError(f"local embedder dimensions must be an integer ≥ 16, got {dimensions!r}")
        self.dimensions = dimensions
        self.model = f"local-hash-{_VERSION}-{dimensions}"
        self.stats = EmbedStats()
        if log_selection:
            log.info(
                "Embedding with the local offline embedder %s (lexical feature hashing, no network). "
                "Set OPENAI_API_KEY or OPENAI_BASE_URL for semantic embeddings.",
                self.model,
            )

    def __repr__(self) -> str:
        return f"LocalEmbedder(dimensions={self.dimensions})"

    def __getstate__(self) -> dict[str, Any]:
        # A copy sent to a worker process starts its own counters (a lock does not pickle).
        return {"dimensions": self.dimensions, "model": self.model}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.dimensions = state["dimensions"]
        self.model = state["model"]
        self.stats = EmbedStats()

    def describe(self) -> dict[str, Any]:
        """Describe the provider for logs and Dagster metadata.

        Returns:
            provider, model, dimensions, and a note that this is the local offline embedder.
        """
        return {
            "provider": self.provider_name,
            "model": self.model,
            "dimensions": self.dimensions,
            "offline": True,
            "description": "local offline embedder (lexical feature hashing)",
        }

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Args:
            texts: The texts to embed; empty texts get a fixed unit vector.

        Returns:
            float32 array of shape (len(texts), dimensions) with L2-normalised rows.
        """
        started = time.perf_counter()
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        values_per_doc: list[list[int]] = []
        runs_per_doc: list[str] = []
        token_total = 0
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"embed() takes strings, got {type(text).__name__}")
            spans = _SPAN_RE.findall(text.lower())
            token_total += len(spans)
            values_per_doc.append(list(chain.from_iterable(map(_SPANS.__getitem__, spans))))
            runs_per_doc.append(" ".join([t for t in spans if t >= _CJK_START and t not in _CJK_STOP_RUNS]))

        keys, weights = self._features(values_per_doc, runs_per_doc)
        out = self._bucket(n, keys, weights)
        self.stats.add(requests=1, inputs=n, tokens=token_total, seconds=time.perf_counter() - started)
        return out

    def _features(self, values_per_doc: list[list[int]], runs_per_doc: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return per-occurrence keys ``doc << 40 | feature hash`` and the weight of each occurrence."""
        n = len(values_per_doc)
        parts_keys: list[np.ndarray] = []
        parts_weights: list[np.ndarray] = []

        lengths = np.fromiter(map(len, values_per_doc), dtype=np.int64, count=n)
        values = np.fromiter(chain.from_iterable(values_per_doc), dtype=np.uint64, count=int(lengths.sum()))
        doc = np.repeat(np.arange(n, dtype=np.uint64), lengths)
        keep = values != 0
        values, doc = values[keep], doc[keep]
        crc = values & np.uint64(0xFFFFFFFF)
        weight = np.where(values & np.uint64(_CODE_FLAG), _W_CODE_BOOST, 1.0)
        compound = (values & np.uint64(_COMPOUND_FLAG)) != 0
        if compound.any():
            parts_keys.append(self._key(doc[compound], _mix64(crc[compound] ^ _SALT_TERM)))
            parts_weights.append(weight[compound] * _W_COMPOUND)
            crc, doc, weight = crc[~compound], doc[~compound], weight[~compound]

        # Word terms and term bigrams. Stop words were dropped before pairing, so bigrams join neighbouring content
        # words ("backup schedule" in "the backup of the schedule"); an identifier's parts pair up too.
        if len(crc):
            parts_keys.append(self._key(doc, _mix64(crc ^ _SALT_TERM)))
            parts_weights.append(weight * _W_TERM)
            same = doc[1:] == doc[:-1]
            if same.any():
                pair = ((crc[:-1] << np.uint64(32)) | crc[1:])[same]
                parts_keys.append(self._key(doc[1:][same], _mix64(pair ^ _SALT_TERM2)))
                parts_weights.append(np.full(len(pair), _W_TERM2))

        # Character bigrams and trigrams inside space-free runs; spaces separate runs and documents.
        stream = " ".join(runs_per_doc)
        if stream.strip():
            codes = np.frombuffer(stream.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
            run_lengths = np.fromiter(map(len, runs_per_doc), dtype=np.int64, count=n) + 1
            char_doc = np.repeat(np.arange(n, dtype=np.uint64), run_lengths)[: len(codes)]
            letter = codes != 32
            for size, salt, weight, stop in (
                (2, _SALT_CHAR2, _W_CHAR2, _STOP_CHAR2),
                (3, _SALT_CHAR3, _W_CHAR3, _STOP_CHAR3),
            ):
                if len(codes) < size:
                    continue
                valid = letter[: len(codes) - size + 1].copy()
                for k in range(1, size):
                    valid &= letter[k : len(codes) - size + 1 + k]
                packed = _pack_chars(codes, size)
                valid &= ~np.isin(packed, stop)
                if valid.any():
                    parts_keys.append(self._key(char_doc[: len(valid)][valid], _mix64(packed[valid] ^ salt)))
                    parts_weights.append(np.full(int(valid.sum()), weight))

        if not parts_keys:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.float64)
        return np.concatenate(parts_keys), np.concatenate(parts_weights)

    @staticmethod
    def _key(doc: np.ndarray, hashed: np.ndarray) -> np.ndarray:
        # Documents occupy the high bits so one sort counts every (document, feature) pair of the batch at once.
        return (doc << np.uint64(_KEY_BITS)) | (hashed & _KEY_MASK)

    def _bucket(self, n: int, keys: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Count features per document, weight them sub-linearly and fold them into signed buckets."""
        dims = self.dimensions
        flat = np.zeros(n * dims, dtype=np.float64)
        if len(keys):
            unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
            doc = (unique >> np.uint64(_KEY_BITS)).astype(np.int64)
            feature = unique & _KEY_MASK
            index = (feature % np.uint64(dims)).astype(np.int64)
            sign = 1.0 - 2.0 * ((feature >> np.uint64(_KEY_BITS - 1)) & np.uint64(1)).astype(np.float64)
            values = weights[first] * (1.0 + np.log(counts)) * sign
            flat += np.bincount(doc * dims + index, weights=values, minlength=n * dims)
        rows = flat.reshape(n, dims)
        empty = ~rows.any(axis=1)
        if empty.any():
            # A text without features still needs a unit vector; all such texts share one fixed direction.
            hashed = int(_mix64(np.array([_EMPTY_FEATURE], dtype=np.uint64))[0]) & _MASK64
            rows[empty, hashed % dims] = 1.0
        return l2_normalize(rows)
