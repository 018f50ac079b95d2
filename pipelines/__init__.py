"""pipelines package: the entry points (the `nexus` CLI, Dagster's code location) import it first."""

from resources.blas import pin_blas_kernel

pin_blas_kernel()  # before numpy loads OpenBLAS: the same numbers on every machine (resources/blas.py)
