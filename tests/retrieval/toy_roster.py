"""A toy roster where the right expert for each query agenda is obvious."""

from __future__ import annotations

import pandas as pd

# expert_id -> (headline, bio, location, industry, skills, training agendas)
TOY_EXPERTS = {
    101: (
        "Former VP Procurement, TSMC (APAC)",
        "Led wafer and chemical sourcing for Taiwanese semiconductor fabs.",
        "Hsinchu, Taiwan",
        "Semiconductors",
        ["Wafer fab equipment", "Procurement", "APAC supply chain"],
        [
            ["How do Taiwanese fabs negotiate lithography tool prices?"],
            ["What lead times do APAC fabs see for etch equipment?"],
        ],
    ),
    202: (
        "Ex-Head of Sales, Medtronic (DACH)",
        "Sold infusion pumps to German hospital systems and ran tenders.",
        "Munich, Germany",
        "Healthcare",
        ["Infusion pumps", "Hospital tenders", "Medical devices"],
        [
            ["How do German hospitals run RFPs for infusion pumps?"],
            ["Which infusion pump vendors win hospital tenders in Germany?"],
            ["How do hospital group purchasing organisations price pumps?"],
        ],
    ),
    303: (
        "Former Director of Payments, Nubank (LATAM)",
        "Built card issuing and instant payments products in Brazil.",
        "Sao Paulo, Brazil",
        "Financial Services & Fintech",
        ["Pix instant payments", "Card issuing", "Latin American fintech"],
        [["How fast is Pix adoption growing among Brazilian merchants?"]],
    ),
    404: (
        "Ex-Fleet Operations Manager, Maersk (Europe)",
        "Ran container ship chartering and bunker fuel purchasing.",
        "Copenhagen, Denmark",
        "Logistics & Transportation",
        ["Container shipping", "Chartering", "Bunker fuel"],
        [["How are container charter rates trending on Asia-Europe lanes?"]],
    ),
}

QUERIES = {
    202: ["How do hospitals in Germany tender infusion pumps?", "Who wins pump RFPs?"],
    303: ["How are Brazilian merchants adopting Pix instant payments?"],
    101: ["How do Taiwan fabs buy lithography and etch equipment?"],
    404: ["Where are container ship charter rates heading?", "Bunker fuel costs?"],
}


def make_toy_roster() -> pd.DataFrame:
    """Roster rows (``expert_roster`` contract) of the toy experts."""
    return pd.DataFrame(
        [
            {
                "expert_id": expert_id,
                "expert_name": f"Expert {expert_id}",
                "expert_headline": headline,
                "expert_bio": bio,
                "expert_work_summary": "",
                "expert_location": location,
                "expert_industry": industry,
                "expert_skills": skills,
            }
            for expert_id, (headline, bio, location, industry, skills, _) in (
                TOY_EXPERTS.items()
            )
        ]
    )


def make_toy_train_pairs() -> pd.DataFrame:
    """Training pairs (project_id, expert_id, agenda), one project per agenda."""
    rows, project_id = [], 1000
    for expert_id, (*_, agendas) in TOY_EXPERTS.items():
        for agenda in agendas:
            project_id += 1
            rows.append(
                {"project_id": project_id, "expert_id": expert_id, "agenda": agenda}
            )
    return pd.DataFrame(rows)


def make_toy_index(
    bm25_weight: float = 0.4, fusion: str = "zscore", prior_weight: float = 0.0
):
    """A ``RetrievalIndex`` of the toy roster (real MiniLM), fusion weights fixed."""
    from expert_kedro.retrieval import (  # noqa: PLC0415 - keeps the module light
        RetrievalSettings,
        build_expert_documents,
        fit_retrieval_index,
        tune_retrieval_index,
    )

    settings = RetrievalSettings.from_params(
        {
            "hybrid": {"bm25_weight": bm25_weight, "fusion": fusion},
            "prior": {"weight": prior_weight},
        }
    )
    documents = build_expert_documents(make_toy_roster(), make_toy_train_pairs())
    return tune_retrieval_index(fit_retrieval_index(documents, settings), None)
