#!/bin/sh
# Installs requirements-serve.txt into the TorchServe image, torch from the CPU-only index
# ($TORCH_INDEX_URL) where it answers: a CPU service does not need the 3 GB of CUDA libraries that
# PyPI's Linux torch carries (and cannot delete them: `import torch` loads them). Where that index
# does not answer (an offline mirror of PyPI only), PyPI's build, which runs on the CPU too. Says
# which it installed, in the build log and in torch-build.txt (the compose test reads it).
set -eu
index=""
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    if python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1].rstrip('/') + '/torch/', timeout=20)" \
        "$TORCH_INDEX_URL" 2>/dev/null; then
        index="$TORCH_INDEX_URL"
    else
        echo "torch: $TORCH_INDEX_URL does not answer; falling back to PyPI's build" >&2
    fi
fi
# torch==X.Y.Z matches X.Y.Z+cpu, which sorts above PyPI's X.Y.Z: the CPU-only index wins where it is given.
pip install --no-cache-dir ${index:+--extra-index-url "$index"} -r requirements-serve.txt
# triton is torch.compile's GPU kernel compiler (CUDA builds only); eager inference never imports it.
pip uninstall --yes --quiet triton 2>/dev/null || true
python - "${index:-PyPI}" <<'PY' | tee torch-build.txt
import sys
import torch
kind = "CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda} build, run on the CPU"
print(f"torch {torch.__version__} from {sys.argv[1]}: {kind}")
PY
