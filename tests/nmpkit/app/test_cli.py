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
