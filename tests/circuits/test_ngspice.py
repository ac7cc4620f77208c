import os

import numpy as np
import pytest

from circuits import ngspice
from circuits.design import preset
from circuits.errors import DeckError, SimulationError
from circuits.render import SAVED, Stimulus, render_deck
from tests.circuits.conftest import needs_ngspice

pytestmark = needs_ngspice

RC = """* rc step
V1 in 0 PWL(0 0 1e-12 1)
R1 in out 1k
C1 out 0 1n
.tran 1e-8 5e-6 0 1e-8
.end
"""


def test_rc_step_matches_analytic():
    w = ngspice.run_deck(RC, vectors={"out": "v_out"})
    t, v = w["time"], w["v_out"]
    assert isinstance(v, np.ndarray) and v.dtype == np.float64
    assert t[-1] == pytest.approx(5e-6)
    expected = 1.0 - np.exp(-t / 1e-6)
    assert np.max(np.abs(v - expected)) < 2e-3


def test_harmless_stderr_lines_do_not_fail_and_no_log_in_cwd(tmp_path, monkeypatch):
    """BSIM3 prints "Checking parameters ..." on stderr (PySpice 1.5 calls that an error) and
    writes b3v33check.log into the working directory: both must be contained."""
    monkeypatch.chdir(tmp_path)
    # the raised_rest cards make BSIM3 print its parameter check (the default netlist is quiet)
    deck = render_deck(preset("raised_rest"), Stimulus(i_exc_amps=1e-7, t_stop_seconds=1e-5,
                                                  t_max_step_seconds=2e-7))
    w = ngspice.run_deck(deck, vectors=SAVED)
    assert w["v_mem"].size > 10
    log = list(ngspice._shared().stderr_log)
    assert any(line.startswith("Checking parameters") for line in log)
    assert not (tmp_path / "b3v33check.log").exists()
    assert os.getcwd() == str(tmp_path)


@pytest.mark.parametrize(("line", "error"), [
    ("Note: Starting dynamic gmin stepping", False),
    ("Trying gmin =   9.9996E-03 Warning: Last gmin step failed", False),
    ("Checking parameters for BSIM 3.3 model nch", False),
    ("Using SPARSE 1.3 as Direct Linear Solver", False),
    ("Error: Transient op failed, timestep too small", True),
    ("doAnalyses: TRAN:  Timestep too small; initial timepoint: trouble", True),
    ("run simulation(s) aborted", True),
])
def test_error_line_classifier(line, error):
    assert ngspice.is_error_line(line) is error


def test_real_error_surfaces_with_messages():
    bad = RC.replace("R1 in out 1k", "R1 in out nonsense")
    with pytest.raises(SimulationError) as exc:
        ngspice.run_deck(bad, point={"case": "bad-resistor"})
    assert exc.value.point == {"case": "bad-resistor"}
    assert "nonsense" in exc.value.log_tail


def test_retries_then_simulation_error_naming_point():
    calls = []

    def render(attempt: int) -> str:
        calls.append(attempt)
        return RC if attempt == 2 else RC.replace("R1 in out 1k", "R1 in out bad")

    w, used = ngspice.run_with_retries(render, attempts=3, point={"i": 1})
    assert used == 2 and calls == [0, 1, 2] and w["time"][-1] == pytest.approx(5e-6)
    with pytest.raises(SimulationError, match=r"after 2 attempts.*'i_exc_amps': 1e-07") as exc:
        ngspice.run_with_retries(lambda a: RC.replace("out 1k", "out oops"), attempts=2,
                                 point={"i_exc_amps": 1e-7})
    assert "oops" in exc.value.log_tail


def test_control_blocks_refused():
    with pytest.raises(DeckError, match="control"):
        ngspice.run_deck(RC.replace(".end", ".control\nshell true\n.endc\n.end"))


@pytest.mark.parametrize(("stop", "seconds"), [("5u", 5e-6), ("5us", 5e-6), ("5e-6", 5e-6),
                                              ("0.005m", 5e-6), ("5000n", 5e-6)])
def test_stop_time_with_spice_suffixes(stop, seconds):
    w = ngspice.run_deck(RC.replace(".tran 1e-8 5e-6", f".tran 1e-8 {stop}"))
    assert w["time"][-1] == pytest.approx(seconds)


def test_tran_without_numeric_stop_is_one_clear_error():
    with pytest.raises(DeckError, match=r"\.tran needs a step and a numeric stop"):
        ngspice.run_deck(RC.replace(".tran 1e-8 5e-6 0 1e-8", ".tran 1e-8 soon"))


def test_version():
    assert ngspice.ngspice_version().isdigit()


def test_pyspice_circuit_runs():
    from PySpice.Spice.Netlist import Circuit

    c = Circuit("rc from PySpice")
    c.PieceWiseLinearVoltageSource("1", "in", c.gnd, values=[(0, 0), (1e-12, 1)])
    c.R(1, "in", "out", 1e3)
    c.C(1, "out", c.gnd, 1e-9)
    w = ngspice.run_circuit(c, stop_seconds=5e-6, max_step_seconds=1e-8,
                            vectors={"out": "v_out"})
    assert w["v_out"][-1] == pytest.approx(1 - np.exp(-5.0), abs=2e-3)
    with pytest.raises(Exception, match="stop_seconds"):
        ngspice.run_circuit(c, stop_seconds="5e-6; shell true")


def test_a_transient_leaves_the_process_openmp_thread_count_alone():
    """ngspice's setup sets the calling thread's OpenMP count to its num_threads (1); in-process
    that runtime is the process's (torch binds the same libgomp.so.1), and every later torch
    parallel region ran on one thread. The count asked for before a run must hold after it."""
    import ctypes

    ngspice.run_deck(RC)  # loads libngspice and with it its OpenMP runtime
    try:
        gomp = ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        pytest.skip("no libgomp in this process (ngspice built without OpenMP)")
    before = gomp.omp_get_max_threads()
    try:
        for want in (3, 2):
            gomp.omp_set_num_threads(want)
            ngspice.run_deck(RC)
            assert gomp.omp_get_max_threads() == want
    finally:
        gomp.omp_set_num_threads(before)


def test_torch_keeps_its_threads_across_a_transient():
    """What the user sees: torch's thread count after an in-process ngspice run is the one set."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        ngspice.run_deck(RC)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
