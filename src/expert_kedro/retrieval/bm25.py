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
