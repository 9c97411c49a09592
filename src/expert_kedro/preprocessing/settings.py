"""The ``roster`` and ``split`` parameter groups, typed.

The defaults below are the only ones in the code; ``conf/base/parameters_*.yml``
states the same values with the reasons for them (tests/test_parameter_settings.py
keeps the two equal).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from expert_kedro.preprocessing.roster import AUTHORITATIVE_SOURCES
from expert_kedro.preprocessing.splitting import validate_fractions
from expert_kedro.settings_base import ParameterSettings


@dataclass(frozen=True)
class RosterSettings(ParameterSettings):
    """Where the roster's profile text comes from.

    Attributes:
        authoritative_source: ``reference`` (data/01_raw/experts.csv, the export's
            cleaned profile only for experts missing there) or ``data`` (the most
            frequent cleaned profile of the export).
    """

    GROUP = "roster"

    authoritative_source: str = "reference"

    def validate(self) -> None:
        """Check the source.

        Raises:
            ValueError: Naming ``roster.authoritative_source``.
        """
        self.check(
            "authoritative_source",
            self.authoritative_source in AUTHORITATIVE_SOURCES,
            f"is not a source: use one of {AUTHORITATIVE_SOURCES}",
        )


@dataclass(frozen=True)
class SplitFractions(ParameterSettings):
    """Share of projects per split (non-negative, summing to 1)."""

    GROUP = "split.fractions"

    train: float = 0.7
    validation: float = 0.1
    test: float = 0.2

    def as_dict(self) -> dict[str, float]:
        """Split name -> fraction, as :func:`splitting.assign_splits` takes it."""
        return asdict(self)

    def validate(self) -> None:
        """Check the fractions.

        Raises:
            ValueError: Naming ``split.fractions``.
        """
        validate_fractions(self.as_dict())


@dataclass(frozen=True)
class SplitSettings(ParameterSettings):
    """How projects are assigned to train, validation and test.

    Attributes:
        seed: Seed of the group order.
        fractions: Share of projects per split.
        ensure_train_coverage: Move a project group to train for any expert that
            would otherwise have no training example.
    """

    GROUP = "split"

    seed: int = 42
    fractions: SplitFractions = field(default_factory=SplitFractions)
    ensure_train_coverage: bool = True
