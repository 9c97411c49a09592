"""The five business regions and the countries of each (a data table, no logic).

The data card names five regions in which experts of one specialty differ
(:data:`REGIONS`). :data:`COUNTRIES` covers every country of the raw roster plus
other common ones. Regions follow the business usage of the roster's own headlines
and bios (Mexico is in Latin America, Israel in the Middle East; Turkey and Egypt
are put there too). Sub-Saharan Africa and Central Asia belong to none of the five
regions and are left out on purpose. :data:`ALIASES` maps other spellings seen in
location strings to the table's names.

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

COUNTRIES: Mapping[str, tuple[str, ...]] = {
    NORTH_AMERICA: ("United States", "Canada"),
    EUROPE: (
        "United Kingdom",
        "Ireland",
        "Germany",
        "France",
        "Italy",
        "Spain",
        "Portugal",
        "Netherlands",
        "Belgium",
        "Luxembourg",
        "Switzerland",
        "Austria",
        "Liechtenstein",
        "Monaco",
        "Denmark",
        "Sweden",
        "Norway",
        "Finland",
        "Iceland",
        "Poland",
        "Czech Republic",
        "Slovakia",
        "Hungary",
        "Romania",
        "Bulgaria",
        "Greece",
        "Cyprus",
        "Malta",
        "Slovenia",
        "Croatia",
        "Serbia",
        "Bosnia and Herzegovina",
        "Montenegro",
        "North Macedonia",
        "Albania",
        "Estonia",
        "Latvia",
        "Lithuania",
        "Ukraine",
        "Belarus",
        "Moldova",
        "Russia",
    ),
    APAC: (
        "China",
        "Hong Kong",
        "Macau",
        "Taiwan",
        "Japan",
        "South Korea",
        "Mongolia",
        "India",
        "Pakistan",
        "Bangladesh",
        "Sri Lanka",
        "Nepal",
        "Singapore",
        "Malaysia",
        "Indonesia",
        "Thailand",
        "Vietnam",
        "Philippines",
        "Cambodia",
        "Myanmar",
        "Brunei",
        "Australia",
        "New Zealand",
        "Papua New Guinea",
        "Fiji",
    ),
    LATIN_AMERICA: (
        "Mexico",
        "Guatemala",
        "Honduras",
        "El Salvador",
        "Nicaragua",
        "Costa Rica",
        "Panama",
        "Cuba",
        "Dominican Republic",
        "Puerto Rico",
        "Jamaica",
        "Trinidad and Tobago",
        "Colombia",
        "Venezuela",
        "Ecuador",
        "Peru",
        "Bolivia",
        "Chile",
        "Argentina",
        "Uruguay",
        "Paraguay",
        "Brazil",
    ),
    MIDDLE_EAST: (
        "Saudi Arabia",
        "United Arab Emirates",
        "Qatar",
        "Kuwait",
        "Bahrain",
        "Oman",
        "Yemen",
        "Israel",
        "Jordan",
        "Lebanon",
        "Syria",
        "Iraq",
        "Iran",
        "Palestine",
        "Egypt",
        "Turkey",
    ),
}

# Other spellings seen in location strings -> the table's name.
ALIASES: Mapping[str, str] = {
    "USA": "United States",
    "US": "United States",
    "U.S.": "United States",
    "U.S.A.": "United States",
    "United States of America": "United States",
    "UK": "United Kingdom",
    "U.K.": "United Kingdom",
    "Great Britain": "United Kingdom",
    "England": "United Kingdom",
    "Scotland": "United Kingdom",
    "Wales": "United Kingdom",
    "Northern Ireland": "United Kingdom",
    "The Netherlands": "Netherlands",
    "Holland": "Netherlands",
    "Czechia": "Czech Republic",
    "Korea": "South Korea",
    "Republic of Korea": "South Korea",
    "Hong Kong SAR": "Hong Kong",
    "Macao": "Macau",
    "Viet Nam": "Vietnam",
    "Burma": "Myanmar",
    "UAE": "United Arab Emirates",
    "U.A.E.": "United Arab Emirates",
    "KSA": "Saudi Arabia",
    "Turkiye": "Turkey",
    "Russian Federation": "Russia",
    "Brasil": "Brazil",
}
