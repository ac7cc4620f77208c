"""Hostile inputs at every public entry point that builds a SPICE deck: none reaches ngspice's
control language, none reads a file outside the allowed folders, every one gets one clear error.

Each payload tries to run ``shell touch <marker>``; the marker must never appear. The payloads
are shown to be live: run through the bare ``ngspice -b`` (bypassing nmpkit), they do create it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest

from circuits import deck_guard, ngspice, render
from circuits.design import default_design, load_design
from circuits.errors import DeckError, DesignError, RenderError
from circuits.point import Point, deck_for
from circuits.render import Stimulus, model_text, render_deck
from circuits.spice_network import measure_gate_seconds, simulate_network, subckt_param_names
from tests.circuits.conftest import needs_ngspice

NET = {"c_mem_farads": 5e-13, "c_fb_farads": 5e-13, "i_reset_amps": 3e-6,
       "t_pulse_seconds": 1e-7}
RC = "* rc\nV1 in 0 dc 1\nR1 in out 1k\nC1 out 0 1n\n{extra}\n.tran 1e-8 1e-6\n.end\n"
STIM = Stimulus(i_exc_amps=1e-7, t_stop_seconds=1e-6, t_max_step_seconds=1e-8)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / f"pwned-{uuid.uuid4().hex}"
    yield path
    assert not path.exists(), "a shell command ran"


def _payloads(m: Path) -> dict[str, str]:
    """Deck fragments that run ``touch m`` in ngspice 39 when nothing stops them."""
    return {
        "control": f".control\nshell touch {m}\n.endc",
        "control-indented-upper": f"  \t.CONTROL\nshell touch {m}\n.endc",
        "control-prefix": f".controlx\nshell touch {m}\n.endc",
        "star-hash": f"*# shell touch {m}",
    }


def _lib(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.skipif(shutil.which("ngspice") is None, reason="needs the ngspice executable")
@pytest.mark.parametrize("kind", ["control", "control-indented-upper", "control-prefix",
                                  "star-hash", "in-include"])
def test_payloads_are_live_in_bare_ngspice(tmp_path, kind):
    """The control: the same payloads do run a command when ngspice gets them unguarded."""
    m = tmp_path / "ran"
    extra = (f".include {_lib(tmp_path, 'evil.lib', _payloads(m)['star-hash'])}"
             if kind == "in-include" else _payloads(m)[kind])
    (tmp_path / "d.cir").write_text(RC.format(extra=extra))
    subprocess.run(["ngspice", "-b", "d.cir"], cwd=tmp_path, capture_output=True, timeout=60,
                   stdin=subprocess.DEVNULL)
    assert m.exists()


# ---- run_deck / run_circuit / run_with_retries ------------------------------------------------
@needs_ngspice
@pytest.mark.parametrize("kind", ["control", "control-indented-upper", "control-prefix",
                                  "star-hash"])
def test_run_deck_refuses_control_lines(marker, kind):
    with pytest.raises(DeckError, match=r"deck line 5: control-language line"):
        ngspice.run_deck(RC.format(extra=_payloads(marker)[kind]))


@needs_ngspice
@pytest.mark.parametrize(("extra", "match"), [
    ("shell touch {m}", "control command 'shell'"),
    ("source /tmp/x.cir", "control command 'source'"),
    (".osdi /tmp/x.osdi", r"control-language line \('.osdi'\)"),
    (".exec shell touch {m}", r"control-language line \('.exec'\)"),
    (".csparam x=1", "dot card '.csparam' is not one of the netlist cards"),
    (".include /etc/passwd", "outside the allowed folders"),
    (".inc /etc/passwd", "outside the allowed folders"),
    (".lib /etc/passwd sec", "outside the allowed folders"),
    (".include netlists/if_neuron.sub", "needs an absolute path"),
    (".include {netlists}/../../../../etc/passwd", "outside the allowed folders"),
    (".include {netlists}/no_such.lib", "does not exist"),
    (".include \"/etc/passwd", "unterminated quoted path"),
    (".include {netlists}/if_neuron.sub extra", r"expected 1 argument\(s\)"),
    (".include\n+ /etc/passwd", "cannot be continued"),
])
def test_run_deck_refuses_paths_and_commands(marker, extra, match):
    text = extra.format(m=marker, netlists=deck_guard.NETLIST_DIR)
    with pytest.raises(DeckError, match=match) as exc:
        ngspice.run_deck(RC.format(extra=text))
    assert "root:" not in str(exc.value)  # never a line of /etc/passwd


@needs_ngspice
def test_passwd_never_leaks_into_errors():
    lines = [ln for ln in Path("/etc/passwd").read_text().splitlines() if ln.strip()]
    for extra in (".include /etc/passwd", ".lib /etc/passwd x", ".include /etc/./passwd"):
        with pytest.raises(DeckError) as exc:
            ngspice.run_deck(RC.format(extra=extra))
        assert not any(line in str(exc.value) for line in lines)


@needs_ngspice
def test_included_files_are_scanned_recursively_and_never_quoted(tmp_path, marker, monkeypatch):
    lib = tmp_path / "cards"
    monkeypatch.setenv(deck_guard.ROOTS_ENV, str(lib))
    secret = f"SECRET{uuid.uuid4().hex}"
    _lib(lib, "evil.lib", f"* {secret}\n.control\nshell touch {marker} {secret}\n.endc\n")
    _lib(lib, "star.lib", f"R9 a 0 1k\n*# shell touch {marker} {secret}\n")
    _lib(lib, "outer.lib", "* outer\n.include sub/inner.lib\n")
    _lib(lib / "sub", "inner.lib", f"* inner\n.inc {lib / 'star.lib'}\n")
    _lib(lib, "section.lib", f".lib ok\nR9 a 0 1k\n.endl\n.lib bad\n*# shell touch {marker}\n"
         ".endl\n")
    _lib(lib, "loop.lib", f".include {lib / 'loop.lib'}\n")
    (lib / "fifo.lib").unlink(missing_ok=True)
    os.mkfifo(lib / "fifo.lib")  # reading it would block: refused without opening for read
    cases = {f".include {lib / 'evil.lib'}": "line 2: control-language line",
             f".include {lib / 'outer.lib'}": "star.lib' line 2: control-language line",
             f".lib {lib / 'section.lib'} ok": "section.lib' line 5: control-language line",
             f".include {lib / 'loop.lib'}": "includes itself",
             f".include {lib / 'fifo.lib'}": "is not a regular file"}
    for extra, match in cases.items():
        with pytest.raises(DeckError, match=match) as exc:
            ngspice.run_deck(RC.format(extra=extra))
        assert secret not in str(exc.value)


@needs_ngspice
def test_allow_listed_clean_include_runs_and_is_inlined(tmp_path, monkeypatch):
    """The positive control: an allowed folder's clean file is read and really simulated."""
    lib = tmp_path / "cards"
    _lib(lib, "load.lib", "* a load\nR2 out 0 1k\n")
    _lib(lib, "sec.lib", ".lib fast\nC2 out 0 1n\n.endl\n")
    with pytest.raises(DeckError, match="outside the allowed folders"):
        ngspice.run_deck(RC.format(extra=f".include {lib / 'load.lib'}"))
    monkeypatch.setenv(deck_guard.ROOTS_ENV, str(lib))
    w = ngspice.run_deck(RC.format(extra=f".include {lib / 'load.lib'}\n"
                                         f".lib {lib / 'sec.lib'} fast"), vectors={"out": "v"})
    assert w["v"][-1] == pytest.approx(0.5, abs=1e-3)  # the divider R1/R2 settled
    w = ngspice.run_deck(RC.format(extra=f".include {tmp_path / 'cards' / '..' / 'cards'}"
                                         "/load.lib"), vectors={"out": "v"})
    assert w["v"][-1] == pytest.approx(0.5, abs=1e-3)
    monkeypatch.delenv(deck_guard.ROOTS_ENV)
    w = ngspice.run_deck(RC.format(extra=f".include {lib / 'load.lib'}"), vectors={"out": "v"},
                         allowed_dirs=[lib])
    assert w["v"][-1] == pytest.approx(0.5, abs=1e-3)


