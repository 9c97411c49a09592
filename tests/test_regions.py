"""Country -> region table behind the rerank prompt's ``Region:`` line."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from expert_kedro.regions import (
    COUNTRY_REGION,
    REGIONS,
    expert_region,
    log_missing_regions,
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
    with caplog.at_level(logging.INFO, logger="expert_kedro.regions"):
        assert log_missing_regions(locations, "test") == 2
        assert log_missing_regions(["Lima, Peru"], "test") == 0
    warning, info = caplog.records
    assert warning.levelno == logging.WARNING
    assert "2 of 4 roster experts have no region" in warning.getMessage()
    assert "Lagos, Nigeria" in warning.getMessage()
    assert info.levelno == logging.INFO
