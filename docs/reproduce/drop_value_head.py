"""Save a checkpoint without its value head, e.g. one whose value head no longer fits the code.

Usage: python docs/reproduce/drop_value_head.py IN OUT

IN is a checkpoint base path (IN.json + IN.safetensors), read as tensors, so that a
value head of an older layout does not stop it; every other tensor must fit the
current model, which is checked by a strict load. The third shipped version started
from the second's files without their value head:
  git show 0bdce31:worldmodel/checkpoints/deepcoder.json > /tmp/v2.json
  git show 0bdce31:worldmodel/checkpoints/deepcoder.safetensors > /tmp/v2.safetensors
  python docs/reproduce/drop_value_head.py /tmp/v2 BASE
"""

import dataclasses
import json
import sys

from safetensors.torch import load_file

from worldmodel import ModelConfig, PolicyConfig, WorldModel
from worldmodel._checkpoint import POLICY_LIMITS, config_from_dict

source, out = sys.argv[1], sys.argv[2]
record = json.load(open(f"{source}.json"))
model = WorldModel(dataclasses.replace(ModelConfig.from_dict(record["model"]), value_width=None))
if record.get("policy") is not None:
    model.attach_policy(config_from_dict(PolicyConfig, record["policy"], limits=POLICY_LIMITS))
state = {k: v for k, v in load_file(f"{source}.safetensors").items() if not k.startswith("value_head.")}
model.load_state_dict(state, strict=True)
model.save(out)
print(f"{out}: {sum(p.numel() for p in model.parameters())} parameters, no value head")