@needs_ngspice
def test_symlinks_are_resolved_before_the_folder_check(tmp_path, monkeypatch, marker):
    lib = tmp_path / "cards"
    outside = _lib(tmp_path / "elsewhere", "evil.lib", "R2 out 0 1k\n")
    lib.mkdir()
    (lib / "link.lib").symlink_to(outside)
    (lib / "dirlink").symlink_to(outside.parent, target_is_directory=True)
    monkeypatch.setenv(deck_guard.ROOTS_ENV, str(lib))
    for extra in (f".include {lib / 'link.lib'}", f".include {lib / 'dirlink' / 'evil.lib'}"):
        with pytest.raises(DeckError, match="resolves to .*elsewhere.*outside the allowed"):
            ngspice.run_deck(RC.format(extra=extra))
    with pytest.raises(DeckError, match="must be an existing absolute folder"):
        ngspice.run_deck(RC.format(extra=""), allowed_dirs=["relative/dir"])


@needs_ngspice
def test_pyspice_circuits_and_retries_pass_the_same_gate(marker):
    from PySpice.Spice.Netlist import Circuit

    c = Circuit("rc")
    c.include("/etc/passwd")
    c.R(1, "in", "out", 1e3)
    with pytest.raises(DeckError, match="outside the allowed folders"):
        ngspice.run_circuit(c, stop_seconds=1e-6)
    c = Circuit("rc")
    c.raw_spice = f".control\nshell touch {marker}\n.endc"
    with pytest.raises(DeckError, match="control-language line"):
        ngspice.run_circuit(c, stop_seconds=1e-6)
    with pytest.raises(DeckError, match="control-language line"):
        ngspice.run_with_retries(lambda a: RC.format(extra=_payloads(marker)["star-hash"]),
                                 attempts=3)


