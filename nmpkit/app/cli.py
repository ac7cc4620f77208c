"""The `nmpkit` command line: one subcommand per module in `nmpkit/app/commands/`.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; heavy imports happen inside ``run`` so ``nmpkit --help`` is instant.
Expected failures print one line on stderr and exit with code 2: every error of a project
package (``CircuitError``, ``CalibrationError``, ``CosimError``, ``NmpkitError`` and their
subclasses), a missing file, and a ``ValueError`` raised by project code itself (a bad value
checked there, e.g. ``cosim.IFNeuron``'s). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Sequence

from nmpkit import __version__

# Order here is the order in `nmpkit --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "nmpkit.app.commands.run",
    "nmpkit.app.commands.characterize",
    "nmpkit.app.commands.calibrate",
    "nmpkit.app.commands.train",
    "nmpkit.app.commands.evaluate",
    "nmpkit.app.commands.export_nir",
    "nmpkit.app.commands.tradeoff",
    "nmpkit.app.commands.layers",
    "nmpkit.app.commands.optimize",
    "nmpkit.app.commands.modulate",
    "nmpkit.app.commands.cosim_check",
    "nmpkit.app.commands.report",
)


PROJECT_PACKAGES: frozenset[str] = frozenset({"calib", "circuits", "cosim", "nmpkit"})


def _raised_in_project(exc: BaseException) -> bool:
    """Whether the frame that raised ``exc`` belongs to one of the project's packages."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return str(tb.tb_frame.f_globals.get("__name__", "")).split(".")[0] in PROJECT_PACKAGES


def is_expected(exc: BaseException) -> bool:
    """An error the user can act on (one line, exit 2), not a bug (traceback)."""
    from calib.errors import CalibrationError
    from circuits.errors import CircuitError
    from cosim.errors import CosimError
    from nmpkit.errors import NmpkitError

    if isinstance(exc, (CircuitError, CalibrationError, CosimError, NmpkitError,
                        FileNotFoundError)):
        return True
    return isinstance(exc, ValueError) and _raised_in_project(exc)


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


FILE_OUTPUTS = frozenset({"train", "calibrate", "evaluate", "export-nir"})
"""Commands whose ``--out`` is a file; every other command's ``--out`` is a folder."""


def check_common(args: argparse.Namespace) -> None:
    """The options many commands share, checked before any command starts work: every float
    option finite, ``--threads`` >= 1, ``--seed`` >= 0, ``--out`` writable."""
    from nmpkit.app.errors import UsageError
    from nmpkit.app.out_paths import check_out_dir, check_out_file

    for name, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):
            what = "values must be finite numbers" if isinstance(value, list) else \
                "must be a finite number"
            raise UsageError(f"--{name.replace('_', '-')} {what}, got {value!r}")
    for name, low in (("threads", 1), ("seed", 0)):
        value = getattr(args, name, None)
        if value is not None and value < low:
            raise UsageError(f"--{name} must be >= {low}, got {value!r}")
    if getattr(args, "out", None) is not None:
        (check_out_file if args.command in FILE_OUTPUTS else check_out_dir)(args.out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        check_common(args)
        return int(args._run(args) or 0)
    except Exception as exc:
        if not is_expected(exc):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"nmpkit {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nmpkit {args.command}: interrupted (finished work is kept; rerun to resume)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
