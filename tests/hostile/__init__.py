"""The hostile-input table (issue 12): bad inputs and faults across every entry point, each
expected to get one clear error or to heal with a warning. `all_cases()` is the table;
tests/test_hostile_inputs.py runs it and bench/hostile_share.py prints the share."""

from __future__ import annotations

from tests.hostile.harness import Case


def all_cases() -> list[Case]:
    from tests.hostile import cases_api, cases_cli, cases_config, cases_faults, cases_files

    table = [c for mod in (cases_config, cases_cli, cases_files, cases_api, cases_faults)
             for c in mod.cases()]
    ids = [c.id for c in table]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"hostile table: duplicate case ids {dup}")
    return table
