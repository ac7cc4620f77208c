"""Hostile run configs: each TOML body goes through `load_config` + `check_paths` (what
`nmpkit run` does before any stage), and must get one `UsageError` naming the field."""

from __future__ import annotations

import os
from pathlib import Path

from nmpkit.app.errors import UsageError
from tests.hostile.harness import Case, assets, write

# (id, TOML body, what the one line must say); every body gets a real data root first
BODIES: list[tuple[str, str, str]] = [
    ("unknown-network", '[[networks]]\nname = "resnet"', r"network.name .*'resnet'"),
    ("epochs-0", '[[networks]]\nname = "mnist"\nepochs = 0', r"network.epochs must be >= 1"),
    ("epochs-bool", '[[networks]]\nname = "mnist"\nepochs = true', r"epochs' must be int"),
    ("eval-limit-minus-5", '[[networks]]\nname = "mnist"\neval_limit = -5',
     r"network.eval_limit must be >= 0.*-5"),
    ("data-eval-limit-neg", "[data]\neval_limit = -5", r"data.eval_limit must be >= 0"),
    ("data-eval-limit-float", "[data]\neval_limit = 1.5", r"data.eval_limit' must be int"),
    ("tradeoff-eval-limit-neg", "[tradeoff]\neval_limit = -1", r"tradeoff.eval_limit"),
    ("variation-eval-limit-neg", "[variation]\neval_limit = -1", r"variation.eval_limit"),
    ("percentile-200", "[evaluate]\npercentile = 200", r"evaluate.percentile .*200"),
    ("percentile-nan", "[evaluate]\npercentile = nan", r"evaluate.percentile .*nan"),
    ("percentile-0", "[evaluate]\npercentile = 0", r"evaluate.percentile .*\(0, 100\]"),
    ("percentile-str", '[evaluate]\npercentile = "abc"', r"evaluate.percentile' must be float"),
    ("floors-nan", "[evaluate]\nfloors = [nan]", r"evaluate.floors .*nan"),
    ("floors-positive", "[evaluate]\nfloors = [0.5]", r"evaluate.floors .*<= 0.*0.5"),
    ("floors-str", '[evaluate]\nfloors = ["x"]', r"evaluate.floors .*'x'"),
    ("floors-not-list", '[evaluate]\nfloors = "abc"', r"evaluate.floors' must be list"),
    ("compare-at-0", "[evaluate]\ncompare_at = [0]", r"evaluate.compare_at"),
    ("compare-at-negative", "[evaluate]\ncompare_at = [-5]", r"evaluate.compare_at.*-5"),
    ("compare-at-str", '[evaluate]\ncompare_at = ["x"]', r"evaluate.compare_at"),
    ("tradeoff-T-1e12", "[tradeoff]\ntimesteps = [1000000000000]",
     r"tradeoff.timesteps .*<= 100000"),
    ("tradeoff-T-1e9-float", "[tradeoff]\ntimesteps = 1e9", r"tradeoff.timesteps' must be"),
    ("tradeoff-T-empty", "[tradeoff]\ntimesteps = []", r"tradeoff.timesteps must be"),
    ("tradeoff-T-0", "[tradeoff]\ntimesteps = [0]", r"tradeoff.timesteps must be"),
    ("tradeoff-T-bool", "[tradeoff]\ntimesteps = [true]", r"tradeoff.timesteps must be"),
    ("evaluate-T-1e12", "[evaluate]\ntimesteps = 1000000000000", r"evaluate.timesteps .*<="),
    ("evaluate-T-0", "[evaluate]\ntimesteps = 0", r"evaluate.timesteps must be >= 1"),
    ("variation-T-neg", "[variation]\ntimesteps = -1", r"variation.timesteps must be >= 1"),
    ("cosim-T-1e9-float", "[cosim_check]\ntimesteps = 1e9", r"cosim_check.timesteps' must be"),
    ("cosim-T-1e12", "[cosim_check]\ntimesteps = 1000000000000", r"cosim_check.timesteps"),
    ("cosim-vneg-positive", "[cosim_check]\nv_neg_volts = [0.5]",
     r"cosim_check.v_neg_volts .*<= 0.*0.5"),
    ("cosim-vneg-empty", "[cosim_check]\nv_neg_volts = []", r"cosim_check.v_neg_volts"),
    ("tradeoff-vneg-nan", "[tradeoff]\nv_neg_volts = [nan]", r"tradeoff.v_neg_volts .*nan"),
    ("tradeoff-vdd-99", "[tradeoff]\nv_dd_volts = [99.0]", r"tradeoff.v_dd_volts .*99"),
    ("tradeoff-vdd-neg", "[tradeoff]\nv_dd_volts = [-1.0]", r"tradeoff.v_dd_volts .*-1"),
    ("tradeoff-vdd-inf", "[tradeoff]\nv_dd_volts = [inf]", r"tradeoff.v_dd_volts .*inf"),
    ("tradeoff-vdd-empty", "[tradeoff]\nv_dd_volts = []", r"tradeoff.v_dd_volts"),
    ("tolerance-1.5", "[tradeoff]\ntolerance = 1.5", r"tradeoff.tolerance .*1.5"),
    ("tolerance-neg", "[tradeoff]\ntolerance = -0.1", r"tradeoff.tolerance"),
    ("tolerance-nan", "[tradeoff]\ntolerance = nan", r"tradeoff.tolerance .*nan"),
    ("eta-0", "[tradeoff]\neta = 0.0", r"tradeoff.eta .*\(0, 1\]"),
    ("eta-2", "[tradeoff]\neta = 2.0", r"tradeoff.eta"),
    ("energy-samples-neg", "[tradeoff]\nenergy_samples = -1", r"tradeoff.energy_samples"),
    ("sigma-1.5", "[variation]\nsigmas = [1.5]", r"variation.sigmas .*1.5"),
    ("sigma-neg", "[variation]\nsigmas = [-0.1]", r"variation.sigmas"),
    ("window-negative", "[variation]\nwindow_steps = -3", r"variation.window_steps .*-3"),
    ("max-pulses-0", "[variation]\nmax_pulses = 0", r"variation.max_pulses must be >= 1"),
    ("hidden-0", "[cosim_check]\nhidden = 0", r"cosim_check.hidden must be >= 1"),
    ("seed-negative", "[run]\nseed = -1", r"run.seed must be >= 0"),
    ("seed-str", '[run]\nseed = "zero"', r"run.seed' must be int"),
    ("workers-negative", "[characterize]\nworkers = -2", r"characterize.workers"),
    ("quick-str", '[characterize]\nquick = "yes"', r"characterize.quick' must be bool"),
    ("dataset-unknown", '[data]\ndataset = "imagenet"', r"data.dataset .*'imagenet'"),
    ("data-root-empty", '[data]\nroot = ""', r"data.root"),
    ("data-root-missing", '[data]\nroot = "/nonexistent/nmpkit-data"',
     r"data.root .*does not exist"),
    ("weights-missing", '[[networks]]\nname = "mnist"\nweights = "/nonexistent/w.pt"',
     r"network.weights .*not a file"),
    ("unknown-key", "[data]\nfoo = 1", r"unknown key 'data.foo'"),
    ("unknown-section", "[bogus]\nx = 1", r"unknown key 'bogus'"),
    ("section-not-table", "tradeoff = 5", r"'tradeoff' must be a table"),
    ("network-and-networks", '[network]\nname = "mnist"\n[[networks]]\nname = "mnist"',
     r"either \[network\].*not both"),
    ("networks-empty", "networks = []", r"'networks' must be a non-empty array"),
    ("network-not-table", "network = 3", r"'network' must be a table"),
    ("networks-duplicate", '[[networks]]\nname = "mnist"\n[[networks]]\nname = "mnist"',
     r"each name once.*'mnist'"),
    ("network-unknown-key", '[[networks]]\nname = "mnist"\nlayers = 3',
     r"unknown key 'networks\[0\].layers'"),
    ("design-negative-c", "[design]\nc_mem_farads = -1e-12", r"c_mem_farads"),
    ("design-unknown-field", "[design]\nbogus_farads = 1.0", r"bogus_farads"),
    ("design-model-cards-injection",
     '[design]\nmodel_cards = "generic_bsim3\\n.control\\nshell touch /tmp/pwned\\n.endc"',
     r"model_cards must be one of"),
    ("design-model-cards-traversal", '[design]\nmodel_cards = "../../../../etc/passwd"',
     r"model_cards must be one of"),
    ("design-preset-unknown", '[design]\npreset = "fastest"', r"preset"),
    ("design-nan", "[design]\nc_mem_farads = nan", r"c_mem_farads"),
    ("bad-toml", "[data\nroot = 1", r"is not valid TOML"),
]
ISSUE = {"unknown-network", "epochs-0", "eval-limit-minus-5", "percentile-200", "percentile-nan",
         "floors-nan", "tradeoff-T-1e12", "cosim-T-1e9-float", "cosim-vneg-positive",
         "window-negative", "data-root-missing", "tradeoff-vdd-99"}


