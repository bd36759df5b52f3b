"""The domains every command knows by name, and how a user's own domain joins them.

A package adds its domain to the command line through an entry point in the group
``worldmodel.domains`` naming the :class:`Domain` (or a function that returns one)::

    [project.entry-points."worldmodel.domains"]
    digits = "my_package.domains:make_digits"

The entry points load when this module is first imported; one that fails is skipped
with a warning that names it, so one broken plugin never stops the others.
"""

from __future__ import annotations

import warnings
from importlib.metadata import entry_points

from ._arith import arith
from ._ca import ca
from ._deepcoder import DEEPCODER_PRIMITIVES
from ._domain import Domain
from ._errors import DomainError
from ._regex import regex

__all__ = ["DOMAINS", "ENTRY_POINT_GROUP", "deepcoder", "register_domain"]

ENTRY_POINT_GROUP = "worldmodel.domains"

deepcoder = Domain("deepcoder", DEEPCODER_PRIMITIVES)
"""DeepCoder's integer-list DSL (Balog et al. 2017), as ExeDec uses it."""

DOMAINS: dict[str, Domain] = {"deepcoder": deepcoder, "arith": arith, "ca": ca, "regex": regex}
"""Domains by name: what ``--domain``, a task file's ``domain`` field, a dataset's
manifest and a model's config name."""


def register_domain(domain: Domain) -> Domain:
    """Make ``domain`` known by its name to every command and reader of this process.

    A process that generates with several workers forks them after this call, so they
    know it too. Registering the same definition again (a module loaded anew makes new
    function objects) replaces the earlier one.

    Returns:
        ``domain``.

    Raises:
        DomainError: ``domain`` is not a :class:`Domain`, or another domain has its name.

    Example:
        >>> from worldmodel.datasets import arith
        >>> register_domain(arith) is arith
        True
    """
    if not isinstance(domain, Domain):
        raise DomainError(f"register_domain takes a Domain, got {type(domain).__name__}")
    known = DOMAINS.get(domain.name)
    if known is not None and _definition(known) != _definition(domain):
        raise DomainError(f"another domain is registered as {domain.name!r}; give yours another name")
    DOMAINS[domain.name] = domain
    return domain


def _definition(domain: Domain) -> tuple:
    """What makes two domains the same, but for the identity of their functions (a module
    loaded again makes new ones)."""
    table = tuple((p.name, p.text, p.arg_types, p.return_type, p.creates_values, p.statements, p.commutative)
                  for p in domain.primitives.values())
    return (domain.name, table, domain.bounds, domain.inputs, domain.signatures, domain.skills,
            domain.generative is not None)


def _register_entry_points() -> None:
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
            register_domain(loaded() if callable(loaded) else loaded)
        except Exception as error:  # a plugin's own bug: report it, keep the other domains
            warnings.warn(f"entry point {point.name!r} ({point.value}) of {ENTRY_POINT_GROUP} did not give a "
                          f"domain: {type(error).__name__}: {error}", RuntimeWarning, stacklevel=2)


_register_entry_points()
