"""Each package's ``__all__`` lists exactly its public names (as hypothesis checks)."""

import importlib
import types

import pytest


@pytest.mark.parametrize("name", ["worldmodel", "worldmodel.datasets", "worldmodel.inference"])
def test_all_matches_public_names(name):
    module = importlib.import_module(name)
    public = {
        key
        for key, value in vars(module).items()
        # Submodules become attributes when imported; only those listed (like
        # ``strategies``) are public.
        if not key.startswith("_") and not (isinstance(value, types.ModuleType) and key not in module.__all__)
    }
    assert set(module.__all__) - {"__version__"} == public
    assert len(module.__all__) == len(set(module.__all__))


@pytest.mark.parametrize("name", ["worldmodel", "worldmodel.datasets", "worldmodel.inference"])
def test_every_public_exception_derives_from_the_root(name):
    from worldmodel import WorldModelError

    module = importlib.import_module(name)
    exceptions = [getattr(module, key) for key in module.__all__
                  if isinstance(getattr(module, key), type) and issubclass(getattr(module, key), BaseException)]
    assert exceptions, f"{name} exports no exception"
    assert [e.__name__ for e in exceptions if not issubclass(e, WorldModelError)] == []
