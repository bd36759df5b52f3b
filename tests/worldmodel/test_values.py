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


def test_the_numeric_readout_starts_near_zero_and_can_peak_at_an_exact_integer():
    from worldmodel._values import NumericReadout

    readout = NumericReadout(CODEC, 8)
    generator = torch.Generator().manual_seed(1)
    h = torch.randn(3, 5, 8, generator=generator)
    logits = torch.randn(3, 5, CODEC.num_values, generator=generator)
    assert float(readout(h, logits).detach().abs().max()) < 0.05  # a trained decoder keeps its ranking
    # Flat linear logits put the mean at -0.5; a centre 40.5 values above it, made sharp,
    # is a peak at exactly 40 in every slot (as a sum computed in the latent would be).
    flat = torch.zeros(3, 5, CODEC.num_values)
    with torch.no_grad():
        readout.proj.bias.copy_(torch.tensor([40.5 / readout.CENTRE_SCALE, 6.0]))
    logits = (flat + readout(h, flat)).detach()
    assert torch.equal(logits.argmax(-1) + DEFAULT_BOUNDS.min_value, torch.full((3, 5), 40))
    assert float((logits.max(-1).values - logits.topk(2, -1).values[..., 1]).min()) > 5  # sharp


def test_a_decoder_with_the_readout_is_still_normalised():
    bounds = Bounds(min_value=-2, max_value=2, max_list_length=3)
    codec = SlotCodec(bounds)
    torch.manual_seed(0)
    decoder = SlotDecoder(codec, 8, numeric=True)
    with torch.no_grad():
        decoder.numeric.proj.weight.normal_()
    everything = list(_all_values(bounds))
    with torch.no_grad():
        header, element = decoder(torch.randn(1, codec.slots, 8))
    ids = codec.encode(everything, width=codec.slots)
    log_p = SlotDecoder.log_likelihood(header.expand(len(everything), -1), element.expand(len(everything), -1, -1), ids)
    assert math.isclose(float(torch.logsumexp(log_p, 0)), 0.0, abs_tol=1e-4)
