"""Put a dynamics head (a file of save_dynamics) into a model's checkpoint.

Usage: python docs/reproduce/fold_dynamics.py MODEL DYNAMICS OUT

The shipped checkpoint holds every head in one pair of files; a dynamics head trained
and calibrated on its own (docs/reproduce/train_dynamics.sh, calibrate_ood.py) joins it
this way: python docs/reproduce/fold_dynamics.py worldmodel/checkpoints/deepcoder \
  HEAD worldmodel/checkpoints/deepcoder
"""

import sys

from worldmodel import WorldModel, load_dynamics

model = WorldModel.load(sys.argv[1])
model.attach_dynamics(load_dynamics(sys.argv[2]))
model.save(sys.argv[3])
print(f"{sys.argv[3]}: {sum(p.numel() for p in model.parameters())} parameters, dynamics {model.dynamics.config}")
