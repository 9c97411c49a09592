"""The five business regions and how countries fall into them (data, no logic).

The data card names five regions in which experts of one specialty differ
(:data:`REGIONS`). Countries are not listed here: the gazetteers know them
(``pycountry`` for names and ISO codes, ``country_converter`` for each country's
UN geoscheme subregion). :data:`UN_SUBREGIONS` maps a subregion to a business
region, :data:`COUNTRY_OVERRIDES` sets the countries whose business usage differs
from their subregion (the roster's own headlines and bios put Egypt and Iran in the
Middle East, Cyprus in Europe). Sub-Saharan and North Africa, Central Asia and the
Caucasus belong to none of the five regions and are left out on purpose.
:data:`ALIASES` maps the few roster spellings neither library knows.

The lookups built on these tables are in :mod:`expert_kedro.training_data.regions`.
"""

from __future__ import annotations

from collections.abc import Mapping

NORTH_AMERICA = "North America"
EUROPE = "Europe"
APAC = "APAC"
LATIN_AMERICA = "Latin America"
MIDDLE_EAST = "Middle East"
REGIONS = (NORTH_AMERICA, EUROPE, APAC, LATIN_AMERICA, MIDDLE_EAST)

# country_converter's ``UNregion`` (UN M49 subregion) -> business region; the
# subregions not listed (Africa, Central Asia, Antarctica) name none of the five.
UN_SUBREGIONS: Mapping[str, str] = {
    "Northern America": NORTH_AMERICA,
    "Northern Europe": EUROPE,
    "Western Europe": EUROPE,
    "Southern Europe": EUROPE,
    "Eastern Europe": EUROPE,
    "Eastern Asia": APAC,
    "South-eastern Asia": APAC,
    "Southern Asia": APAC,
    "Australia and New Zealand": APAC,
    "Melanesia": APAC,
    "Micronesia": APAC,
    "Polynesia": APAC,
    "Central America": LATIN_AMERICA,
    "Caribbean": LATIN_AMERICA,
    "South America": LATIN_AMERICA,
    "Western Asia": MIDDLE_EAST,
}

# ISO 3166-1 alpha-2 -> business region where it differs from the subregion's;
# None: the country is in none of the five.
COUNTRY_OVERRIDES: Mapping[str, str | None] = {
    "EG": MIDDLE_EAST,  # Northern Africa
    "IR": MIDDLE_EAST,  # Southern Asia
    "CY": EUROPE,  # Western Asia, an EU member
    "GE": None,  # Western Asia: the Caucasus
    "AM": None,
    "AZ": None,
}

# Spellings of roster locations and agendas that neither pycountry nor
# country_converter lists as a name -> alpha-2.
ALIASES: Mapping[str, str] = {
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "England": "GB",
    "USA": "US",
    "U.S.A.": "US",
    "U.A.E.": "AE",
    "Korea": "KR",
    "Burma": "MM",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Holland": "NL",
    "UAE": "AE",
    "KSA": "SA",
    "Brasil": "BR",
    "Hong Kong SAR": "HK",
}