def _load(text: str | bytes, name: str = "cfg.toml"):
    def run(tmp: Path):
        from nmpkit.app.config import check_paths, load_config

        root = f'root = "{assets().npz}"'
        if isinstance(text, str) and "[data]" not in text:  # top-level keys stay top-level
            body = f"{text}\n[data]\n{root}\n"
        elif isinstance(text, str) and "root =" not in text:
            body = text.replace("[data]", f"[data]\n{root}", 1)
        else:
            body = text
        cfg = load_config(write(tmp, name, body))
        check_paths(cfg)
        return cfg
    return run


def _special(kind: str):
    def run(tmp: Path):
        from nmpkit.app.config import load_config

        path = tmp / "cfg.toml"
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "folder":
            path.mkdir()
        elif kind == "device":
            path = Path("/dev/zero")
        elif kind == "missing":
            path = tmp / "nope.toml"
        return load_config(path)
    return run


def cases() -> list[Case]:
    out = [Case(f"config/{i}", "configs", _load(body), UsageError, match, issue=i in ISSUE)
           for i, body, match in BODIES]
    out += [
        Case("config/binary", "configs", _load(b"\x00\xff\xfe garbage"), UsageError,
             r"not UTF-8 text"),
        Case("config/nul-in-text", "configs", _load(b"[run]\nseed = 0\x00\n"), UsageError,
             r"not valid TOML"),
        Case("config/fifo", "configs", _special("fifo"), UsageError, r"not a regular file",
             issue=True),
        Case("config/folder", "configs", _special("folder"), UsageError, r"not a regular file",
             issue=True),
        Case("config/dev-zero", "configs", _special("device"), UsageError,
             r"not a regular file"),
        Case("config/missing", "configs", _special("missing"), UsageError, r"does not exist"),
    ]
    return out
