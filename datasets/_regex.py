"""``regex``: probabilistic regular expressions, a generative domain.

A task of this domain is a set of strings (dates, emails, product codes, ...) and a
program is a regex that generates them, each with an exact likelihood (Memoised
Wake-Sleep's string concepts). The regex is built by a straight-line program from the
empty regex ``ε``, the program's one input, so enumeration, edits and the models work
on it as on any other domain::

    >>> program = regex.parse("a <- regex | b <- DIGIT a | c <- PLUS (0.5) b | d <- LIT (-) c")
    >>> regex_text(regex.run(program, [[]]))
    '\\\\d+{.5}-'
    >>> round(log_likelihood(regex.run(program, [[]]), "12-"), 4)  # ln(1/10 * 1/10 * .5 * .5)
    -5.9915

Atoms (``DIGIT``, ``UPPER``, ``LOWER``, ``PUNCT``, ``ANY``, ``SPACE`` and literals
``LIT (c)``) *append* to their argument (``DIGIT a`` is ``a`` followed by a digit), so a
run of atoms needs no ``CONCAT``; ``STAR``, ``PLUS`` and ``OPT`` quantify their whole
argument, ``CONCAT`` and ``ALT`` join two regexes. Each probability is part of its
primitive (``PLUS (0.5)``), as ``arith``'s constants are: a program is then one
distribution, enumeration and the models see one token per operation, and the
likelihood needs no fitting (docs/domains.md).

Semantics, as a sampler: a character class draws uniformly from its characters;
``STAR (p) x`` repeats ``x`` ``k >= 0`` times with probability ``(1 - p) p^k``;
``PLUS (p) x`` is ``x`` then ``STAR (p) x``; ``OPT (p) x`` is ``x`` with probability
``p``, else empty; ``ALT (0.5) x y`` is ``x`` or ``y``, each with probability 1/2.
The likelihood of a string sums over every way of generating it.

A regex value is held as its code list, a postfix program of ints in ``[0, 127]``
(literals are their ASCII codes), so values hash, compare, fit the interpreter's bounds
and tokenise as int lists; its type is :attr:`Type.REGEX`.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Sequence

import numpy as np

from ._domain import Domain, Generative, InputConfig
from ._errors import ExecutionError, short_repr
from ._interpreter import Bounds
from ._program import Primitive, Type

__all__ = ["REGEX_PRIMITIVES", "ALPHABET", "regex", "log_likelihood", "sample", "regex_text"]

REGEX = Type.REGEX

ALPHABET = "".join(chr(c) for c in range(32, 127))
"""The characters of observations: printable ASCII, space included."""

# Codes below 32 are operators and classes; 32..126 are literal characters.
_DIGIT, _UPPER, _LOWER, _PUNCT, _ANY, _EPS, _CAT = 1, 2, 3, 4, 5, 6, 7
_ALT = {0.5: 8}
_PROBABILITIES = (0.2, 0.5, 0.8)
_STAR = {p: 9 + i for i, p in enumerate(_PROBABILITIES)}
_PLUS = {p: 12 + i for i, p in enumerate(_PROBABILITIES)}
_OPT = {p: 15 + i for i, p in enumerate(_PROBABILITIES)}
_LITERALS = "-.:/@,_()+$#"

_CLASSES = {
    _DIGIT: string.digits,
    _UPPER: string.ascii_uppercase,
    _LOWER: string.ascii_lowercase,
    _PUNCT: string.punctuation,
    _ANY: ALPHABET,
}
_UNARY = {**{c: ("*", p) for p, c in _STAR.items()}, **{c: ("+", p) for p, c in _PLUS.items()},
          **{c: ("?", p) for p, c in _OPT.items()}}
_BINARY = {_CAT: None, **{c: p for p, c in _ALT.items()}}
_CLASS_TEXT = {_DIGIT: r"\d", _UPPER: r"\u", _LOWER: r"\l", _PUNCT: r"\p", _ANY: "."}


def _append(code: int):
    """``x`` followed by the one-character atom ``code``."""

    def atom(x: Sequence[int]) -> list[int]:
        return [*x, code, _CAT] if x else [code]

    return atom


def _quantify(code: int):
    # ε repeated, or made optional, is ε: keeping it canonical spares enumeration copies.
    def quantified(x: Sequence[int]) -> list[int]:
        return [*x, code] if x else []

    return quantified


def _concat(x: Sequence[int], y: Sequence[int]) -> list[int]:
    if not x or not y:
        return list(x or y)
    return [*x, *y, _CAT]


def _alternative(code: int):
    def alt(x: Sequence[int], y: Sequence[int]) -> list[int]:
        return [*(x or [_EPS]), *(y or [_EPS]), code]

    return alt


def _table() -> dict[str, Primitive]:
    def row(name, text, function, args=(REGEX,)):
        return Primitive(name, text, args, REGEX, function, True)

    rows = [row(name, name, _append(code)) for name, code in
            (("DIGIT", _DIGIT), ("UPPER", _UPPER), ("LOWER", _LOWER), ("PUNCT", _PUNCT), ("ANY", _ANY))]
    rows.append(row("SPACE", "SPACE", _append(ord(" "))))
    rows += [row(f"LIT({c})", f"LIT ({c})", _append(ord(c))) for c in _LITERALS]
    for name, codes in (("STAR", _STAR), ("PLUS", _PLUS), ("OPT", _OPT)):
        rows += [row(f"{name}({p})", f"{name} ({p})", _quantify(code)) for p, code in codes.items()]
    rows.append(row("CONCAT", "CONCAT", _concat, (REGEX, REGEX)))
    rows += [row(f"ALT({p})", f"ALT ({p})", _alternative(code), (REGEX, REGEX)) for p, code in _ALT.items()]
    return {p.name: p for p in rows}


REGEX_PRIMITIVES = _table()


def _tree(codes: Sequence[int]) -> tuple:
    """The syntax tree of a code list: ``(code, start, end, *children)`` per node,
    ``codes[start:end]`` the node's own postfix codes.

    Raises:
        ExecutionError: ``codes`` is not a regex (an unknown code, or an operator short
            of operands, or operands left over).
    """
    stack: list[tuple] = []
    for end, code in enumerate(codes, start=1):
        if type(code) is not int:
            raise ExecutionError(f"not a regex: code {short_repr(code)} is not an int")
        if code in _CLASSES or code == _EPS or 32 <= code <= 126:
            stack.append((code, end - 1, end))
        elif code in _UNARY:
            if not stack:
                raise ExecutionError(f"not a regex: {short_repr(list(codes))} quantifies nothing")
            child = stack.pop()
            stack.append((code, child[1], end, child))
        elif code in _BINARY:
            if len(stack) < 2:
                raise ExecutionError(f"not a regex: {short_repr(list(codes))} joins fewer than two parts")
            right, left = stack.pop(), stack.pop()
            stack.append((code, left[1], end, left, right))
        else:
            raise ExecutionError(f"not a regex: unknown code {code}")
    if len(stack) > 1:
        raise ExecutionError(f"not a regex: {short_repr(list(codes))} leaves {len(stack)} parts unjoined")
    return stack[0] if stack else (_EPS, 0, 0)


# Matrices of sub-regexes on strings, kept while the same observations are scored
# again: enumeration builds each regex from earlier ones, so the DP of a new regex is
# one operation on its children's cached matrices.
_MATRICES: dict[tuple[tuple[int, ...], str], np.ndarray] = {}
_MATRICES_MAX = 200_000


def _matrix(codes: tuple[int, ...], node: tuple, text: str) -> np.ndarray:
    """``M[i, j]``: the probability that ``node`` generates exactly ``text[i:j]``."""
    key = (codes[node[1]:node[2]], text)
    cached = _MATRICES.get(key)
    if cached is not None:
        return cached
    n = len(text)
    code = node[0]
    if code == _EPS:
        m = np.eye(n + 1)
    elif len(node) == 3:  # one character: a class or a literal
        chars = _CLASSES.get(code)
        m = np.zeros((n + 1, n + 1))
        for i, c in enumerate(text):
            if chars is None:
                m[i, i + 1] = float(c == chr(code))
            elif c in chars:
                m[i, i + 1] = 1.0 / len(chars)
    elif code in _UNARY:
        kind, p = _UNARY[code]
        x = _matrix(codes, node[3], text)
        eye = np.eye(n + 1)
        if kind == "?":
            m = p * x + (1 - p) * eye
        else:
            # STAR: S = (1 - p) I + p X S, so S = (1 - p)(I - p X)^-1; X is upper
            # triangular with a diagonal <= 1, so I - p X is invertible for p < 1.
            star = np.linalg.solve(eye - p * x, (1 - p) * eye)
            m = star if kind == "*" else x @ star
        m = np.triu(m)  # no string has a negative length: clear the solve's rounding below it
    else:
        left, right = _matrix(codes, node[3], text), _matrix(codes, node[4], text)
        p = _BINARY[code]
        m = left @ right if p is None else p * left + (1 - p) * right
    if len(_MATRICES) >= _MATRICES_MAX:
        _MATRICES.clear()
    _MATRICES[key] = m
    return m


def log_likelihood(value: Sequence[int], observation: str) -> float:
    """The exact log-likelihood of ``observation`` under the regex ``value``, by
    dynamic programming over the regex's syntax tree (``-inf`` outside its support).

    Each node gets the matrix of its probabilities of generating every substring, one
    ``(n + 1, n + 1)`` matrix for a string of ``n`` characters; a concatenation is a
    matrix product, a star a geometric series (one linear solve), so a regex of ``m``
    nodes costs ``O(m n^3)``.

    Args:
        value: a regex's code list (what a program of :data:`regex` computes).
        observation: the string.

    Raises:
        ExecutionError: ``value`` is not a regex.

    Example:
        >>> star = regex.run(regex.parse("a <- regex | b <- LOWER a | c <- STAR (0.5) b"), [[]])
        >>> math.isclose(log_likelihood(star, "ab"), math.log(0.5 * (0.5 / 26) ** 2))
        True
    """
    codes = tuple(value)
    probability = float(_matrix(codes, _tree(codes), observation)[0, len(observation)])
    return math.log(probability) if probability > 0 else -math.inf


def sample(value: Sequence[int], rng: random.Random, *, max_length: int = 48) -> str | None:
    """One string drawn from the regex ``value``, or ``None`` if it grew past
    ``max_length`` characters (default 48; the draw then stops at once).

    Raises:
        ExecutionError: ``value`` is not a regex.

    Example:
        >>> sample(regex.run(regex.parse("a <- regex | b <- DIGIT a | c <- LIT (-) b"), [[]]), random.Random(0))
        '6-'
    """
    out: list[str] = []

    def draw(node: tuple) -> None:
        if len(out) > max_length:
            raise _TooLong
        code = node[0]
        if code == _EPS:
            return
        if len(node) == 3:
            chars = _CLASSES.get(code)
            out.append(chr(code) if chars is None else rng.choice(chars))
        elif code in _UNARY:
            kind, p = _UNARY[code]
            if kind == "?":
                if rng.random() < p:
                    draw(node[3])
                return
            if kind == "+":
                draw(node[3])
            while rng.random() < p:
                draw(node[3])
                if len(out) > max_length:
                    raise _TooLong
        elif _BINARY[code] is None:
            draw(node[3])
            draw(node[4])
        else:
            draw(node[3] if rng.random() < _BINARY[code] else node[4])

    try:
        draw(_tree(tuple(value)))
    except _TooLong:
        return None
    return "".join(out) if len(out) <= max_length else None


class _TooLong(Exception):
    pass


def regex_text(value: Sequence[int]) -> str:
    r"""A regex in the usual notation, probabilities in braces: ``\d`` digit, ``\u``
    upper, ``\l`` lower, ``\p`` punctuation, ``.`` any character; ``x*{.2}``,
    ``x+{.5}``, ``x?{.8}``; ``(x|y)`` (each 1/2); ``ε`` the empty regex.

    Raises:
        ExecutionError: ``value`` is not a regex.
    """

    def text(node: tuple) -> str:
        code = node[0]
        if code == _EPS:
            return "ε"
        if len(node) == 3:
            if code in _CLASS_TEXT:
                return _CLASS_TEXT[code]
            c = chr(code)
            return "\\" + c if c in r"\.()|*+?{}[]^$" else c
        if code in _UNARY:
            kind, p = _UNARY[code]
            inner = text(node[3])
            if len(node[3]) > 3 and not (node[3][0] in _BINARY and _BINARY[node[3][0]] is not None):
                inner = f"({inner})"
            return f"{inner}{kind}{{{str(p).lstrip('0')}}}"
        if _BINARY[code] is None:
            return text(node[3]) + text(node[4])
        return f"({text(node[3])}|{text(node[4])})"

    return text(_tree(tuple(value)))


regex = Domain(
    "regex",
    REGEX_PRIMITIVES,
    # A regex of at most 48 codes, strings of at most 48 characters: every DP is a
    # product of 49 x 49 matrices at most.
    bounds=Bounds(min_value=0, max_value=127, max_list_length=48, max_statements=32),
    inputs=InputConfig(min_value=0, max_value=127, min_list_length=0, max_list_length=0, min_int=0, max_int=0),
    signatures=((REGEX,),),
    generative=Generative(log_likelihood=log_likelihood, sample=sample, alphabet=ALPHABET, describe=regex_text),
)
"""The probabilistic-regex domain: programs build a regex from ``ε``; a task is a set
of strings the regex must generate (a generative task)."""