# ---- circuits.spice_network: models=, netlist_dir=, design values --------------------------------
def _net(design=NET, **kw):
    args = dict(v_dd_volts=1.0, v_neg_volts=-0.5, first_currents=np.array([0.5]), weights=[],
                biases=[], i_unit_amps=2e-7, dt_seconds=1e-6, timesteps=5, gate_seconds=1e-7)
    return simulate_network(design, **(args | kw))


@pytest.mark.parametrize("models", [
    "generic_bsim3\n.control\nshell touch {m}\n.endc",
    "generic_bsim3.lib\n*# shell touch {m}",
    "../../../../etc/passwd",
    "../models/generic_bsim3",
    "/etc/passwd",
    "generic bsim3",
    "",
    None,
    3,
])
def test_network_models_must_be_an_identifier(marker, models):
    value = models.format(m=marker) if isinstance(models, str) else models
    with pytest.raises(DeckError, match=r"models must be an identifier"):
        _net(models=value)
    with pytest.raises(DeckError, match=r"models must be an identifier"):
        measure_gate_seconds(NET, v_dd_volts=1.0, v_neg_volts=-0.5, i_amps=2e-7, models=value)


def test_network_model_file_inside_allowed_folder_is_scanned(tmp_path, monkeypatch, marker):
    nd = tmp_path / "netlists"
    shutil.copytree(deck_guard.NETLIST_DIR, nd)
    with pytest.raises(DeckError, match="netlist_dir: .*outside the allowed folders"):
        _net(netlist_dir=nd)
    with pytest.raises(DeckError, match="netlist_dir: .*outside the allowed folders"):
        subckt_param_names(Path("/etc"))
    monkeypatch.setenv(deck_guard.ROOTS_ENV, str(nd))
    _lib(nd / "models", "evil.lib", f"* cards\n.control\nshell touch {marker}\n.endc\n")
    with pytest.raises(DeckError, match="evil.lib' line 2: control-language line"):
        _net(netlist_dir=nd, models="evil")
    (nd / "models" / "link.lib").symlink_to("/etc/passwd")
    with pytest.raises(DeckError, match="outside the allowed folders"):
        _net(netlist_dir=nd, models="link")
    for sub in ("if_neuron.sub", "if_neuron_raised_rest.sub"):  # both presets' subcircuits
        with nd.joinpath(sub).open("a") as fh:
            fh.write(f"*# shell touch {marker}\n")
    with pytest.raises(DeckError, match="if_neuron_raised_rest.sub' line .*control-language"):
        _net(netlist_dir=nd)
    with pytest.raises(DeckError, match="if_neuron.sub' line .*control-language line"):
        _net(netlist_dir=nd, design=NET | {"topology": "study"})


@pytest.mark.parametrize(("key", "value"), [
    ("c_mem_farads", "1e-12"), ("c_mem_farads", "1p\n.control\nshell touch x\n.endc"),
    ("c_mem_farads", True), ("c_mem_farads", float("nan")), ("i_reset_amps", [3e-6]),
])
def test_network_design_values_are_numbers_only(key, value):
    with pytest.raises(RenderError, match=f"{key} must be"):
        simulate_network(NET | {key: value}, v_dd_volts=1.0, v_neg_volts=-0.5,
                         first_currents=np.array([0.5]), weights=[], biases=[],
                         i_unit_amps=2e-7, dt_seconds=1e-6, timesteps=5, gate_seconds=1e-7)


# ---- render / point / characterize / design files ------------------------------------------
@pytest.mark.parametrize("cards", ["generic_bsim3\n.control", "../../etc/passwd",
                                   "generic_bsim3 *# shell", "/etc/passwd"])
