#!/usr/bin/env bash
# Set up worldmodel on the lent GPU machine (no network there): the pure-Python
# wheels it lacks (nflows, pyro-ppl, pyro-api) travel in .whl/, fetched beforehand with
#   pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl pyro-ppl==1.9.2 pyro-api
#   pip download --no-deps -d .whl nflows==0.14 && pip wheel --no-deps -w .whl .whl/nflows-0.14.tar.gz
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . 2>&1 | grep -v WARNING || true
python3 -c "import torch, worldmodel, nflows, pyro; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
