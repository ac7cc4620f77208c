"""`nmpkit report RUN_DIR`: the self-contained HTML report of a run."""

from __future__ import annotations

import argparse
import json

NAME = "report"
HELP = "write one self-contained HTML report (figures inline, CSVs beside it) for a run directory"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="a run directory written by `nmpkit run`")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/report)")
    p.add_argument("--check", action="store_true",
                   help="also load the page in headless Chromium and take a screenshot")


def run(args: argparse.Namespace) -> int:
    from nmpkit.report.html import write_report

    path = write_report(args.run_dir, args.out)
    result = {"report": str(path)}
    if args.check:
        from nmpkit.report.browser import check_page

        chk = check_page(path, path.with_name("screenshot.png"))
        result.update(figures_ok=chk.figures_ok, title=chk.title, console=list(chk.console),
                      screenshot=str(chk.screenshot))
        if not chk.figures_ok or chk.console:
            print(json.dumps(result) if args.json else f"report check failed: {result}")
            return 1
    if args.json:
        print(json.dumps(result))
    elif not args.quiet:
        print(f"report: {path}")
    return 0
