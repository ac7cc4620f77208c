"""The `nmpkit` command line: one subcommand per module in `nmpkit/commands/`.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; heavy imports happen inside ``run`` so ``nmpkit --help`` is instant.
Expected failures (bad input, bad files, failed simulations) print one line on stderr and
exit with code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from nmpkit import __version__

# Order here is the order in `nmpkit --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "nmpkit.commands.run",
    "nmpkit.commands.characterize",
    "nmpkit.commands.calibrate",
    "nmpkit.commands.train",
    "nmpkit.commands.evaluate",
    "nmpkit.commands.export_nir",
    "nmpkit.commands.tradeoff",
    "nmpkit.commands.modulate",
    "nmpkit.commands.cosim_check",
    "nmpkit.commands.report",
)


def _expected_errors() -> tuple[type[BaseException], ...]:
    from calib.errors import CalibrationError
    from circuits.errors import CharacterizationError, DesignError, RenderError, SimulationError
    from cosim.errors import ConversionError, NIRError, SimulationInputError
    from nmpkit.errors import UsageError

    return (
        UsageError, CalibrationError, DesignError, RenderError, SimulationError,
        CharacterizationError, ConversionError, SimulationInputError, FileNotFoundError, NIRError,
    )


def _add_common(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", default=default,
                        help="no progress bars or chatter")
    parser.add_argument("--json", action="store_true", default=default,
                        help="print a machine-readable JSON summary on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nmpkit",
        description=(
            "Co-design a spiking I&F neuron circuit with the network that runs on it: "
            "characterize the circuit in ngspice, calibrate, convert and simulate networks, "
            "and report the accuracy/energy cost of the membrane floor."
        ),
    )
    parser.add_argument("--version", action="version", version=f"nmpkit {__version__}")
    _add_common(parser, False)
    # the same flags after the subcommand (`nmpkit report RUN --json`); SUPPRESS keeps the
    # top-level value when they are not repeated there
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        mod = importlib.import_module(name)
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP, parents=[common])
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        return int(args._run(args) or 0)
    except _expected_errors() as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"nmpkit {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nmpkit {args.command}: interrupted (finished work is kept; rerun to resume)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
