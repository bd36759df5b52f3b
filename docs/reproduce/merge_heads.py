"""Put the value head of one checkpoint into another that shares its frozen encoders.

Usage: python docs/reproduce/merge_heads.py BASE DONOR OUT

BASE and DONOR were trained from the same checkpoint with `worldmodel train --only`
(one head each, everything else frozen), so every weight outside their own heads is
equal; this checks that, then saves BASE with DONOR's value head as OUT.
"""

import sys

import torch

from worldmodel import WorldModel

base, donor = WorldModel.load(sys.argv[1]), WorldModel.load(sys.argv[2])
if donor.value_head is None:
    raise SystemExit(f"{sys.argv[2]} has no value head")
shared = donor.state_dict()
for name, tensor in base.state_dict().items():
    if not name.startswith(("primitive_head.", "value_head.")) and not torch.equal(tensor, shared[name]):
        raise SystemExit(f"{name} differs: the two runs did not start from the same weights")
base.attach_value_head(width=donor.config.value_width)
base.value_head.load_state_dict(donor.value_head.state_dict())
base.save(sys.argv[3])
print(f"{sys.argv[3]}: {sum(p.numel() for p in base.parameters())} parameters")
