"""One BLAS kernel on every x86-64 machine, so a model fitted here is the same to the bit as one fitted elsewhere.

OpenBLAS (numpy's and scipy's) picks its kernels from the CPU at load time: an AVX-512 Zen 4 gets SkylakeX's, a
Zen 5 it does not know gets Haswell's. The sums come out in another order, so hmmlearn's regimes, and through
them the models, signals, personas and feeds, differ in their last bits from one machine to the next: a rebuild
on another host would publish other numbers, and the whole-run snapshot (tests/e2e/test_full_lake_hashes.py)
would fail on it. Haswell's kernels run on every AVX2 CPU (every x86-64 server of the last ten years), so they
are the common choice; an explicit OPENBLAS_CORETYPE wins, and a CPU without AVX2 keeps OpenBLAS's own pick.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

CORETYPE = "Haswell"


def _has_avx2(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    try:
        with cpuinfo.open() as lines:
            return any(line.startswith("flags") and " avx2" in line for line in lines)
    except OSError:  # not Linux: leave OpenBLAS its own pick
        return False


def pin_blas_kernel() -> str | None:
    """Set OPENBLAS_CORETYPE for this process and the processes it starts; the kernel pinned, or None when
    OpenBLAS is already loaded (too late to choose), the CPU is not x86-64 with AVX2, or the user chose one."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return os.environ["OPENBLAS_CORETYPE"]
    if "numpy" in sys.modules or platform.machine().lower() not in {"x86_64", "amd64"} or not _has_avx2():
        return None
    os.environ["OPENBLAS_CORETYPE"] = CORETYPE
    return CORETYPE
