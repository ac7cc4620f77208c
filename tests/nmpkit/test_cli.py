import pytest

from nmpkit.cli import build_parser, main


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for action in build_parser()._subparsers._group_actions[0].choices:
        assert action in out
