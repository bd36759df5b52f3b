"""Hand-made comparison features of two values: the execution signal the heads read.

:func:`pair_features` compares a program's value with a target (or two candidate
outputs); :data:`NUM_EXECUTION_FEATURES` adds the featurizer's one-step look-ahead.
"""

from __future__ import annotations

__all__ = ["NUM_PAIR_FEATURES", "NUM_EXECUTION_FEATURES", "pair_features", "symmetric_pair_features"]

NUM_PAIR_FEATURES = 20
# Execution features of a (value, target) pair: the pair features plus a one-step
# look-ahead, "some one-argument primitive maps this value to the target".
NUM_EXECUTION_FEATURES = NUM_PAIR_FEATURES + 1


def pair_features(a, b) -> tuple[float, ...]:
    """Hand-made comparison features of two values (``None`` = invalid).

    Used for a program's output (and each intermediate value) against the target
    output, and between two candidate outputs in the similarity head. Features:
    validity, exact match, types, int distance, list length, positional / prefix /
    suffix / multiset overlap, permutation, reversal, membership, emptiness, subset.

    Example:
        >>> f = pair_features([1, 2, 3], [1, 2, 4])
        >>> len(f) == NUM_PAIR_FEATURES, f[2], round(f[10], 3)
        (True, 0.0, 0.667)
    """
    f = [0.0] * NUM_PAIR_FEATURES
    if a is None or b is None:
        f[0] = float(a is None)
        f[1] = float(b is None)
        return tuple(f)
    f[2] = float(a == b)
    a_int, b_int = type(a) is int, type(b) is int
    if a_int and b_int:
        f[3] = 1.0
        d = a - b
        f[6] = min(abs(d), 32) / 32.0
        f[7] = float(d > 0)
    elif not a_int and not b_int:
        f[4] = 1.0
        la, lb = len(a), len(b)
        m = max(la, lb, 1)
        f[8] = float(la == lb)
        f[9] = max(-1.0, min(1.0, (la - lb) / 4.0))
        f[10] = sum(x == y for x, y in zip(a, b)) / m
        p = 0
        for x, y in zip(a, b):
            if x != y:
                break
            p += 1
        f[11] = p / m
        s = 0
        for x, y in zip(reversed(a), reversed(b)):
            if x != y:
                break
            s += 1
        f[12] = s / m
        if la and lb:
            sb = sorted(b)
            sa = sorted(a)
            f[14] = float(sa == sb)
            # multiset overlap by merging the two sorted lists
            i = j = common = 0
            while i < la and j < lb:
                if sa[i] == sb[j]:
                    common += 1
                    i += 1
                    j += 1
                elif sa[i] < sb[j]:
                    i += 1
                else:
                    j += 1
            f[13] = common / m
            f[15] = float(a == b[::-1])
            setb = set(b)
            f[19] = float(all(x in setb for x in a))
        else:
            f[14] = float(la == lb)
    else:
        f[5] = 1.0
        f[16] = float(a in b) if a_int else float(b in a)
    f[17] = float(a == [])
    f[18] = float(b == [])
    return tuple(f)


def symmetric_pair_features(x, y) -> list[float]:
    """``pair_features(x, y) + pair_features(y, x)``, elementwise: the same for (y, x)."""
    return [u + w for u, w in zip(pair_features(x, y), pair_features(y, x))]

