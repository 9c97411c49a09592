"""Phases of ``retrieval_scale.py``: profile embeddings, build and query.

Each phase runs in its own process (``retrieval_scale.py --phase ...``), so the peak
resident memory it reports is its own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from synthetic_roster import load_reference, synthetic_roster, synthetic_train_pairs

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mib() -> float:
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def workdir(args: argparse.Namespace) -> Path:
    return args.cache / ("retrieval_scale_tiny" if args.tiny else "retrieval_scale")


def roster_documents(args: argparse.Namespace, n: int):
    """Expert documents of the first ``n`` experts of the largest synthetic roster."""
    from expert_kedro.retrieval import build_expert_documents  # noqa: PLC0415

    reference = load_reference(ROOT)
    largest = max(args.sizes)
    roster = synthetic_roster(reference, largest, args.seed).head(n)
    cap = 1 if args.tiny else None  # --tiny: one training project per expert
    pairs = synthetic_train_pairs(reference, largest, args.seed, max_history=cap)
    return build_expert_documents(roster, pairs[pairs["expert_id"] <= n])


def embedding_chunks(args: argparse.Namespace, texts: list[str]) -> Path:
    """Folder of the cached profile embeddings of ``texts`` (encoded if missing)."""
    from expert_kedro.retrieval.encoder import (  # noqa: PLC0415
        load_sentence_encoder,
        model_signature,
    )

    encoder = load_sentence_encoder()
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    folder = (
        workdir(args) / f"embeddings_{key}_{model_signature(encoder.model_path)[:8]}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    limit = len(texts) if args.encode_limit is None else args.encode_limit
    for start in range(0, min(limit, len(texts)), args.chunk):
        stem = folder / f"chunk_{start // args.chunk:05d}"
        if args.reuse_embeddings and stem.with_suffix(".json").is_file():
            continue
        begin, cpu = time.perf_counter(), time.process_time()
        vectors = encoder.embed(texts[start : start + args.chunk])
        seconds = time.perf_counter() - begin
        np.save(stem.with_suffix(".npy"), vectors)
        record = {"texts": len(vectors), "seconds": round(seconds, 3)}
        record["cpu_seconds"] = round(time.process_time() - cpu, 3)
        record |= {"date": now(), "loadavg": os.getloadavg()}
        stem.with_suffix(".json").write_text(json.dumps(record))
        print(f"encoded profiles {start}+{len(vectors)} in {seconds:.1f}s", flush=True)
    return folder


def cached_embeddings(
    folder: Path, n: int, chunk: int, seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    """First ``n`` profile embeddings: encoded ones from the cache, then derived ones.

    Profiles past the encoded chunks (``--encode-limit``) get a derived embedding: a
    random convex blend of two encoded profiles, normalised. Exact search costs the
    same whatever the values; the encoding time of all ``n`` is then extrapolated
    from the measured throughput.

    Returns:
        ``(vectors, info)`` with the encoded count, the measured encoding seconds and
        the (measured or extrapolated) seconds for ``n`` profiles.
    """
    stems = []
    for i in range(-(-n // chunk)):
        stem = folder / f"chunk_{i:05d}"
        if not stem.with_suffix(".json").is_file():
            break
        stems.append(stem)
    if not stems:
        raise SystemExit(f"No encoded profiles under {folder}.")
    vectors = np.concatenate([np.load(s.with_suffix(".npy")) for s in stems])[:n]
    records = [json.loads(s.with_suffix(".json").read_text()) for s in stems]
    encoded = len(vectors)
    shares = [
        min(1.0, (encoded - i * chunk) / r["texts"]) for i, r in enumerate(records)
    ]
    seconds = sum(
        r["seconds"] * share for r, share in zip(records, shares, strict=True)
    )
    cpu = sum(
        r["cpu_seconds"] * share for r, share in zip(records, shares, strict=True)
    )
    if encoded < n:
        vectors = np.concatenate([vectors, blends(vectors, n - encoded, [seed, 2])])
    info = {
        "profiles_encoded": encoded,
        "profile_encode_s_measured": round(seconds, 2),
        "profile_encode_s": round(seconds * n / encoded, 2),
        "profile_encode_cpu_s": round(cpu * n / encoded, 2),
        "profile_encode_extrapolated": encoded < n,
        "encode_loadavg": records[-1]["loadavg"],
    }
    return vectors, info


def blends(vectors: np.ndarray, count: int, seed: list[int]) -> np.ndarray:
    """``count`` random convex blends of two rows of ``vectors``, unit length."""
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, len(vectors), size=(count, 2))
    weight = rng.random((count, 1), dtype=np.float32)
    blend = weight * vectors[pairs[:, 0]] + (1 - weight) * vectors[pairs[:, 1]]
    blend /= np.linalg.norm(blend, axis=1, keepdims=True)
    return blend.astype(np.float32)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def folder_bytes(folder: Path) -> dict[str, int]:
    sizes = {"embeddings": 0, "bm25": 0, "other": 0}
    for path in folder.rglob("*"):
        if path.is_file():
            name = path.relative_to(folder).as_posix()
            part = (
                "embeddings"
                if name.endswith("embeddings.npy")
                else ("bm25" if "/bm25/" in f"/{name}" else "other")
            )
            sizes[part] += path.stat().st_size
    return sizes


def build_phase(args: argparse.Namespace) -> dict[str, Any]:
    """Fit the artifact of ``args.n`` experts and save it (its own process)."""
    from kedro.io import Version  # noqa: PLC0415

    from expert_kedro.datasets import RetrievalIndexDataset  # noqa: PLC0415
    from expert_kedro.retrieval import (  # noqa: PLC0415
        DenseRetriever,
        RetrievalSettings,
        fit_retrieval_index,
        load_sentence_encoder,
        tune_retrieval_index,
    )

    start = time.perf_counter()
    documents = roster_documents(args, args.n)
    documents_s = time.perf_counter() - start
    texts = DenseRetriever.profile_texts(documents)
    vectors, encoding = cached_embeddings(
        args.embeddings, args.n, args.chunk, args.seed
    )
    encode_s = encoding["profile_encode_s"]
    load_sentence_encoder().remember(texts, vectors)
    history = "encoded"
    if args.derive_history:
        from expert_kedro.retrieval.base import agenda_text  # noqa: PLC0415

        questions = sorted(
            {agenda_text(a) for agendas in documents.agendas for a in agendas}
        )
        derived = blends(vectors, len(questions), [args.seed, 3])
        load_sentence_encoder().remember(questions, derived)
        history = f"derived ({len(questions)} texts, none encoded)"
    del vectors
    settings = RetrievalSettings.from_params(
        {"hybrid": {"bm25_weight": args.bm25_weight}, "prior": {"weight": 0.0}}
    )
    encoded_before = load_sentence_encoder().texts_encoded
    start = time.perf_counter()
    index = tune_retrieval_index(fit_retrieval_index(documents, settings), None)
    fit_s = time.perf_counter() - start
    if index.dense.encoder is not load_sentence_encoder():
        raise RuntimeError("The dense fit did not use the encoder seeded above.")
    target = workdir(args) / f"index_{args.n}"
    shutil.rmtree(target, ignore_errors=True)
    dataset = RetrievalIndexDataset(filepath=str(target), version=Version(None, None))
    start = time.perf_counter()
    dataset.save(index)
    save_s = time.perf_counter() - start
    (saved,) = target.glob("*/index_*")
    sizes = folder_bytes(saved)
    return {
        "documents_s": round(documents_s, 2),
        **encoding,
        "bm25_fit_s": index.fit_seconds["bm25"],
        "dense_fit_s_without_profiles": index.fit_seconds["dense"],
        "history_embeddings": history,
        "fit_texts_encoded": load_sentence_encoder().texts_encoded - encoded_before,
        "fit_s": round(fit_s, 2),
        "save_s": round(save_s, 2),
        "build_s": round(encode_s + fit_s + save_s, 2),
        "disk_mib": round(sum(sizes.values()) / 2**20, 2),
        "disk_mib_parts": {k: round(v / 2**20, 2) for k, v in sizes.items()},
        "bm25_vocabulary": len(index.bm25.index.vocab_dict),
        "build_peak_rss_mib": peak_rss_mib(),
        "build_loadavg": [round(x, 1) for x in os.getloadavg()],
    }


def percentiles(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(values, 50)), 2),
        "p95": round(float(np.percentile(values, 95)), 2),
    }


def query_phase(args: argparse.Namespace) -> dict[str, Any]:
    """Load the saved artifact and time one agenda at a time (its own process)."""
    from kedro.io import Version  # noqa: PLC0415

    from expert_kedro.datasets import RetrievalIndexDataset  # noqa: PLC0415
    from expert_kedro.retrieval import agenda_text, fuse_scores, top_k  # noqa: PLC0415

    agendas = json.loads((workdir(args) / "queries.json").read_text())
    rss_before = current_rss_mib()
    target = workdir(args) / f"index_{args.n}"
    start = time.perf_counter()
    index = RetrievalIndexDataset(
        filepath=str(target), version=Version(None, None)
    ).load()
    load_s = time.perf_counter() - start
    rss_loaded = current_rss_mib()
    start = time.perf_counter()
    encoder = index.dense.encoder  # the only model, loaded on first use
    encoder_load_s = time.perf_counter() - start
    warm, timed = agendas[: args.warmup], agendas[args.warmup :]
    end_to_end, parts = timed[: args.queries], timed[args.queries : 2 * args.queries]
    for agenda in warm:
        index.candidates([agenda], args.k)
    latencies, cpu_times = [], []
    for agenda in end_to_end:
        start, cpu = time.perf_counter(), time.process_time()
        index.candidates([agenda], args.k)
        latencies.append((time.perf_counter() - start) * 1e3)
        cpu_times.append((time.process_time() - cpu) * 1e3)
    steps: dict[str, list[float]] = {
        s: [] for s in ("encode", "bm25", "dense", "fuse", "top_k")
    }
    scans = []  # everything but the query encoding: what grows with the roster
    for agenda in parts:
        marks = [time.perf_counter()]
        encoder.encode([agenda_text(agenda)])
        marks.append(time.perf_counter())
        lexical = index.bm25.score_all([agenda])
        marks.append(time.perf_counter())
        dense = index.dense.score_all([agenda])  # embedding cached: the dot product
        marks.append(time.perf_counter())
        fused = fuse_scores(lexical, dense, index.bm25_weight)
        marks.append(time.perf_counter())
        top_k(fused, index.expert_ids, args.k)
        marks.append(time.perf_counter())
        for step, begin, end in zip(steps, marks, marks[1:], strict=False):
            steps[step].append((end - begin) * 1e3)
        scans.append((marks[-1] - marks[1]) * 1e3)
    return {
        "load_s": round(load_s, 3),
        "encoder_load_s": round(encoder_load_s, 2),
        "latency_ms": percentiles(latencies),
        "latency_cpu_ms": percentiles(cpu_times),
        "step_p50_ms": {s: percentiles(v)["p50"] for s, v in steps.items()},
        "scan_ms": percentiles(scans),
        "queries": len(latencies),
        "rss_before_index_mib": rss_before,
        "rss_after_load_mib": rss_loaded,
        "query_peak_rss_mib": peak_rss_mib(),
        "query_loadavg": [round(x, 1) for x in os.getloadavg()],
    }
