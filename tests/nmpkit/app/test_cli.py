import pytest

from nmpkit.app.cli import build_parser, main


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for action in build_parser()._subparsers._group_actions[0].choices:
        assert action in out


def test_each_subcommand_has_help(capsys):
    for name in build_parser()._subparsers._group_actions[0].choices:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        assert "usage: nmpkit " + name in capsys.readouterr().out


def test_expected_failure_is_one_line_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0] and err[0].startswith("nmpkit report: error:")


def test_json_flag_after_subcommand(tmp_path, capsys):
    import json

    (tmp_path / "run").mkdir()
    assert main(["report", str(tmp_path / "run"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["report"].endswith("report.html")


def test_every_project_error_is_expected_and_a_library_bug_is_not():
    import numpy as np

    from calib.errors import CalibrationError
    from circuits.errors import CharacterizationError, DesignError, RenderError, SimulationError
    from cosim.errors import ConversionError, SimulationInputError
    from cosim.neuron import IFNeuron
    from nmpkit.app.cli import is_expected
    from nmpkit.app.errors import UsageError
    from nmpkit.errors import ConfigError
    from nmpkit.ml.data import DatasetError

    for cls in (UsageError, ConfigError, DatasetError, CalibrationError, DesignError, RenderError,
                SimulationError, CharacterizationError, ConversionError, SimulationInputError):
        assert is_expected(cls("x")), cls
    with pytest.raises(ValueError) as neuron:  # a plain ValueError raised by project code
        IFNeuron(threshold=-1.0)
    assert is_expected(neuron.value)
    with pytest.raises(ValueError) as numpy_bug:  # raised inside numpy: a bug, keeps traceback
        np.zeros(3).reshape(2)
    assert not is_expected(numpy_bug.value)
    assert not is_expected(KeyError("k")) and not is_expected(ValueError("no traceback"))


def test_a_neuron_value_error_exits_2_with_one_line(monkeypatch, capsys):
    from cosim.neuron import IFNeuron
    from nmpkit.app.commands import report

    monkeypatch.setattr(report, "run", lambda args: IFNeuron(threshold=0.0))
    assert main(["report", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["nmpkit report: error: threshold must be a finite float > 0, got 0.0"]
