"""Slot codec round trips and the exact top-k value decoder (against brute force)."""

import itertools
import math

import torch
from hypothesis import given
from hypothesis import strategies as st
from worldmodel.datasets import DEFAULT_BOUNDS, Bounds, Type

from worldmodel import SlotCodec, top_values
from worldmodel._values import SlotDecoder

CODEC = SlotCodec(DEFAULT_BOUNDS)
ints = st.integers(DEFAULT_BOUNDS.min_value, DEFAULT_BOUNDS.max_value)
values = st.one_of(ints, st.lists(ints, max_size=DEFAULT_BOUNDS.max_list_length))


@given(st.lists(values, min_size=1, max_size=5))
def test_encode_decode_round_trip(batch):
    ids = CODEC.encode(batch, width=CODEC.width(batch))
    assert [CODEC.decode(row) for row in ids.tolist()] == batch


def _all_values(bounds):
    items = range(bounds.min_value, bounds.max_value + 1)
    yield from items
    for n in range(bounds.max_list_length + 1):
        yield from (list(v) for v in itertools.product(items, repeat=n))


def test_top_values_is_the_exact_top_k_of_a_normalised_distribution():
    bounds = Bounds(min_value=-2, max_value=2, max_list_length=3)
    codec = SlotCodec(bounds)
    generator = torch.Generator().manual_seed(3)
    header = torch.randn(codec.num_headers, generator=generator) * 2
    element = torch.randn(codec.slots - 1, codec.num_values, generator=generator) * 2
    everything = list(_all_values(bounds))
    ids = codec.encode(everything, width=codec.slots)
    log_p = SlotDecoder.log_likelihood(header.expand(len(everything), -1), element.expand(len(everything), -1, -1), ids)
    assert math.isclose(float(torch.logsumexp(log_p, 0)), 0.0, abs_tol=1e-5)
    best = sorted(zip(log_p.tolist(), map(repr, everything)), reverse=True)[:7]
    found = top_values(header, element, codec, k=7)
    assert [repr(r.value) for r in found] == [v for _, v in best]
    assert all(math.isclose(r.log_prob, lp, abs_tol=1e-4) for r, (lp, _) in zip(found, best))


def test_top_values_keeps_to_the_asked_type():
    generator = torch.Generator().manual_seed(0)
    header = torch.randn(CODEC.num_headers, generator=generator)
    element = torch.randn(4, CODEC.num_values, generator=generator)
    assert all(isinstance(r.value, int) for r in top_values(header, element, CODEC, k=5, type_=Type.INT))
    lists = top_values(header, element, CODEC, k=5, type_=Type.LIST)
    assert all(isinstance(r.value, list) and len(r.value) <= 4 for r in lists)
