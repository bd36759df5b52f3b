"""The checks that config dataclasses repeat, each raising :class:`ConfigError`.

Each takes the config and field names, so a ``__post_init__`` reads as the list of its
constraints, and every message has one form: ``Owner.field must be <what>, got <value>``
(as hypothesis' ``internal/validation.py`` does for strategy arguments).

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class SearchConfig:
    ...     beam: int = 4
    ...     def __post_init__(self):
    ...         require_at_least(self, 1, "beam")
    >>> SearchConfig(beam=0)
    Traceback (most recent call last):
    ...
    worldmodel.datasets._errors.ConfigError: SearchConfig.beam must be >= 1, got 0
"""

from __future__ import annotations

import numbers
from collections.abc import Collection

from ._errors import ConfigError, short_repr

__all__ = ["require_at_least", "require_positive", "require_choice", "require_fraction"]


def _fail(config: object, name: str, need: str, value: object) -> None:
    raise ConfigError(f"{type(config).__name__}.{name} must be {need}, got {short_repr(value)}")


def _numbers(config: object, names: tuple[str, ...], need: str, optional: bool):
    """``(name, value)`` of the fields to compare; a field that is no number fails."""
    need = need + " or None" if optional else need
    for name in names:
        value = getattr(config, name)
        if value is None and optional:
            continue
        if not isinstance(value, numbers.Real):
            _fail(config, name, f"a number {need}", value)
        yield name, value, need


def require_at_least(config: object, minimum: float, *names: str, optional: bool = False, why: str = "") -> None:
    """Each field ``names`` of ``config`` is a number ``>= minimum``.

    Args:
        config: the dataclass being checked; its class name starts the message.
        minimum: the smallest allowed value.
        names: the fields to check.
        optional: ``None`` is allowed too (default False).
        why: a reason appended to the message, e.g. ``"(the width must grow)"``.

    Raises:
        ConfigError: a field is below ``minimum`` (or NaN, or not a number).
    """
    for name, value, need in _numbers(config, names, f">= {minimum}", optional):
        if not value >= minimum:  # written so, NaN fails too
            _fail(config, name, f"{need} {why}".rstrip(), value)


def require_positive(config: object, *names: str, optional: bool = False) -> None:
    """Each field ``names`` of ``config`` is a number ``> 0`` (``None`` too if ``optional``).

    Raises:
        ConfigError: a field is ``<= 0``, NaN, or not a number.
    """
    for name, value, need in _numbers(config, names, "> 0", optional):
        if not value > 0:
            _fail(config, name, need, value)


def require_choice(config: object, name: str, choices: Collection) -> None:
    """The field ``name`` of ``config`` is one of ``choices``.

    Raises:
        ConfigError: it is not; the message lists the choices (sorted).
    """
    value = getattr(config, name)
    if value not in choices:
        _fail(config, name, f"one of {sorted(choices)}", value)


def require_fraction(config: object, *names: str, open_low: bool = False, open_high: bool = False) -> None:
    """Each field ``names`` of ``config`` lies in ``[0, 1]``, without 0 or 1 where open.

    Args:
        config: the dataclass being checked.
        names: the fields to check.
        open_low: 0 is excluded (default False).
        open_high: 1 is excluded (default False).

    Raises:
        ConfigError: a field lies outside the interval, is NaN, or is not a number.
    """
    interval = f"in {'(' if open_low else '['}0, 1{')' if open_high else ']'}"
    for name, value, need in _numbers(config, names, interval, False):
        if not ((0 < value if open_low else 0 <= value) and (value < 1 if open_high else value <= 1)):
            _fail(config, name, need, value)
