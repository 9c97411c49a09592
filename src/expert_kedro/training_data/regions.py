"""Business regions of roster experts and of client agendas, for rerank prompts.

A roster ``expert_location`` reads ``"City, Country"``; :func:`expert_region` maps
its country to one of the five regions (:data:`REGIONS`), or to None when the
country is not in the table (the prompt then omits the region line). The tables
are data modules: countries and their spellings in
:mod:`~expert_kedro.training_data.region_countries`, agenda words in
:mod:`~expert_kedro.training_data.region_terms`.

:func:`agenda_regions` reads the regions an agenda names: its countries, the
region words of expert networks ("DACH", "GCC", "LatAm", "ASEAN") and places
inside a region (US states, Canadian provinces, "US Southeast"). Short upper-case
words ("US", "EU", "UK") only match in upper case, so "tell us" is not the US.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping

from expert_kedro.training_data.region_countries import ALIASES, COUNTRIES, REGIONS
from expert_kedro.training_data.region_terms import AGENDA_TERMS

__all__ = [
    "COUNTRY_REGION",
    "REGIONS",
    "agenda_regions",
    "expert_region",
    "log_missing_regions",
    "region_lines",
]

logger = logging.getLogger(__name__)


def _key(name: str) -> str:
    """Case-, accent- and whitespace-insensitive lookup key of a country name."""
    # Accents are dropped so that "México", "Perú" or "Türkiye" find their entry.
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


COUNTRY_REGION: Mapping[str, str] = {
    country: region for region, countries in COUNTRIES.items() for country in countries
}
_LOOKUP: dict[str, str] = {_key(c): r for c, r in COUNTRY_REGION.items()} | {
    _key(alias): COUNTRY_REGION[country] for alias, country in ALIASES.items()
}


def expert_region(location: str | None) -> str | None:
    """The business region of a roster ``expert_location``.

    Args:
        location: ``"City, Country"`` (the country is the text after the last
            comma), or a bare country name.

    Returns:
        One of :data:`REGIONS`, or None for a missing location or a country that
        is not in the table.
    """
    if not isinstance(location, str):
        return None
    return _LOOKUP.get(_key(location.rsplit(",", 1)[-1]))


def log_missing_regions(locations: Iterable[str | None], where: str) -> int:
    """Log how many roster experts have no region (their prompts omit the line).

    Called once where rerank examples or the rerank ranker are built, not per
    prompt, so the log stays readable.

    Args:
        locations: ``expert_location`` of every roster expert.
        where: Who is asking (names the run step in the log).

    Returns:
        The number of locations without a region.
    """
    values = list(locations)
    unmapped = [str(v) for v in values if expert_region(v) is None]
    missing = len(unmapped)
    if missing:
        logger.warning(
            "%s: %d of %d roster experts have no region (Region line omitted); "
            "unmapped locations: %s.",
            where,
            missing,
            len(values),
            sorted(set(unmapped))[:10],
        )
    else:
        logger.info(
            "%s: every one of the %d roster experts has a region.", where, len(values)
        )
    return missing


def region_lines(
    locations: Iterable[str | None],
    candidate_region: bool,
    agenda_region: bool | str,
    where: str,
) -> tuple[bool, bool | str]:
    """The region line settings that make sense for a roster, said once in the log.

    Location is an optional profile field: an export without locations (or with
    none in the region table) gives no candidate a region, and an ``Agenda
    region:`` line could only ever say the candidate's region is unknown. Both lines
    are then switched off for that data, with one warning; otherwise the settings
    are kept and experts without a region are counted (:func:`log_missing_regions`).

    Args:
        locations: ``expert_location`` of every roster expert.
        candidate_region: ``recommender.candidate_region``.
        agenda_region: ``recommender.agenda_region``.
        where: Who is asking (names the run step in the log).

    Returns:
        ``(candidate_region, agenda_region)`` to lay prompts out with.
    """
    if not candidate_region and not agenda_region:
        return candidate_region, agenda_region
    values = list(locations)
    if values and all(expert_region(v) is None for v in values):
        logger.warning(
            "%s: none of the %d roster experts has a location with a known region "
            "(empty or unknown expert_location), so the Region and Agenda region "
            "lines are switched off for this data.",
            where,
            len(values),
        )
        return False, False
    if candidate_region:
        log_missing_regions(values, where)
    return candidate_region, agenda_region


def _term_pattern(term: str) -> str:
    # "US", "EU", "DC" are words too ("us", "eu-"): acronyms match in upper case.
    escaped = re.escape(term)
    return escaped if term.isupper() and len(term) <= 4 else f"(?i:{escaped})"


def _agenda_terms() -> dict[str, str | None]:
    terms: dict[str, str | None] = {}
    for country, region in COUNTRY_REGION.items():
        terms[country] = region
    for alias, country in ALIASES.items():
        terms[alias] = COUNTRY_REGION[country]
    for region, words in AGENDA_TERMS.items():
        terms.update(dict.fromkeys(words, region))
    return terms


_TERMS = _agenda_terms()
_AGENDA_TERM_REGION = {_key(t): r for t, r in _TERMS.items()}
# Longest first: at one position "Latin American" wins over "American".
_AGENDA_RE = re.compile(
    r"(?<![\w.])("
    + "|".join(_term_pattern(t) for t in sorted(_TERMS, key=len, reverse=True))
    + r")(?![\w])"
)


def agenda_regions(agenda: Iterable[str]) -> tuple[str, ...]:
    """The business regions an agenda names, in :data:`REGIONS` order.

    Args:
        agenda: The client's questions.

    Returns:
        The regions of the countries, region words and places found (empty when
        the agenda names none: most generic questions do not).
    """
    return _agenda_regions(tuple(str(q) for q in agenda))


# Every candidate block of one agenda asks again (K per agenda in a batch).
@functools.lru_cache(maxsize=4096)
def _agenda_regions(agenda: tuple[str, ...]) -> tuple[str, ...]:
    found = {
        _AGENDA_TERM_REGION.get(_key(match.group(1)))
        for question in agenda
        for match in _AGENDA_RE.finditer(question)
    }
    return tuple(region for region in REGIONS if region in found)
