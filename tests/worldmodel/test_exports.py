"""``worldmodel.__all__`` lists exactly the public names (as hypothesis' _check_exports)."""

import worldmodel


def test_all_matches_public_names():
    public = {
        name
        for name, value in vars(worldmodel).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("worldmodel.")
    }
    public -= {"datasets", "inference", "cli"}  # subpackages and the console module
    assert set(worldmodel.__all__) - {"__version__"} == public
