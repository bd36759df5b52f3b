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
