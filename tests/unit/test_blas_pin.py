"""Every entry point loads OpenBLAS with one kernel, whatever the CPU picks (resources/blas.py)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from resources.blas import CORETYPE, _has_avx2

PROBE = "import pipelines, numpy, threadpoolctl; print(threadpoolctl.threadpool_info()[0]['architecture'])"


def _architecture(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(platform.machine() != "x86_64" or not _has_avx2(), reason="the pin applies to x86-64 with AVX2")
def test_importing_pipelines_pins_the_kernel_unless_one_was_chosen():
    unset = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    assert _architecture(unset).strip() == CORETYPE
    assert _architecture({**unset, "OPENBLAS_CORETYPE": "SandyBridge"}).strip() == "Sandybridge"
