"""Hostile command lines: every subcommand with a bad option, file or output path must exit 2
with one ``error:`` line naming the option and the value, before any work (no training, no
ngspice, no simulation), and never with a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.hostile.harness import Case, assets, cli, copy_tables, write

UNWRITABLE = "/proc/nmpkit-hostile/out"  # refused even to root
ISSUE = {"train-epochs-0", "train-seed-neg", "train-out-unwritable", "calibrate-v-dd-99",
         "cosim-v-neg-positive", "train-resume-corrupt", "run-out-unwritable",
         "characterize-scheduler-no-dask", "run-config-folder", "train-out-invalid",
         "evaluate-out-unwritable", "cosim-out-unwritable"}


def _argv(tmp: Path, argv: list[str]) -> list[str]:
    a = assets()
    subs = {"{npz}": str(a.npz), "{w}": str(a.weights), "{cal}": str(a.calibration),
            "{tables}": str(a.tables), "{tmp}": str(tmp), "{file}": str(write(tmp, "f.txt", "x"))}
    out = []
    for arg in argv:
        for k, v in subs.items():
            arg = arg.replace(k, v)
        out.append(arg)
    return out


def _cli(*argv: str, setup=None):
    def run(tmp: Path):
        if setup is not None:
            setup(tmp)
        return cli(*_argv(tmp, list(argv)))
    return run


TRAIN = ("train", "mnist", "--data-root", "{npz}", "--train-limit", "10", "--eval-limit", "5")
EVAL = ("evaluate", "mnist", "--lower-bound", "nmp", "--weights", "{w}", "--data-root", "{npz}",
        "--limit", "5",
        "--timesteps", "5", "--calibration-samples", "5", "--out", "{tmp}/ev")
CLF = ("--calibration", "{cal}", "--weights", "{w}", "--data-root", "{npz}", "--limit", "5")
COSIM = ("cosim-check", "--calibration", "{cal}", "--data-root", "{npz}", "--samples", "1",
         "--timesteps", "50", "--hidden", "2")
NIR = ("export-nir", "mnist", "--weights", "{w}", "--data-root", "{npz}",
       "--calibration-samples", "5")

# (id, argv, what the error line must say)
LINES: list[tuple[str, tuple[str, ...], str]] = [
    ("no-command", (), r"required: COMMAND|the following arguments"),
    ("unknown-command", ("frobnicate",), r"invalid choice"),
    # train
    ("train-unknown-network", ("train", "resnet", "--data-root", "{npz}", "--out", "{tmp}/w.pt"),
     r"resnet"),
    ("train-epochs-0", (*TRAIN, "--epochs", "0", "--out", "{tmp}/w.pt"), r"epochs.*0"),
    ("train-epochs-neg", (*TRAIN, "--epochs", "-1", "--out", "{tmp}/w.pt"), r"epochs.*-1"),
    ("train-epochs-abc", (*TRAIN, "--epochs", "abc"), r"--epochs: invalid int value"),
    ("train-seed-neg", (*TRAIN, "--seed", "-1", "--out", "{tmp}/w.pt"), r"seed.*-1"),
    ("train-threads-0", (*TRAIN, "--threads", "0", "--out", "{tmp}/w.pt"), r"--threads.*0"),
    ("train-train-limit-neg", (*TRAIN, "--train-limit", "-1", "--out", "{tmp}/w.pt"),
     r"train_limit|--train-limit"),
    ("train-max-batches-0", (*TRAIN, "--max-batches", "0", "--out", "{tmp}/w.pt"),
     r"max_batches|--max-batches"),
    ("train-checkpoint-nan", (*TRAIN, "--checkpoint-seconds", "nan", "--out", "{tmp}/w.pt"),
     r"checkpoint"),
    ("train-device-tpu", (*TRAIN, "--device", "tpu", "--out", "{tmp}/w.pt"), r"device.*tpu"),
    ("train-dataset-mismatch", (*TRAIN, "--dataset", "cifar10", "--out", "{tmp}/w.pt"),
     r"--dataset .*cifar10"),
    ("train-data-root-missing", ("train", "mnist", "--data-root", "/nonexistent/d",
                                 "--out", "{tmp}/w.pt"), r"/nonexistent/d"),
    ("train-out-unwritable", (*TRAIN, "--out", UNWRITABLE + "/w.pt"), r"--out .*not writable"),
    ("train-out-invalid", (*TRAIN, "--out", "{file}/w.pt"), r"--out .*not a folder"),
    ("train-out-folder", (*TRAIN, "--out", "{tmp}"), r"--out .*folder"),
    ("train-out-empty", (*TRAIN, "--out", ""), r"--out"),
    # evaluate
    ("evaluate-unknown-network", ("evaluate", "resnet", "--lower-bound", "nmp", "--weights", "{w}",
                                  "--timesteps", "5",
                                  "--data-root", "{npz}"), r"resnet"),
    ("evaluate-timesteps-0", (*EVAL[:-6], "--timesteps", "0", "--out", "{tmp}/ev"),
     r"timesteps.*0"),
    ("evaluate-timesteps-1e12", (*EVAL[:-6], "--timesteps", "1000000000000", "--out",
                                 "{tmp}/ev"), r"timesteps|memory"),
    ("evaluate-limit-neg", (*EVAL, "--limit", "-5"), r"limit must be >= 1, got -5"),
    ("evaluate-batch-0", (*EVAL, "--batch-size", "0"), r"batch"),
    ("evaluate-threads-0", (*EVAL, "--threads", "0"), r"threads"),
    ("evaluate-percentile-200", (*EVAL, "--percentile", "200"), r"percentile.*200"),
    ("evaluate-percentile-nan", (*EVAL, "--percentile", "nan"), r"percentile.*nan"),
    ("evaluate-lower-bound-abc", (*EVAL, "--lower-bound", "abc"), r"lower.bound.*abc"),
    ("evaluate-lower-bound-pos", (*EVAL, "--lower-bound", "0.5"), r"lower.bound.*0.5"),
    ("evaluate-snapshots-abc", (*EVAL, "--snapshots", "abc"), r"--snapshots.*abc"),
    ("evaluate-device-tpu", (*EVAL, "--device", "tpu"), r"device.*tpu"),
    ("evaluate-memory-neg", (*EVAL, "--memory-gb", "-1"), r"memory"),
    ("evaluate-weights-missing", (*EVAL, "--weights", "/nonexistent/w.pt"), r"/nonexistent/w.pt"),
    ("evaluate-weights-text", (*EVAL, "--weights", "{file}"), r"not a torch state_dict"),
    ("evaluate-out-unwritable", (*EVAL, "--out", UNWRITABLE), r"--out .*not writable"),
    ("evaluate-out-invalid", (*EVAL, "--out", "{file}/ev"), r"--out .*not a folder"),
    ("evaluate-correlation-at-0", (*EVAL, "--correlation-at", "0"), r"correlation"),
    # calibrate
    ("calibrate-missing-dir", ("calibrate", "/nonexistent/t", "--out", "{tmp}/c.json"),
     r"/nonexistent/t"),
    ("calibrate-file-as-dir", ("calibrate", "{file}", "--out", "{tmp}/c.json"), r"f.txt"),
    ("calibrate-empty-dir", ("calibrate", "{tmp}", "--out", "{tmp}/c.json"), r"fi.csv|table"),
    ("calibrate-v-dd-99", ("calibrate", "{tables}", "--v-dd", "99", "--out", "{tmp}/c.json"),
     r"v.dd.*99"),
    ("calibrate-v-dd-nan", ("calibrate", "{tables}", "--v-dd", "nan", "--out", "{tmp}/c.json"),
     r"v.dd.*nan"),
    ("calibrate-v-neg-5", ("calibrate", "{tables}", "--v-neg", "5", "--out", "{tmp}/c.json"),
     r"v.neg.*5"),
    ("calibrate-dt-neg", ("calibrate", "{tables}", "--dt", "-1", "--out", "{tmp}/c.json"),
     r"dt.*-1"),
    ("calibrate-dt-nan", ("calibrate", "{tables}", "--dt", "nan", "--out", "{tmp}/c.json"),
     r"dt.*nan"),
    ("calibrate-rate-fraction-2", ("calibrate", "{tables}", "--rate-fraction", "2",
                                   "--out", "{tmp}/c.json"), r"rate.fraction.*2"),
    ("calibrate-out-unwritable", ("calibrate", "{tables}", "--out", UNWRITABLE + "/c.json"),
     r"--out .*not writable"),
    ("calibrate-out-folder", ("calibrate", "{tables}", "--out", "{tmp}"), r"--out .*folder"),
    # characterize (all refused before ngspice)
    ("characterize-config-missing", ("characterize", "--config", "/nonexistent/d.toml",
                                     "--out", "{tmp}/t"), r"/nonexistent/d.toml"),
    ("characterize-config-folder", ("characterize", "--config", "{tmp}", "--out", "{tmp}/t"),
     r"not a regular file|folder"),
    ("characterize-config-fifo", ("characterize", "--config", "{tmp}/fifo.toml", "--out",
                                  "{tmp}/t"), r"fifo.toml: not a regular file"),
    ("characterize-config-binary", ("characterize", "--config", "{tmp}/b.toml", "--out",
                                    "{tmp}/t"), r"b.toml"),
    ("characterize-config-injection", ("characterize", "--config", "{tmp}/inj.toml", "--out",
                                       "{tmp}/t"), r"model_cards must be one of"),
    ("characterize-config-negative-c", ("characterize", "--config", "{tmp}/neg.toml", "--out",
                                        "{tmp}/t"), r"c_mem_farads"),
    ("characterize-workers-neg", ("characterize", "--workers", "-1", "--out", "{tmp}/t"),
     r"workers.*-1"),
    ("characterize-seed-neg", ("characterize", "--seed", "-1", "--out", "{tmp}/t"), r"seed"),
    ("characterize-out-file", ("characterize", "--quick", "--out", "{file}"), r"--out .*f.txt"),
    ("characterize-out-unwritable", ("characterize", "--quick", "--out", UNWRITABLE),
     r"--out .*not writable"),
    ("characterize-preset-bad", ("characterize", "--preset", "fastest"), r"invalid choice"),
    # cosim-check
    ("cosim-v-neg-positive", (*COSIM, "--v-neg", "0.5", "--out", "{tmp}/cc"), r"--v-neg.*0.5"),
    ("cosim-v-neg-nan", (*COSIM, "--v-neg", "nan", "--out", "{tmp}/cc"), r"--v-neg.*nan"),
    ("cosim-timesteps-0", (*COSIM, "--timesteps", "0", "--out", "{tmp}/cc"), r"timesteps"),
    ("cosim-hidden-0", (*COSIM, "--hidden", "0", "--out", "{tmp}/cc"), r"hidden"),
    ("cosim-samples-0", (*COSIM, "--samples", "0", "--out", "{tmp}/cc"), r"samples"),
    ("cosim-seed-neg", (*COSIM, "--seed", "-1", "--out", "{tmp}/cc"), r"--seed.*-1"),
    ("cosim-substeps-0", (*COSIM, "--substeps", "0", "--out", "{tmp}/cc"), r"--substeps.*0"),
    ("cosim-calibration-missing", ("cosim-check", "--calibration", "/nonexistent/c.json",
                                   "--data-root", "{npz}", "--out", "{tmp}/cc"),
     r"/nonexistent/c.json"),
    ("cosim-calibration-garbage", ("cosim-check", "--calibration", "{file}", "--data-root",
                                   "{npz}", "--out", "{tmp}/cc"), r"f.txt"),
    ("cosim-data-root-missing", ("cosim-check", "--calibration", "{cal}", "--data-root",
                                 "/nonexistent/d", "--out", "{tmp}/cc"), r"/nonexistent/d"),
    ("cosim-dataset-unknown", (*COSIM, "--dataset", "imagenet", "--out", "{tmp}/cc"),
     r"imagenet"),
    ("cosim-out-unwritable", (*COSIM, "--out", UNWRITABLE), r"--out .*not writable"),
    # tradeoff / layers / modulate / optimize
    ("tradeoff-v-dd-99", ("tradeoff", *CLF, "--v-dd", "99", "--out", "{tmp}/to"),
     r"v.dd.*99"),
    ("tradeoff-v-neg-pos", ("tradeoff", *CLF, "--v-neg", "0.3", "--out", "{tmp}/to"),
     r"v.neg.*0.3"),
    ("tradeoff-tolerance-2", ("tradeoff", *CLF, "--tolerance", "2", "--out", "{tmp}/to"),
     r"tolerance"),
    ("tradeoff-eta-0", ("tradeoff", *CLF, "--eta", "0", "--out", "{tmp}/to"), r"eta"),
    ("tradeoff-batch-0", ("tradeoff", *CLF, "--batch", "0", "--out", "{tmp}/to"), r"batch"),
    ("tradeoff-timesteps-0", ("tradeoff", *CLF, "--timesteps", "0", "--out", "{tmp}/to"),
     r"timesteps"),
    ("tradeoff-timesteps-1e12", ("tradeoff", *CLF, "--timesteps", "1000000000000", "--out",
                                 "{tmp}/to"), r"timesteps"),
    ("tradeoff-energy-samples-neg", ("tradeoff", *CLF, "--energy-samples", "-1", "--out",
                                     "{tmp}/to"), r"energy.samples"),
    ("tradeoff-array-size-0", ("tradeoff", *CLF, "--array-size", "0", "--out", "{tmp}/to"),
     r"array.size"),
    ("tradeoff-limit-neg", ("tradeoff", *CLF, "--limit", "-5", "--out", "{tmp}/to"),
     r"limit.*-5"),
    ("tradeoff-out-unwritable", ("tradeoff", *CLF, "--out", UNWRITABLE),
     r"--out .*not writable"),
    ("tradeoff-network-unknown", ("tradeoff", *CLF, "--network", "resnet", "--out", "{tmp}/to"),
     r"resnet"),
    ("layers-tolerance-neg", ("layers", *CLF, "--tolerance", "-1", "--out", "{tmp}/ly"),
     r"tolerance"),
    ("layers-group-bad", ("layers", *CLF, "--group", "nonsense", "--out", "{tmp}/ly"),
     r"--group.*nonsense"),
    ("layers-v-dd-99", ("layers", *CLF, "--v-dd", "99", "--out", "{tmp}/ly"), r"v.dd.*99"),
    ("layers-batch-0", ("layers", *CLF, "--batch", "0", "--out", "{tmp}/ly"), r"batch"),
    ("layers-out-unwritable", ("layers", *CLF, "--out", UNWRITABLE), r"--out .*not writable"),
    ("modulate-sigma-2", ("modulate", *CLF, "--sigma", "2", "--out", "{tmp}/mo"), r"sigma"),
    ("modulate-levels-0", ("modulate", *CLF, "--levels", "0", "--out", "{tmp}/mo"), r"levels"),
    ("modulate-window-neg", ("modulate", *CLF, "--window", "-3", "--out", "{tmp}/mo"),
     r"window.*-3"),
    ("modulate-out-unwritable", ("modulate", *CLF, "--out", UNWRITABLE),
     r"--out .*not writable"),
    ("optimize-trials-0", ("optimize", "--weights", "{w}", "--data-root", "{npz}", "--n-trials",
                           "0", "--out", "{tmp}/op"), r"trials"),
    ("optimize-space-bad", ("optimize", "--weights", "{w}", "--data-root", "{npz}", "--space",
                            "c_mem_farads=abc", "--out", "{tmp}/op"), r"c_mem_farads"),
    ("optimize-out-unwritable", ("optimize", "--weights", "{w}", "--data-root", "{npz}",
                                 "--out", UNWRITABLE), r"--out .*not writable"),
    # export-nir
    ("nir-percentile-200", (*NIR, "--percentile", "200", "--out", "{tmp}/n.nir"),
     r"percentile.*200"),
    ("nir-lower-bound-abc", (*NIR, "--lower-bound", "abc", "--out", "{tmp}/n.nir"),
     r"lower.bound.*abc"),
    ("nir-samples-0", (*NIR, "--calibration-samples", "0", "--out", "{tmp}/n.nir"),
     r"calibration.samples"),
    ("nir-out-unwritable", (*NIR, "--out", UNWRITABLE + "/n.nir"), r"--out .*not writable"),
    # report / run
    ("report-missing-dir", ("report", "/nonexistent/run"), r"/nonexistent/run"),
    ("report-file-as-dir", ("report", "{file}"), r"f.txt"),
    ("report-out-unwritable", ("report", "{tmp}", "--out", UNWRITABLE), r"--out .*not writable"),
    ("run-config-missing", ("run", "/nonexistent/c.toml", "--out", "{tmp}/r"), r"does not exist"),
    ("run-config-folder", ("run", "{tmp}", "--out", "{tmp}/r"), r"not a regular file"),
    ("run-out-file", ("run", "{tmp}/ok.toml", "--out", "{file}"), r"--out .*not a folder"),
    ("run-out-unwritable", ("run", "{tmp}/ok.toml", "--out", UNWRITABLE), r"--out .*not writable"),
    ("run-force-unknown", ("run", "{tmp}/ok.toml", "--out", "{tmp}/r", "--force", "bogus"),
     r"--force.*bogus"),
    ("run-threads-0", ("run", "{tmp}/ok.toml", "--out", "{tmp}/r", "--threads", "0"),
     r"--threads.*0"),
]


def _setup(tmp: Path) -> None:
    write(tmp, "b.toml", b"\xff\xfe\x00")
    write(tmp, "inj.toml",
          'model_cards = "generic_bsim3\\n.control\\nshell touch /tmp/x\\n.endc"\n')
    write(tmp, "neg.toml", "c_mem_farads = -1e-12\n")
    write(tmp, "ok.toml", f'[data]\nroot = "{assets().npz}"\n')
    import os

    os.mkfifo(tmp / "fifo.toml")


def _corrupt_ckpt(tmp: Path) -> None:
    write(tmp, "w.pt.ckpt", b"PK\x03\x04 not really a zip")
    write(tmp, "w.ckpt", b"PK\x03\x04 not really a zip")


def _dask_case(tmp: Path):
    """``--scheduler`` where Dask's distributed package is not installed."""
    import importlib.util

    real = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: None if name == "distributed" else real(name, *a)
    try:
        return cli("characterize", "--scheduler", "tcp://127.0.0.1:1", "--out", f"{tmp}/t")
    finally:
        importlib.util.find_spec = real


def cases() -> list[Case]:
    out = [Case(f"cli/{i}", "CLI", _cli(*argv, setup=_setup), SystemExit, match,
                issue=i in ISSUE) for i, argv, match in LINES]
    out += [
        Case("cli/train-resume-corrupt", "CLI",
             _cli(*TRAIN, "--resume", "--out", "{tmp}/w.pt", setup=_corrupt_ckpt), SystemExit,
             r"ckpt", issue=True),
        Case("cli/characterize-scheduler-no-dask", "CLI", _dask_case, SystemExit,
             r"scheduler .*distributed", issue=True),
        Case("cli/calibrate-fi-cut-in-half", "CLI", _cli_cut_fi, SystemExit,
             r"fi.csv.*expected \d+ rows.*found \d+ rows", issue=True),
    ]
    return out


def _cli_cut_fi(tmp: Path):
    t = copy_tables(tmp)
    lines = (t / "fi.csv").read_text().splitlines(keepends=True)
    (t / "fi.csv").write_text("".join(lines[: 1 + (len(lines) - 1) // 2]))
    return cli("calibrate", str(t), "--out", str(tmp / "c.json"))
