"""Business regions of roster experts and of client agendas, for rerank prompts.

A roster ``expert_location`` reads ``"City, Country"``; :func:`expert_region` maps
its country (any name, spelling or ISO code that ``pycountry`` or
``country_converter`` knows) to one of the five regions (:data:`REGIONS`), or to
None when the country is in none of them (the prompt then omits the region line).

:func:`agenda_regions` reads the regions an agenda names from maintained
gazetteers (:mod:`~expert_kedro.training_data.gazetteers`: countries, ISO 3166-2
subdivisions, US states, cities) and from the region words of expert networks
(:mod:`~expert_kedro.training_data.region_terms`: "DACH", "GCC", "LatAm").
Reading for precision as much as recall:

* a name starts with a capital letter ("reading" is a verb, "Reading" may be the
  town); short upper-case words ("US", "EU", "UK") match in upper case only, so
  "tell us" is not the US;
* the longest name wins at a position ("New Mexico" over "Mexico", "Latin
  American" over "American");
* a city or subdivision that is also a common word or given name never names a
  place on its own (:data:`~expert_kedro.training_data.region_terms.COMMON_WORDS`),
  nor does a one-word one of fewer than four letters ("Of", "Bar", "Van").

The gazetteers are read on the first call (not at import) and kept for the
process.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

from expert_kedro.training_data.region_countries import REGIONS

if TYPE_CHECKING:
    from expert_kedro.training_data.gazetteers import Gazetteer

__all__ = [
    "COUNTRY_REGION",  # noqa: F822 - built on first use (module __getattr__)
    "REGIONS",
    "agenda_regions",
    "expert_region",
    "PlaceMention",
    "log_missing_regions",
    "place_mentions",
    "region_lines",
]

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W_]+")


def __getattr__(name: str) -> Mapping[str, str]:
    # COUNTRY_REGION is built from the gazetteers on first use, not at import.
    if name == "COUNTRY_REGION":
        return _gazetteers().country_region_table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _gazetteers() -> ModuleType:
    # Imported on first use: prompts' importers need not load the libraries.
    from expert_kedro.training_data import gazetteers  # noqa: PLC0415 - see above

    return gazetteers


def fold(text: str) -> str:
    """``text`` without accents ("México" -> "Mexico", "Türkiye" -> "Turkiye")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def expert_region(location: str | None) -> str | None:
    """The business region of a roster ``expert_location``.

    Args:
        location: ``"City, Country"`` (the country is the text after the last
            comma), or a bare country: a name in any common spelling, with or
            without accents ("México", "Türkiye", "Czech Republic"), or an ISO
            3166-1 alpha-2 or alpha-3 code ("DE", "DEU").

    Returns:
        One of :data:`REGIONS`, or None for a missing location, an unknown country
        or one in none of the five regions.
    """
    if not isinstance(location, str):
        return None
    return _gazetteers().roster_region(location.rsplit(",", 1)[-1])


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
    none in the five regions) gives no candidate a region, and an ``Agenda
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


def agenda_regions(agenda: Iterable[str]) -> tuple[str, ...]:
    """The business regions an agenda names, in :data:`REGIONS` order.

    Args:
        agenda: The client's questions.

    Returns:
        The regions of the countries, subdivisions, cities and region words found
        (empty when the agenda names none: most generic questions do not).
    """
    return _agenda_regions(tuple(str(q) for q in agenda))


# Every candidate block of one agenda asks again (K per agenda in a batch).
@functools.lru_cache(maxsize=4096)
def _agenda_regions(agenda: tuple[str, ...]) -> tuple[str, ...]:
    gazetteer = _gazetteers().agenda_gazetteer()
    found: set[str | None] = set()
    for question in agenda:
        found.update(_question_regions(question, gazetteer))
    return tuple(region for region in REGIONS if region in found)


class PlaceMention(NamedTuple):
    """One place name read in a question.

    Attributes:
        start: Offset of its first character in the question.
        end: Offset just past its last character.
        region: Its business region; None for a place in none of :data:`REGIONS`
            (or in several), or a city or subdivision that goes on as a
            company's name ("Boston Scientific").
    """

    start: int
    end: int
    region: str | None


def place_mentions(question: str) -> list[PlaceMention]:
    """The place and region names of one question, left to right.

    What :func:`agenda_regions` reads, with where each name stands: benchmarks
    that reword agendas (``benchmarks/reworded_agendas.py``) replace the names.

    Args:
        question: One client question.

    Returns:
        The names found, in order (empty when the question names none).
    """
    return _place_mentions(question, _gazetteers().agenda_gazetteer())


def _question_regions(question: str, gazetteer: Gazetteer) -> set[str | None]:
    """Regions of the names in one question."""
    return {mention.region for mention in _place_mentions(question, gazetteer)}


def _place_mentions(question: str, gazetteer: Gazetteer) -> list[PlaceMention]:
    """Names in one question, scanned left to right (longest name first)."""
    words = list(_WORD.finditer(question))
    keys = [_word_key(w.group()) for w in words]
    found: list[PlaceMention] = []
    start = 0
    while start < len(words):
        size = _name_at(words, keys, start, gazetteer)
        if size:
            key = tuple(keys[start : start + size])
            company = key in gazetteer.local and _company(words, start + size)
            region = None if company else gazetteer.names[key]
            span = (words[start].start(), words[start + size - 1].end())
            found.append(PlaceMention(*span, region))
        start += size or 1
    return found


def _word_key(word: str) -> str:
    return word.casefold() if word.isascii() else fold(word).casefold()


def _name_at(
    words: list[re.Match[str]], keys: list[str], start: int, gazetteer: Gazetteer
) -> int:
    """Words in the longest name starting at ``start`` (0: none starts there)."""
    if not words[start].group()[0].isupper():
        return 0
    longest = min(gazetteer.longest.get(keys[start], 0), len(words) - start)
    for size in range(longest, 0, -1):
        key = tuple(keys[start : start + size])
        if key not in gazetteer.names:
            continue
        text = "".join(w.group() for w in words[start : start + size])
        if key in gazetteer.upper_only and not text.isupper():
            continue
        return size
    return 0


def _company(words: list[re.Match[str]], after: int) -> bool:
    """Whether a city or subdivision name goes on as a company's.

    A capitalized word right after it, in the same phrase: "Boston Scientific",
    "Tokyo Electron", "Texas Instruments" name companies, while "Osaka, Japan",
    "Osaka's plants" or "Osaka. What" keep the place. Country names are not
    read so: "China Mobile" or "Saudi Aramco" still say where.
    """
    if after >= len(words):
        return False
    gap = words[after - 1].string[words[after - 1].end() : words[after].start()]
    following = words[after].group()
    return gap == " " and len(following) > 1 and following[0].isupper()
