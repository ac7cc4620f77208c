"""Hostile API calls: the simulator, the neuron model, conversion (models that cannot be
represented), the circuit design, and every string that reaches a SPICE deck (injection: newline,
``.control``, ``shell``, ``.include``, ``source``, path traversal, symlinks out of the folder)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from circuits.errors import CircuitError, DeckError
from cosim.errors import ConversionError, SimulationInputError
from nmpkit.errors import ConfigError
from tests.hostile.harness import Case, write


def _tiny():
    import torch
    from torch import nn

    import cosim

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    return cosim.convert(model, torch.rand(8, 4)), torch.rand(2, 4)


def _sim(**kw):
    def run(tmp: Path):
        import torch

        import cosim

        net, x = _tiny()
        if "inputs" in kw:
            x = kw.pop("inputs")(torch)
        return cosim.simulate(net, x, **({"timesteps": 5} | kw))
    return run


def _neuron(**kw):
    def run(tmp: Path):
        import cosim

        return cosim.IFNeuron(**kw)
    return run


def _model(kind: str):
    def run(tmp: Path):
        import torch
        from torch import nn

        import cosim

        class Residual(nn.Sequential):
            def forward(self, x):
                return x + super().forward(x)

        class Shifted(nn.Linear):
            def forward(self, x):
                return super().forward(x) + 1.0

        calib, kw = torch.rand(4, 4), {}
        if kind == "sequential-subclass":
            model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(),
                                  Residual(nn.Linear(4, 4), nn.ReLU()), nn.Linear(4, 2))
        elif kind == "linear-subclass":
            model = nn.Sequential(nn.Sequential(Shifted(4, 4)), nn.ReLU(), nn.Linear(4, 2))
        elif kind == "forward-hook":
            model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
            model[0].register_forward_hook(lambda m, i, o: o * 2)
        elif kind == "lstm":
            model = nn.Sequential(nn.LSTM(4, 4))
        elif kind == "maxpool":
            model, calib = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2)), \
                torch.rand(2, 1, 8, 8)
        elif kind == "sigmoid":
            model = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2))
        elif kind == "not-a-module":
            model = "nn.Sequential()"
        elif kind == "nan-weights":
            model = nn.Sequential(nn.Linear(4, 2))
            with torch.no_grad():
                model[0].weight[0, 0] = float("nan")
        elif kind == "int-weights":
            model = nn.Sequential(nn.Linear(4, 2))
            model[0].weight = nn.Parameter(torch.ones(2, 4, dtype=torch.int64),
                                           requires_grad=False)
        elif kind == "int-inputs":
            model, calib = nn.Sequential(nn.Linear(4, 2)), torch.ones(4, 4, dtype=torch.uint8)
        elif kind == "nan-inputs":
            model, calib = nn.Sequential(nn.Linear(4, 2)), torch.full((4, 4), float("nan"))
        else:  # percentile-*
            model = nn.Sequential(nn.Linear(4, 2))
            kw = {"percentile": {"percentile-200": 200.0, "percentile-nan": float("nan"),
                                 "percentile-0": 0.0, "percentile-bool": True}[kind]}
        return cosim.convert(model, calib, **kw)
    return run


MODELS = [("sequential-subclass", r"module '2'.*Residual.*overrides 'forward'"),
          ("linear-subclass", r"module '0.0'.*Shifted.*overrides 'forward'"),
          ("forward-hook", r"module '0'.*forward_hooks"), ("lstm", r"LSTM"),
          ("maxpool", r"MaxPool2d"), ("sigmoid", r"Sigmoid"), ("not-a-module", r"nn.Module"),
          ("nan-weights", r"finite|NaN"), ("int-weights", r"int64|floating"),
          ("int-inputs", r"calibration_inputs must be floating point"),
          ("nan-inputs", r"calibration_inputs must be a finite"),
          ("percentile-200", r"percentile .*200"), ("percentile-nan", r"percentile .*nan"),
          ("percentile-0", r"percentile"), ("percentile-bool", r"percentile")]


def _design(**kw):
    def run(tmp: Path):
        from circuits.design import default_design

        return dataclasses.replace(default_design(), **kw)
    return run


def _point(**kw):
    def run(tmp: Path):
        from circuits.point import Point

        return Point(**({"kind": "fi", "v_dd_volts": 1.0, "v_neg_volts": -0.5} | kw))
    return run


def _study(which: str, **kw):
    def run(tmp: Path):
        if which == "tradeoff":
            from nmpkit.studies.tradeoff import TradeoffConfig as C
        elif which == "modulate":
            from nmpkit.studies.modulation import ModulateConfig as C
        else:
            from nmpkit.studies.cosim_check import CosimCheckConfig as C
        return C(calibration="c.json", weights="w.pt", data_root="d", **kw) \
            if which != "cosim" else C(calibration="c.json", data_root="d", **kw)
    return run


# ---- injection: every public entry point that reaches a deck --------------------------------
RC = "* rc\nV1 in 0 dc 1\nR1 in out 1k\nC1 out 0 1n\n{extra}\n.tran 1e-8 1e-6\n.end\n"


def _deck(extra: str, setup=None):
    def run(tmp: Path):
        from circuits import ngspice
        from circuits.deck_guard import NETLIST_DIR

        if setup is not None:
            setup(tmp)
        marker = tmp / "pwned"
        text = extra.format(m=marker, tmp=tmp, netlists=NETLIST_DIR)
        try:
            return ngspice.run_deck(RC.format(extra=text))
        finally:
            assert not marker.exists(), "a shell command ran"
    return run


def _evil_files(tmp: Path) -> None:
    write(tmp, "evil.lib", f".control\nshell touch {tmp / 'pwned'}\n.endc\n")
    write(tmp, "star.lib", f"R9 a 0 1k\n*# shell touch {tmp / 'pwned'}\n")


DECKS = [
    ("control", ".control\nshell touch {m}\n.endc", r"control-language line"),
    ("control-upper-indented", "  \t.CONTROL\nshell touch {m}\n.endc", r"control-language"),
    ("star-hash", "*# shell touch {m}", r"control-language line"),
    ("shell", "shell touch {m}", r"control command 'shell'"),
    ("source", "source {tmp}/x.cir", r"control command 'source'"),
    ("exec", ".exec shell touch {m}", r"control-language line"),
    ("osdi", ".osdi {tmp}/x.osdi", r"control-language line"),
    ("include-passwd", ".include /etc/passwd", r"outside the allowed folders"),
    ("lib-passwd", ".lib /etc/passwd sec", r"outside the allowed folders"),
    ("include-traversal", ".include {netlists}/../../../../etc/passwd", r"outside the allowed"),
    ("include-relative", ".include ../etc/passwd", r"needs an absolute path"),
    ("include-continued", ".include\n+ /etc/passwd", r"cannot be continued"),
    ("include-evil-file", ".include {tmp}/evil.lib", r"outside the allowed folders"),
]


def _allow_listed(kind: str):
    """A model-card folder allowed through $NMPKIT_MODEL_DIRS: a symlink in it that resolves
    outside, and a file in it whose nested include holds a control block."""
    def run(tmp: Path):
        import os

        from circuits import deck_guard, ngspice

        cards = tmp / "cards"
        cards.mkdir()
        write(tmp, "outside/evil.lib", "R2 out 0 1k\n")
        (cards / "link.lib").symlink_to(tmp / "outside" / "evil.lib")
        write(cards, "inner.lib", f"* fine\n.control\nshell touch {tmp / 'pwned'}\n.endc\n")
        write(cards, "outer.lib", f"* outer\n.include {cards / 'inner.lib'}\n")
        old = os.environ.get(deck_guard.ROOTS_ENV)
        os.environ[deck_guard.ROOTS_ENV] = str(cards)
        try:
            name = "link.lib" if kind == "symlink-out" else "outer.lib"
            return ngspice.run_deck(RC.format(extra=f".include {cards / name}"))
        finally:
            if old is None:
                os.environ.pop(deck_guard.ROOTS_ENV, None)
            else:
                os.environ[deck_guard.ROOTS_ENV] = old
            assert not (tmp / "pwned").exists()
    return run


def _models_arg(value: object):
    def run(tmp: Path):
        import numpy as np

        from circuits.spice_network import simulate_network

        design = {"c_mem_farads": 5e-13, "c_fb_farads": 5e-13, "i_reset_amps": 3e-6,
                  "t_pulse_seconds": 1e-7}
        v = value.format(m=tmp / "pwned") if isinstance(value, str) else value
        try:
            return simulate_network(design, v_dd_volts=1.0, v_neg_volts=-0.5,
                                    first_currents=np.array([0.5]), weights=[], biases=[],
                                    i_unit_amps=2e-7, dt_seconds=1e-6, timesteps=5,
                                    gate_seconds=1e-7, models=v)
        finally:
            assert not (tmp / "pwned").exists()
    return run


def _netlist_dir_symlink(tmp: Path):
    """A netlist folder that is a symlink to a copy outside netlists/: refused by folder."""
    import shutil

    import numpy as np

    from circuits.deck_guard import NETLIST_DIR
    from circuits.spice_network import simulate_network

    copy = Path(shutil.copytree(NETLIST_DIR, tmp / "copy"))
    (tmp / "link").symlink_to(copy, target_is_directory=True)
    return simulate_network({"c_mem_farads": 5e-13}, v_dd_volts=1.0, v_neg_volts=-0.5,
                            first_currents=np.array([0.5]), weights=[], biases=[],
                            i_unit_amps=2e-7, dt_seconds=1e-6, timesteps=5, gate_seconds=1e-7,
                            netlist_dir=tmp / "link")


def _model_text(cards: str):
    def run(tmp: Path):
        from circuits.render import model_text

        return model_text(cards)
    return run


def cases() -> list[Case]:
    sim = [("timesteps-1e9-float", {"timesteps": 1e9}, r"timesteps must be an int"),
           ("timesteps-1e9-budget", {"timesteps": 10**9}, r"memory_budget_bytes=.*timesteps="),
           ("timesteps-1e12-budget", {"timesteps": 10**12}, r"memory_budget_bytes"),
           ("timesteps-0", {"timesteps": 0}, r"timesteps must be an int >= 1"),
           ("timesteps-bool", {"timesteps": True}, r"timesteps must be an int"),
           ("budget-tiny", {"memory_budget_bytes": 10}, r"memory_budget_bytes=10 "),
           ("budget-0", {"memory_budget_bytes": 0}, r"memory_budget_bytes must be"),
           ("chunk-0", {"chunk_size": 0}, r"chunk_size must be"),
           ("time-block-0", {"time_block": 0}, r"time_block must be"),
           ("encoding-bad", {"encoding": "morse"}, r"encoding.*morse"),
           ("poisson-no-generator", {"encoding": "poisson"}, r"generator"),
           ("lower-bound-at-threshold", {"lower_bound": 1.0}, r"lower_bound.*1.0"),
           ("lower-bound-nan", {"lower_bound": float("nan")}, r"lower_bound.*nan"),
           ("reset-bad", {"reset": "halfway"}, r"reset.*halfway"),
           ("schedule-bad", {"schedule": "fastest"}, r"schedule.*fastest"),
           ("unknown-option", {"bogus": 1}, r"bogus"),
           ("inputs-nan", {"inputs": lambda t: t.full((2, 4), float("nan"))}, r"finite"),
           ("inputs-shape", {"inputs": lambda t: t.rand(2, 5)}, r"shape \(B, 4\)"),
           ("inputs-empty", {"inputs": lambda t: t.rand(0, 4)}, r"non-empty"),
           ("inputs-list", {"inputs": lambda t: [[0.1] * 4]}, r"torch.Tensor"),
           ("inputs-1d", {"inputs": lambda t: t.rand(4)}, r"\(B, ...\)")]
    out = [Case(f"api/simulate-{i}", "API", _sim(**kw), SimulationInputError, m,
                issue=i.startswith("timesteps-1e")) for i, kw, m in sim]
    out += [Case(f"api/neuron-{i}", "API", _neuron(**kw), SimulationInputError, m) for i, kw, m in
            (("floor-at-threshold", {"lower_bound": 1.5}, r"lower_bound.*1.5"),
             ("floor-nan", {"lower_bound": float("nan")}, r"lower_bound"),
             ("threshold-0", {"threshold": 0.0}, r"threshold.*> 0"),
             ("gain-neg", {"gain": -1.0}, r"gain"),
             ("refractory-neg", {"refractory_steps": -1}, r"refractory"))]
    out += [Case(f"model/{k}", "models", _model(k), ConversionError, m,
                 issue=k.endswith("subclass")) for k, m in MODELS]
    out += [Case(f"api/design-{i}", "API", _design(**kw), CircuitError, m) for i, kw, m in
            (("c-negative", {"c_mem_farads": -1e-12}, r"c_mem_farads"),
             ("c-nan", {"c_mem_farads": float("nan")}, r"c_mem_farads"),
             ("c-string", {"c_mem_farads": "1p"}, r"c_mem_farads"),
             ("model-cards-newline", {"model_cards": "generic_bsim3\n.control"},
              r"model_cards must be one of"),
             ("model-cards-traversal", {"model_cards": "../../etc/passwd"}, r"model_cards"),
             ("v-dd-99", {"v_dd_volts": 99.0}, r"v_dd_volts"))]
    out += [Case(f"api/point-{i}", "API", _point(**kw), CircuitError, m) for i, kw, m in
            (("kind-bad", {"kind": "xyz"}, r"kind must be one of"),
             ("v-dd-nan", {"v_dd_volts": float("nan")}, r"v_dd_volts"),
             ("i-exc-neg", {"i_exc_amps": -1e-6}, r"i_exc_amps"))]
    out += [Case(f"api/{w}-{i}", "API", _study(w, **kw), ConfigError, m) for w, i, kw, m in
            (("tradeoff", "v-dd-99", {"v_dd_volts": (99.0,)}, r"v_dd_volts.*99"),
             ("tradeoff", "v-neg-nan", {"v_neg_volts": (float("nan"),)}, r"v_neg_volts"),
             ("tradeoff", "timesteps-1e12", {"timesteps": (10**12,)}, r"timesteps"),
             ("tradeoff", "tolerance-2", {"tolerance": 2.0}, r"tolerance"),
             ("modulate", "sigma-2", {"sigmas": (2.0,)}, r"sigmas"),
             ("cosim", "v-neg-positive", {"v_neg_volts": (0.5,)}, r"v_neg_volts.*0.5"),
             ("cosim", "v-neg-nan", {"v_neg_volts": (float("nan"),)}, r"v_neg_volts"),
             ("cosim", "hidden-0", {"hidden": 0}, r"hidden"))]
    out += [Case(f"inject/run_deck-{i}", "injection", _deck(x, setup=_evil_files), DeckError, m)
            for i, x, m in DECKS]
    out += [Case(f"inject/models-{i}", "injection", _models_arg(v), DeckError,
                 r"models must be an identifier", issue=i == "newline-control")
            for i, v in (("newline-control", "generic_bsim3\n.control\nshell touch {m}\n.endc"),
                         ("star-hash", "generic_bsim3.lib\n*# shell touch {m}"),
                         ("traversal", "../../../../etc/passwd"), ("absolute", "/etc/passwd"),
                         ("space", "generic bsim3"), ("empty", ""), ("int", 3))]
    out += [Case(f"inject/model_text-{i}", "injection", _model_text(v), DeckError,
                 r"model_cards must be an identifier")
            for i, v in (("newline", "generic_bsim3\n.control"), ("traversal", "../../etc/x"),
                         ("star-hash", "generic_bsim3 *# shell"))]
    out += [Case("inject/allow-listed-symlink-out", "injection", _allow_listed("symlink-out"),
                 DeckError, r"resolves to .*outside the allowed folders"),
            Case("inject/allow-listed-nested-control", "injection",
                 _allow_listed("nested-control"), DeckError,
                 r"inner.lib' line 2: control-language line")]
    out.append(Case("inject/netlist-dir-symlink", "injection", _netlist_dir_symlink, DeckError,
                    r"netlist_dir: .*outside the allowed folders"))
    return out
