"""A complete minimal domain: lists of decimal digits (docs/domains.md walks through it).

Register it, then every command and reader knows it by name::

    >>> from worldmodel.datasets import register_domain
    >>> digits = register_domain(make_digits())
    >>> digits.run(digits.parse("a <- [int] | b <- INC a | c <- REVERSE b"), [[1, 2, 9]])
    [0, 3, 2]
"""

from worldmodel.datasets import Bounds, Domain, InputConfig, Primitive, Type

LIST, INT = Type.LIST, Type.INT


def _head(xs: list[int]) -> int:
    if not xs:
        raise IndexError("HEAD of an empty list")
    return xs[0]


def make_digits() -> Domain:
    """The ``digits`` domain: digit lists, eleven primitives, digits in and out."""
    rows = [
        # name, argument types, result type, function (a list argument may come as a
        # list or a tuple), and whether the result may hold values, or a length, that
        # the arguments do not (then the interpreter checks it)
        ("REVERSE", (LIST,), LIST, lambda xs: xs[::-1], False),
        ("SORT", (LIST,), LIST, sorted, False),
        ("ROTATE", (LIST,), LIST, lambda xs: xs[1:] + xs[:1], False),
        ("DROP1", (LIST,), LIST, lambda xs: xs[1:], False),
        ("INC", (LIST,), LIST, lambda xs: [(x + 1) % 10 for x in xs], True),
        ("DOUBLE", (LIST,), LIST, lambda xs: [2 * x % 10 for x in xs], True),
        ("HEAD", (LIST,), INT, _head, False),
        ("CHECKSUM", (LIST,), INT, lambda xs: sum(xs) % 10, True),
        ("COUNT0", (LIST,), INT, lambda xs: xs.count(0), True),
        ("APPEND", (LIST, INT), LIST, lambda xs, n: [*xs, n], True),
        ("FILL", (INT, LIST), LIST, lambda n, xs: [n] * len(xs), False),
    ]
    primitives = {name: Primitive(name, name, args, result, function, new)
                  for name, args, result, function, new in rows}
    return Domain(
        "digits",
        primitives,
        # Every value a program holds is a digit or a list of at most 8 digits; the
        # interpreter raises ExecutionError for anything else, and caps the steps.
        bounds=Bounds(min_value=0, max_value=9, max_list_length=8, max_statements=32),
        inputs=InputConfig(min_value=0, max_value=9, min_list_length=1, max_list_length=6, min_int=0, max_int=9),
        signatures=((LIST,), (LIST, INT)),
    )
