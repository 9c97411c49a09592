"""Typed, frozen settings built once from a Kedro parameter group.

Each parameter group (``params:<group>``) has one frozen dataclass deriving from
:class:`ParameterSettings`, kept next to the code that reads it. Its field defaults
are the only defaults of the group in the code: a node builds the object once at its
top with :meth:`ParameterSettings.from_params` and reads attributes, never
``params.get(key, default)``. ``from_params`` rejects a misspelt key or a value of
the wrong type with a ``ValueError`` naming ``<group>.<key>``, turns YAML lists into
tuples (so that the settings stay immutable and hashable) and builds nested groups
(a field typed with another settings class, e.g. ``evaluation.bootstrap``).
Cross-field rules and ranges go in :meth:`ParameterSettings.validate`, which runs on
every instance, including ``dataclasses.replace`` copies.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class DemoSettings(ParameterSettings):
    ...     GROUP = "demo"
    ...     seed: int = 0
    ...     sizes: tuple[int, ...] = (3, 4)
    >>> DemoSettings.from_params({"sizes": [2]})
    DemoSettings(seed=0, sizes=(2,))
    >>> DemoSettings.from_params({"n": 1})
    Traceback (most recent call last):
    ...
    ValueError: Unknown parameter(s) ['demo.n']; the demo group has ['seed', 'sizes'].
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self, Union, get_args, get_origin, get_type_hints

_NONE = type(None)


@dataclasses.dataclass(frozen=True)
class ParameterSettings:
    """Base of the settings classes: one frozen dataclass per parameter group.

    Class attributes:
        GROUP: Dotted name of the group in the parameters (``evaluation.bootstrap``
            for a nested group), used in every error message.
        FOREIGN_KEYS: Keys of the group that another settings class reads; they are
            skipped here instead of being reported as unknown.
    """

    GROUP: ClassVar[str] = ""
    FOREIGN_KEYS: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check ranges and choices (types were checked by ``from_params``).

        Raises:
            ValueError: Naming the offending ``<group>.<key>``.
        """

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> Self:
        """Build the settings from the group's parameters; missing keys get defaults.

        Args:
            params: The parameter group as Kedro passes it (``params:<group>``);
                None (an empty YAML group) means every default.

        Raises:
            ValueError: For an unknown key, a value of the wrong type or a value
                :meth:`validate` refuses, naming ``<group>.<key>``.
        """
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise ValueError(
                f"Parameter group {cls.GROUP} must be a mapping of keys to values, "
                f"got {type(params).__name__} {params!r}."
            )
        fields = [f.name for f in dataclasses.fields(cls) if f.init]
        unknown = sorted(set(params) - set(fields) - cls.FOREIGN_KEYS)
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {[f'{cls.GROUP}.{key}' for key in unknown]}; "
                f"the {cls.GROUP} group has {sorted(fields)}."
            )
        hints = get_type_hints(cls)
        values = {
            name: _convert(params[name], hints[name], f"{cls.GROUP}.{name}")
            for name in fields
            if name in params
        }
        return cls(**values)

    @classmethod
    def coerce(cls, value: Self | Mapping[str, Any] | None) -> Self:
        """``value`` itself when it is already these settings, else built from it.

        Lets library functions take the settings object or, from scripts and
        tests, a plain (partial) mapping whose missing keys get the defaults.
        """
        return value if isinstance(value, cls) else cls.from_params(value)

    def check(self, name: str, ok: bool, requirement: str) -> None:
        """Raise a ``ValueError`` naming ``<group>.<name>`` unless ``ok``.

        Args:
            name: Field checked.
            ok: Whether its value is acceptable.
            requirement: What an acceptable value is, e.g. ``"must be >= 1"``.
        """
        if not ok:
            raise ValueError(
                f"Parameter {self.GROUP}.{name}={getattr(self, name)!r} {requirement}."
            )

    def check_choice(self, name: str, choices: tuple[Any, ...]) -> None:
        """Raise a ``ValueError`` naming ``<group>.<name>`` unless it is a choice."""
        self.check(name, getattr(self, name) in choices, f"must be one of {choices}")

    def check_fusion_weight(self, name: str, grid: str) -> None:
        """A fusion weight that is null (tuned over ``grid``) or in [0, 1], and a
        non-empty grid of weights in [0, 1]."""
        weight, weights = getattr(self, name), getattr(self, grid)
        self.check(
            name,
            weight is None or 0.0 <= weight <= 1.0,
            "must be null (tune on validation) or in [0, 1]",
        )
        self.check(
            grid,
            bool(weights) and all(0.0 <= w <= 1.0 for w in weights),
            "must list weights in [0, 1]",
        )


def _describe(hint: Any) -> str:
    """Readable name of a field type, for error messages."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(option) for option in get_args(hint))
    if origin is tuple:
        return f"a list of {_describe(get_args(hint)[0])}"
    if hint is _NONE:
        return "null"
    if hint is bool:
        return "true/false"
    if isinstance(hint, type) and issubclass(hint, ParameterSettings):
        return f"a mapping (the {hint.GROUP} group)"
    return getattr(hint, "__name__", str(hint))


def _type_error(value: Any, hint: Any, path: str) -> ValueError:
    return ValueError(
        f"Parameter {path}={value!r} has type {type(value).__name__}; expected "
        f"{_describe(hint)}."
    )


def _convert(value: Any, hint: Any, path: str) -> Any:
    """``value`` checked against the field type ``hint`` (lists become tuples).

    Raises:
        ValueError: Naming ``path`` when the value does not fit the type.
    """
    origin = get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, ParameterSettings):
        if hint.GROUP != path:
            raise TypeError(f"{hint.__name__}.GROUP is {hint.GROUP!r}, not {path!r}.")
        return hint.from_params(value)
    if origin in (Union, types.UnionType):
        return _convert_union(value, hint, path)
    if origin is tuple:
        return _convert_tuple(value, hint, path)
    return _convert_scalar(value, hint, path)


def _convert_union(value: Any, hint: Any, path: str) -> Any:
    """The first member type of ``hint`` that accepts ``value``."""
    options = get_args(hint)
    if value is None and _NONE in options:
        return None
    for option in options:
        if option is _NONE:
            continue
        try:
            return _convert(value, option, path)
        except ValueError:
            continue
    raise _type_error(value, hint, path)


def _convert_tuple(value: Any, hint: Any, path: str) -> tuple[Any, ...]:
    """A YAML list as a tuple, each item checked (``tuple[X, ...]`` fields)."""
    # An empty YAML list may be written as an empty value (null).
    if value is None:
        return ()
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise _type_error(value, hint, path)
    item = get_args(hint)[0]
    return tuple(_convert(v, item, f"{path}[{i}]") for i, v in enumerate(value))


def _convert_scalar(value: Any, hint: Any, path: str) -> Any:
    """A bool, int, float (ints accepted) or str value; bools are not numbers."""
    if hint not in (bool, int, float, str):
        raise TypeError(f"{path}: field type {hint!r} is not supported.")
    if isinstance(value, bool) and hint is not bool:
        raise _type_error(value, hint, path)
    if hint is float and isinstance(value, int | float):
        return float(value)
    if isinstance(value, hint):
        return value
    raise _type_error(value, hint, path)