def test_model_cards_field_cannot_escape(marker, cards, tmp_path):
    from circuits.characterization import characterize
    from circuits.grid import quick_grid

    with pytest.raises(DesignError, match="model_cards must be one of"):
        dataclasses.replace(default_design(), model_cards=cards)
    with pytest.raises(DeckError, match="model_cards must be an identifier"):
        model_text(cards)
    d = default_design()
    object.__setattr__(d, "model_cards", cards)  # bypassing validation still does not reach
    with pytest.raises(DeckError, match="model_cards must be an identifier"):
        render_deck(d, STIM)
    p = Point(kind="fi", v_dd_volts=1.0, v_neg_volts=-0.5, i_exc_amps=1e-7)
    with pytest.raises((DeckError, DesignError), match="model_cards must be"):
        deck_for(d, p)  # re-validated when the point's supplies are put in
    with pytest.raises((DeckError, DesignError), match="model_cards must be"):
        characterize(d, quick_grid(default_design()), tmp_path / "t", workers=1,
                     progress=False)
    assert not (tmp_path / "t" / "fi.csv").exists()


def test_design_file_with_injected_model_cards(tmp_path):
    path = tmp_path / "design.toml"
    path.write_text('model_cards = "generic_bsim3\\n.control\\nshell touch /tmp/x\\n.endc"\n')
    with pytest.raises(DesignError, match="model_cards must be one of"):
        load_design(path)


def test_symlinked_model_cards_in_netlists_are_refused(tmp_path, monkeypatch, marker):
    nd = tmp_path / "netlists"
    (nd / "models").mkdir(parents=True)
    outside = _lib(tmp_path / "out", "evil.lib", f".control\nshell touch {marker}\n.endc\n")
    (nd / "models" / "generic_bsim3.lib").symlink_to(outside)
    monkeypatch.setattr(render, "NETLIST_DIR", nd)
    with pytest.raises(DeckError, match="outside the allowed folders"):
        model_text("generic_bsim3")
    monkeypatch.setenv(deck_guard.ROOTS_ENV, str(nd))
    with pytest.raises(DeckError, match="outside the allowed folders"):
        model_text("generic_bsim3")
    monkeypatch.setenv(deck_guard.ROOTS_ENV, f"{nd}{os.pathsep}{outside.parent}")
    with pytest.raises(DeckError, match="evil.lib' line 1: control-language line"):
        model_text("generic_bsim3")


def test_guard_unit_rules():
    assert deck_guard.identifier("generic_bsim3", field="f") == "generic_bsim3"
    ok = "* c\nR1 a 0 1k\nCd a 0 1p\n.param x=1\n.lib sec\n.endl\n+ 2\n.end\n"
    assert deck_guard.check_deck(ok) == ok
    for bad in (ok + "\r.control", ok + "\f*#x", ok + "\x85.endc", 3):
        with pytest.raises(DeckError):
            deck_guard.check_deck(bad)


def test_interrupted_pool_sweep_raises_the_interrupt_and_stops_its_workers(tmp_path, monkeypatch):
    """Ctrl-C while a pool sweep waits: the KeyboardInterrupt reaches the caller (it was hidden
    by an AttributeError from the executor's shut-down state) and no worker is left running."""
    from circuits import sweep

    pools = []
    real_pool = sweep.process_pool

    def pool(n):
        pools.append(real_pool(n))
        return pools[-1]

    def interrupted(futures):  # the tasks are submitted, so the workers exist
        pools.append(list(pools[0]._processes.values()))
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "process_pool", pool)
    monkeypatch.setattr(sweep, "as_completed", interrupted)
    pts = [Point(kind="fi", v_dd_volts=1.0, v_neg_volts=-0.5, i_exc_amps=a)
           for a in (1e-7, 2e-7)]
    with pytest.raises(KeyboardInterrupt):
        list(sweep._execute(default_design(), {f"k{i}": p for i, p in enumerate(pts)},
                            tmp_path, "test", 2, None))
    assert pools[1]
    for proc in pools[1]:
        assert _gone(proc), f"worker {proc.pid} still running after the interrupt"


def _gone(proc, timeout: float = 30.0) -> bool:
    """True once ``proc`` has exited. The executor's own manager thread joins its workers too,
    and when it reaps one first, our join/is_alive see ECHILD and report a dead worker as alive
    (a race seen in CI), so a pid the OS no longer knows counts as gone."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.join(timeout=0.2)
        if not proc.is_alive():
            return True
        try:
            os.kill(proc.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _ignore_sigterm_and_sleep(ready):  # module level: a spawned process must be able to import it
    import signal
    import time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ready.set()
    time.sleep(120)


def test_stopping_workers_kills_one_that_ignores_sigterm():
    """A worker that ignores SIGTERM (libngspice may catch it) is SIGKILLed after the grace."""
    import multiprocessing

    from circuits import sweep

    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_ignore_sigterm_and_sleep, args=(ready,))
    proc.start()
    assert ready.wait(timeout=60)  # its handler is installed
    sweep._stop([proc], grace_seconds=0.5)
    assert not proc.is_alive()
    assert proc.exitcode == -9
