"""`nmpkit report`: one self-contained HTML page (figures inline) from a run directory.

The page: the answers first (`nmpkit.report.answer`, `.extras`, `.zmp_rule`, `.calibration`),
the stage table, every figure of `nmpkit.report.figures` (and the per-network extras) as an
inline PNG, the run's CSVs copied beside the page, and the provenance. A figure whose data is
missing (a stage not run) is listed as missing, never drawn blank.
"""

from __future__ import annotations

import base64
import html
import io
import json
import shutil
import urllib.parse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from calib.io import atomic_write_text, provenance  # noqa: E402
from nmpkit.report.figures import FIGURES  # noqa: E402


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


_CHECK_JS = """
window.addEventListener('load', () => {
  const imgs = Array.from(document.querySelectorAll('img.figure'));
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0));
  document.title = 'nmpkit report: ' + (imgs.length - bad.length) + '/' + imgs.length + ' figures';
  document.body.dataset.figuresOk = String(bad.length === 0);
});
"""


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` (and the run's CSVs beside it) for ``run_dir``; return its path."""
    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f"run directory {str(run)!r} does not exist")
    out_dir = Path(out) if out else run / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    parts: list[str] = []
    missing: list[str] = []
    from nmpkit.report.extras import extra_figures

    drawn = [(key, caption, lambda fn=fn: fn(run)) for key, caption, fn in FIGURES]
    for key, caption, fig_fn in drawn + extra_figures(run):
        fig = fig_fn()
        if fig is None:
            missing.append(caption)
            continue
        fid, alt = html.escape(key, quote=True), html.escape(caption, quote=True)
        parts.append(f'<figure id="{fid}"><img class="figure" alt="{alt}" '
                     f'src="data:image/png;base64,{_png(fig)}"><figcaption>'
                     f"{html.escape(caption)}</figcaption></figure>")
    csv_links = []
    for csv in sorted(run.glob("*/*.csv")):
        if csv.parent == out_dir or csv.parent.name in ("report", "cache"):
            continue
        dest = out_dir / f"{csv.parent.name}__{csv.name}"
        shutil.copyfile(csv, dest)
        href = html.escape(urllib.parse.quote(dest.name), quote=True)
        csv_links.append(f'<li><a href="{href}">{html.escape(dest.name)}</a></li>')
    from nmpkit.report.answer import answer_html, later_sections_html, stage_table_html
    from nmpkit.report.calibration import calibration_html
    from nmpkit.report.extras import networks_answer_html, presets_html
    from nmpkit.report.zmp_rule import zmp_rule_html

    rec_html = (networks_answer_html(run) + zmp_rule_html(run) + answer_html(run)
                + later_sections_html(run) + presets_html(run) + calibration_html(run))
    miss = "".join(f"<li>{html.escape(m)}</li>" for m in missing)
    prov = html.escape(json.dumps(provenance(run_dir=str(run.resolve())), indent=1))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nmpkit report</title>
<style>
body {{ font-family: sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: 90%; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }}
td.num {{ text-align: right; white-space: nowrap; }} .small {{ font-size: 85%; color: #555; }}
.rec {{ background: #eef6ee; padding: .6em; font-size: 110%; }}
.unresolved {{ background: #fbeee6; }} .rule {{ background: #f4f4f8; padding: .5em; }}
figcaption {{ font-size: 90%; color: #333; }} pre {{ font-size: 75%; background: #f6f6f6; }}
</style></head><body>
<h1>nmpkit report</h1>
{rec_html}
<p class="small">How deep must the membrane floor be, and what does the negative supply
cost? Circuit
characterization (ngspice), calibration, converted-network accuracy (NMP vs ZMP and finite
floors), energy, device variation and the co-simulation check of run
<code>{html.escape(str(run.resolve()))}</code>.</p>
<h2>Stages</h2>{stage_table_html(run)}
<h2>Figures</h2>
{''.join(parts)}
{'<h2>Not in this run</h2><ul>' + miss + '</ul>' if missing else ''}
<h2>Data</h2><ul>{''.join(csv_links)}</ul>
<h2>Provenance</h2><pre>{prov}</pre>
<script>{_CHECK_JS}</script>
</body></html>
"""
    return atomic_write_text(out_dir / "report.html", page)


__all__ = ["write_report"]
