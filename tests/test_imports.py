"""The packages depend one way, datasets <- worldmodel <- inference, with the CLI on top,
and no module reaches into another package's private modules."""

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = {"datasets": "worldmodel.datasets", "worldmodel": "worldmodel", "inference": "worldmodel.inference"}
# What each package may import of the others (its own modules are always allowed).
ALLOWED = {
    "worldmodel.datasets": set(),
    "worldmodel": {"worldmodel.datasets"},
    "worldmodel.inference": {"worldmodel.datasets", "worldmodel"},
}
CLI = "worldmodel/cli/"  # on top: its modules may import every package, by public names


def _package_of(module: str) -> str:
    for name in ("worldmodel.datasets", "worldmodel.inference"):
        if module == name or module.startswith(name + "."):
            return name
    return "worldmodel"


def _module_of(path: Path) -> str:
    """The installed name of a source file, e.g. inference/_solve.py -> worldmodel.inference._solve."""
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    return ".".join([*PACKAGES[folder].split("."), *rest])


def _imports(path: Path, module: str | None = None):
    """(line, absolute module) of each import of ``path``; ``module`` is the file's own
    installed name (default: from its place in the repository)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif isinstance(node, ast.ImportFrom):  # relative: resolved against the file's own package
            base = (module or _module_of(path)).split(".")[: -node.level]
            yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)


def test_the_packages_import_one_way_and_only_public_names_of_each_other():
    wrong = []
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            for line, module in _imports(path):
                if module != "worldmodel" and not module.startswith("worldmodel."):
                    continue
                target = _package_of(module)
                if target == package:
                    continue
                if any(part.startswith("_") for part in module.split(".")):
                    wrong.append(f"{where}:{line}: imports {module}, a private module of {target}")
                elif not where.startswith(CLI) and target not in ALLOWED[package]:
                    wrong.append(f"{where}:{line}: {package} imports {module} against the direction")
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_a_wrong_import(tmp_path):
    # The test above must be able to fail: a datasets module importing the model does.
    bad = tmp_path / "bad.py"
    bad.write_text("from worldmodel.inference import solve\nfrom worldmodel.datasets._edits import Edit\n"
                   "from ..datasets._interpreter import Value\n")
    found = [module for _, module in _imports(bad, module="worldmodel.inference._bad")]
    assert found == ["worldmodel.inference", "worldmodel.datasets._edits", "worldmodel.datasets._interpreter"]
    assert _package_of(found[0]) not in ALLOWED["worldmodel.datasets"]


def _swallowed(path: Path):
    """``except ValueError`` (or ``Exception``) handlers whose whole body is ``continue`` or ``pass``."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ExceptHandler) and isinstance(node.type, ast.Name) \
                and node.type.id in ("ValueError", "Exception") \
                and all(isinstance(statement, (ast.Continue, ast.Pass)) for statement in node.body):
            yield node.lineno


def test_no_broad_error_is_swallowed():
    found = [f"{path.relative_to(ROOT)}:{line}" for folder in PACKAGES for path in sorted((ROOT / folder).rglob("*.py"))
             for line in _swallowed(path)]
    assert not found, "catch the typed error that is meant: " + ", ".join(found)


def test_the_swallow_checker_sees_one(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("for x in []:\n    try:\n        pass\n    except ValueError:\n        continue\n")
    assert list(_swallowed(bad)) == [4]
