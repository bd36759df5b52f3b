"""Every docstring example in the package runs and holds (under its real module name)."""

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("worldmodel", "worldmodel.datasets", "worldmodel.inference")


def _modules() -> list[str]:
    # The subpackages live in their own top-level folders, so walk each one.
    names = set(PACKAGES)
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        names.update(
            info.name for info in pkgutil.iter_modules(path, prefix=f"{package}.") if not info.ispkg
        )
    return sorted(names)


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
