"""nmpkit.report: the HTML report of a run (figures, page, the headless-browser check)."""
