"""ParameterSettings: one typed, frozen object per parameter group, clear errors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from expert_kedro.settings_base import ParameterSettings


@dataclass(frozen=True)
class InnerSettings(ParameterSettings):
    GROUP = "outer.inner"

    n: int = 3
    rate: float = 0.5

    def validate(self) -> None:
        self.check("n", self.n >= 1, "must be >= 1")


@dataclass(frozen=True)
class OuterSettings(ParameterSettings):
    GROUP = "outer"
    FOREIGN_KEYS = frozenset({"theirs"})

    seed: int = 0
    name: str = "x"
    flag: bool = False
    depth: int | None = None
    mode: bool | str = "auto"
    sizes: tuple[int, ...] = (3, 4)
    inner: InnerSettings = field(default_factory=InnerSettings)


@dataclass(frozen=True)
class MisnamedSettings(ParameterSettings):
    GROUP = "misnamed"

    inner: InnerSettings = field(default_factory=InnerSettings)


def test_missing_keys_take_the_dataclass_defaults():
    assert OuterSettings.from_params({}) == OuterSettings()
    assert OuterSettings.from_params(None) == OuterSettings()
    assert OuterSettings.from_params({"inner": None}).inner == InnerSettings()


def test_values_are_converted_lists_to_tuples_ints_to_floats():
    settings = OuterSettings.from_params(
        {"sizes": [2, 5], "inner": {"rate": 1}, "depth": 7, "mode": True}
    )
    assert settings.sizes == (2, 5)
    assert settings.inner == InnerSettings(n=3, rate=1.0)
    assert isinstance(settings.inner.rate, float)
    assert settings.depth == 7
    assert settings.mode is True
    assert OuterSettings.from_params({"sizes": None}).sizes == ()
    hash(settings)  # immutable all the way down


def test_settings_are_frozen():
    settings = OuterSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.seed = 1  # type: ignore[misc]


def test_unknown_keys_are_named_with_their_group():
    with pytest.raises(ValueError) as error:
        OuterSettings.from_params({"sede": 1, "inner": {}})
    message = str(error.value)
    assert "Unknown parameter(s) ['outer.sede']" in message
    assert "['depth', 'flag', 'inner', 'mode', 'name', 'seed', 'sizes']" in message
    with pytest.raises(ValueError, match=r"\['outer\.inner\.m'\]"):
        OuterSettings.from_params({"inner": {"m": 2}})


def test_foreign_keys_are_left_to_their_own_settings():
    assert OuterSettings.from_params({"theirs": {"anything": 1}}) == OuterSettings()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"seed": "1"}, r"outer\.seed='1' has type str; expected int"),
        ({"seed": True}, r"outer\.seed=True has type bool; expected int"),
        ({"seed": 1.5}, r"outer\.seed=1\.5 has type float; expected int"),
        ({"name": 3}, r"outer\.name=3 has type int; expected str"),
        ({"flag": "yes"}, r"outer\.flag='yes' has type str; expected true/false"),
        ({"depth": "all"}, r"outer\.depth='all' .* expected int or null"),
        ({"mode": 2}, r"outer\.mode=2 .* expected true/false or str"),
        ({"sizes": "3, 4"}, r"outer\.sizes='3, 4' .* expected a list of int"),
        ({"sizes": [3, "4"]}, r"outer\.sizes\[1\]='4' has type str; expected int"),
        ({"inner": [1]}, r"group outer\.inner must be a mapping"),
        ({"inner": {"rate": False}}, r"outer\.inner\.rate=False .* expected float"),
    ],
)
def test_wrong_types_are_named_with_their_path(params, message):
    with pytest.raises(ValueError, match=message):
        OuterSettings.from_params(params)


def test_validate_runs_on_every_instance():
    with pytest.raises(ValueError, match=r"Parameter outer\.inner\.n=0 must be >= 1"):
        OuterSettings.from_params({"inner": {"n": 0}})
    with pytest.raises(ValueError, match=r"outer\.inner\.n=-1"):
        InnerSettings(n=-1)
    with pytest.raises(ValueError, match=r"outer\.inner\.n=0"):
        dataclasses.replace(InnerSettings(), n=0)


def test_a_nested_class_must_name_its_place():
    with pytest.raises(TypeError, match="misnamed.inner"):
        MisnamedSettings.from_params({"inner": {}})
