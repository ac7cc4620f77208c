"""A non-editable install (``pip install .``) carries its data: netlists, weights, the config."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHECK = """
import json, sys
from importlib import resources
import circuits.deck_guard as deck_guard, nmpkit
from circuits.design import default_design
from circuits.point import Point, deck_for
deck = deck_for(default_design(), Point(kind="fi", v_dd_volts=1.0, v_neg_volts=-0.5,
                                        i_exc_amps=1e-7))
print(json.dumps({
    "netlist_dir": str(deck_guard.NETLIST_DIR), "nmpkit": nmpkit.__file__,
    "version": nmpkit.__version__, "deck_has_subckt": ".subckt" in deck.lower(),
    "weights": resources.files("nmpkit").joinpath("weights/mnist.pt").is_file(),
    "config": resources.files("nmpkit.app").joinpath("configs/default.toml").is_file(),
}))
"""


@pytest.mark.slow
def test_non_editable_install_finds_its_package_data(tmp_path):
    src, target = tmp_path / "src", tmp_path / "site"  # a copy: the build writes build/ there
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in ("circuits", "calib", "cosim", "nmpkit", "netlists"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pip.returncode == 0, pip.stderr
    run = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(target), "PATH": ""},
    )
    assert run.returncode == 0, run.stderr
    import json

    got = json.loads(run.stdout)
    assert Path(got["netlist_dir"]).is_relative_to(target)
    assert Path(got["nmpkit"]).is_relative_to(target)  # the installed copy, not this checkout
    assert got["deck_has_subckt"] and got["weights"] and got["config"]
    assert got["version"] != "not installed"
    assert not (target / "tests").exists()
