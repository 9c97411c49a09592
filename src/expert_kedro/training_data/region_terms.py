"""Words of agendas that the gazetteers do not read right (a data table, no logic).

:data:`AGENDA_TERMS` holds the region words of expert networks ("DACH", "GCC",
"LatAm", "ASEAN"), demonyms and areas inside a region ("US Southeast", "Sun Belt");
they win over the gazetteers (countries, subdivisions, cities) matched by
:func:`expert_kedro.training_data.regions.agenda_regions`, which is how the few
names with two readings are settled ("Georgia" is the US state, "Gulf of Mexico"
US offshore). :data:`COMMON_WORDS` are ordinary English words and given names
that are also the name of a city or a subdivision ("Reading", "Mobile", "Nice",
"Victoria"); they never name a place on their own.
"""

from __future__ import annotations

from collections.abc import Mapping

from expert_kedro.training_data.region_countries import (
    APAC,
    EUROPE,
    LATIN_AMERICA,
    MIDDLE_EAST,
    NORTH_AMERICA,
)

# Words of agendas for a region or a place in one; None consumes a phrase that
# names no region of the five ("Central Asia" must not read as "Asia", "China
# clay" is a mineral, "Union Pacific" a railroad).
AGENDA_TERMS: Mapping[str | None, tuple[str, ...]] = {
    NORTH_AMERICA: (
        "North America",
        "North American",
        "American",
        "Americas",
        "US",
        "U.S.",
        "USA",
        "DC",
        "NORAM",
        "Midwest",
        "Northeast US",
        "US Northeast",
        "Southeast US",
        "US Southeast",
        "West Coast",
        "East Coast",
        "Gulf Coast",
        "Gulf of Mexico",
        "Sun Belt",
        "Sunbelt",
        "Rust Belt",
        "New England",
        "Pacific Northwest",
        "Silicon Valley",
        "Bay Area",
        "Permian",
        "Georgia",  # the US state; the Caucasus country is in none of the five
        "Canadian",
    ),
    EUROPE: (
        "Europe",
        "European",
        "EU",
        "EMEA",  # as before: expert networks staff EMEA from Europe
        "DACH",
        "Benelux",
        "Nordics",
        "Nordic",
        "Scandinavia",
        "Scandinavian",
        "CEE",
        "Balkans",
        "Iberia",
        "Iberian",
        "Baltics",
        "North Sea",
        "Southern Europe",
        "Eastern Europe",
        "Western Europe",
        "Central Europe",
        "Northern Europe",
        "UK & Ireland",
        "British",
        "German",
        "French",
        "Italian",
        "Spanish",
        "Dutch",
        "Polish",
        "Swedish",
        "Danish",
        "Norwegian",
        "Finnish",
        "Swiss",
        "Belgian",
        "Irish",
        "Czech",
        "Austrian",
        "Portuguese",
    ),
    APAC: (
        "APAC",
        "APJ",
        "Asia",
        "Asian",
        "Asia-Pacific",
        "ASEAN",
        "Southeast Asia",
        "South Asia",
        "East Asia",
        "North Asia",
        "Greater China",
        "Greater Bay Area",
        "Pearl River Delta",
        "ANZ",
        "Oceania",
        "Pacific",
        "Chinese",
        "Japanese",
        "Korean",
        "Indian",
        "Taiwanese",
        "Australian",
        "Singaporean",
        "Vietnamese",
        "Indonesian",
        "Malaysian",
        "Thai",
    ),
    LATIN_AMERICA: (
        "Latin America",
        "Latin American",
        "LatAm",
        "LAC",
        "South America",
        "South American",
        "Central America",
        "Central American",
        "Southern Cone",
        "Andean",
        "Caribbean",
        "Mercosur",
        "Brazilian",
        "Mexican",
        "Chilean",
        "Colombian",
        "Peruvian",
        "Argentine",
        "Argentinian",
    ),
    MIDDLE_EAST: (
        "Middle East",
        "Middle Eastern",
        "GCC",
        "Gulf",
        "Gulf states",
        "MENA",
        "Levant",
        "Saudi",
        "Emirati",
        "Israeli",
    ),
    None: (
        "Central Asia",
        "Africa",
        "African",
        "Sub-Saharan Africa",
        "China clay",
        "Air Jordan",
        "Georgia-Pacific",
        "Union Pacific",
        "Paris Agreement",
        "Kyoto Protocol",
        "Basel III",
        "Basel IV",
    ),
}

# Lower-case words that are also the name of a city (100k+) or a subdivision:
# ordinary English words, company and product names ("Meta", "Brent", "Corona"),
# given names and surnames, and the generic parts of subdivision names ("Central",
# "Capital"). Picked by eye from the gazetteers' one-word names that are whole
# words of the English WordPiece vocabulary of the installed MiniLM model.
COMMON_WORDS: frozenset[str] = frozenset(
    """
    acre ajax archway ascension bar barking bath batman bell bender bose brandon
    brent buffalo bush cascade centennial chandler chin colon columbia commonwealth
    concord concordia corona cypress darwin davenport deal delta derby dual edison
    enterprise falcon franklin garland genes gold hang homo independence kali kent
    liberty lids lime limo lion logos lone mage male mango march mascara mercedes
    meta metro midland mobile mono most motown natal nice oral orange paradise para
    pest police pool pristine progress providence reading rest sale samba santander
    shaping solo soul split springs store surprise tango terminus tours tuba tunes
    union unity van victory vine vista volta zeta zion
    ariel athena aurora cary elizabeth eugene everett george gilbert henderson
    irving isabel jackson karin kennedy kimberley kira larkin lincoln lori luce
    madison manning mara mary milton miranda nancy nelson newton nigel norman
    regina richardson santana sidney sofie sophia thornton tori tyler victoria
    warren
    north south east west northern southern eastern western central centre city
    coast lakes lake capital island islands rivers river delta plateau valley
    highlands lowlands mountain mountains border federal national district
    greater great upper lower new grand saint san santa port region province
    state county nord norte sur sud
    """.split()
)

# Trailing words of ISO 3166-2 names that agendas leave out ("Jiangsu Sheng").
DESIGNATORS: frozenset[str] = frozenset({"sheng", "shi", "zizhiqu"})
