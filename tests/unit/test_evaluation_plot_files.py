"""Evaluation plots land as one file per plot, named with a single .png (older lakes' doubled names removed)."""

from __future__ import annotations

from pathlib import Path

from assets.models.plots import write_evaluation_plots
from resources.lake.storage import LakeStorage

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def test_each_plot_is_written_once_with_one_png_extension(tmp_path: Path):
    storage = LakeStorage(root_uri=str(tmp_path / "lake"))
    folder = tmp_path / "lake" / "gold" / "models" / "evaluation_plots"
    folder.mkdir(parents=True)
    (folder / "reliability.png.png").write_bytes(b"old")  # what earlier builds wrote
    images = {"reliability.png": PNG, "ic_by_horizon.png": PNG, "cumulative_returns.png": PNG}

    written = write_evaluation_plots(storage, images)

    assert sorted(p.name for p in folder.iterdir()) == [
        "cumulative_returns.png",
        "ic_by_horizon.png",
        "reliability.png",
    ]
    assert [Path(storage.fs_path(uri)).name for uri in written] == list(images)
    assert (folder / "reliability.png").read_bytes() == PNG
