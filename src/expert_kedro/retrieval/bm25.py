"""Lexical retrieval: BM25 (via ``bm25s``) over one document per roster expert."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import bm25s
import numpy as np

from expert_kedro.retrieval.base import Agenda, agenda_text
from expert_kedro.retrieval.expert_documents import ExpertDocuments

logger = logging.getLogger(__name__)


class BM25Retriever:
    """Scores every roster expert with BM25 against the agenda's words.

    Each expert document is profile + skills + training agendas (+ answers when the
    documents carry them), see ``ExpertDocuments.bm25_texts``.

    Args:
        k1: Term-frequency saturation.
        b: Length normalisation.
        method: ``bm25s`` scoring variant (``lucene``, ``robertson``, ``atire``, ...).
        stopwords: Stop-word list name understood by ``bm25s`` (e.g. ``"en"``) or None.
        name: System name used in reports.
    """

    def __init__(
        self,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        method: str = "lucene",
        stopwords: str | None = "en",
        name: str = "bm25",
    ) -> None:
        self.name = name
        self.k1, self.b, self.method, self.stopwords = k1, b, method, stopwords
        self.expert_ids = np.empty(0, dtype=int)
        self.documents: ExpertDocuments | None = None
        self.fit_seconds = 0.0
        self._tokenizer: bm25s.tokenization.Tokenizer | None = None
        self._index: bm25s.BM25 | None = None

    def fit(self, documents: ExpertDocuments) -> BM25Retriever:
        """Index the expert documents.

        Args:
            documents: Per-expert texts built from the training split.

        Returns:
            self, for chaining.
        """
        start = time.perf_counter()
        self._tokenizer = bm25s.tokenization.Tokenizer(stopwords=self.stopwords)
        corpus = self._tokenizer.tokenize(
            documents.bm25_texts(),
            update_vocab=True,
            return_as="string",
            show_progress=False,
        )
        self._index = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        self._index.index(corpus, show_progress=False)
        self.documents = documents
        self.expert_ids = documents.expert_ids
        self.fit_seconds = time.perf_counter() - start
        logger.info(
            "BM25 indexed %d experts (%d words in vocabulary) in %.2fs.",
            len(self.expert_ids),
            len(self._index.vocab_dict),
            self.fit_seconds,
        )
        return self

    @classmethod
    def from_index(  # noqa: PLR0913 - the fitted state and its settings
        cls,
        expert_ids: np.ndarray,
        index: bm25s.BM25,
        tokenizer: bm25s.tokenization.Tokenizer,
        *,
        k1: float,
        b: float,
        method: str,
        stopwords: str | None,
        name: str = "bm25",
    ) -> BM25Retriever:
        """A fitted retriever around a loaded ``bm25s`` index (no re-indexing).

        Args:
            expert_ids: Roster ids, in the order the documents were indexed.
            index: The ``bm25s`` index of those documents.
            tokenizer: The tokenizer whose vocabulary built the index.
            k1: Term-frequency saturation the index was built with.
            b: Length normalisation the index was built with.
            method: ``bm25s`` variant the index was built with.
            stopwords: Stop-word list name the tokenizer was built with.
            name: System name used in reports.

        Returns:
            A retriever that scores like the one that was fitted.

        Raises:
            ValueError: If the index holds another number of documents.
        """
        n_docs = int(index.scores["num_docs"])
        if n_docs != len(expert_ids):
            raise ValueError(
                f"The BM25 index holds {n_docs} documents but {len(expert_ids)} "
                "expert ids were given; they must align one to one."
            )
        retriever = cls(k1=k1, b=b, method=method, stopwords=stopwords, name=name)
        retriever.expert_ids = np.asarray(expert_ids)
        retriever._index, retriever._tokenizer = index, tokenizer
        return retriever

    @property
    def index(self) -> bm25s.BM25:
        """The fitted ``bm25s`` index (e.g. to save it with ``bm25s``' own format)."""
        if self._index is None:
            raise RuntimeError("BM25Retriever.index read before fit().")
        return self._index

    @property
    def tokenizer(self) -> bm25s.tokenization.Tokenizer:
        """The tokenizer whose vocabulary built the index (queries need it)."""
        if self._tokenizer is None:
            raise RuntimeError("BM25Retriever.tokenizer read before fit().")
        return self._tokenizer

    def score_all(self, agendas: Sequence[Agenda]) -> np.ndarray:
        """BM25 score of every roster expert for each agenda.

        Args:
            agendas: Agendas, each a list of questions.

        Returns:
            ``[len(agendas), n_experts]`` scores; an agenda without any indexed word
            scores 0 for everyone.

        Raises:
            RuntimeError: If called before ``fit``.
        """
        if self._index is None or self._tokenizer is None:
            raise RuntimeError("BM25Retriever.score_all called before fit().")
        queries = self._tokenizer.tokenize(
            [agenda_text(agenda) for agenda in agendas],
            update_vocab=False,
            return_as="string",
            show_progress=False,
        )
        scores = np.zeros((len(agendas), len(self.expert_ids)), dtype=float)
        for row, tokens in enumerate(queries):
            # bm25s maps unknown words to the empty token, which has no index row.
            known = [token for token in tokens if token]
            if known:
                scores[row] = self._index.get_scores(known)
        return scores
