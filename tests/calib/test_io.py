"""calib.io: atomic writes leave the old file or the new one and no temp; one hash; provenance."""

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calib import io


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


def test_text_json_bytes_csv_round_trip(tmp_path):
    import pandas as pd

    assert (
        io.atomic_write_text(tmp_path / "a" / "t.txt", "é\r\nx").read_bytes() == "é\r\nx".encode()
    )
    obj = {"b": 1, "a": [1.5, None], "p": Path("/x")}
    js = io.atomic_write_json(tmp_path / "o.json", obj)
    assert json.loads(js.read_text()) == {"a": [1.5, None], "b": 1, "p": "/x"}
    text = js.read_text()
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')
    assert io.atomic_write_bytes(tmp_path / "b.bin", b"\x00\xff").read_bytes() == b"\x00\xff"
    df = pd.DataFrame({"x": [1, 2], "y": [0.5, 0.25]})
    pd.testing.assert_frame_equal(pd.read_csv(io.atomic_write_csv(tmp_path / "d.csv", df)), df)
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "a") == []


def test_mode_is_the_usual_one_not_mkstemps_0600(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE(io.atomic_write_text(tmp_path / "m.txt", "x").stat().st_mode)
    assert mode == 0o666 & ~umask


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_failing_writer_keeps_the_old_file_and_removes_the_temp(tmp_path, exc):
    path = io.atomic_write_text(tmp_path / "f.txt", "old")

    def writer(tmp: Path) -> None:
        tmp.write_text("half")
        raise exc

    with pytest.raises(type(exc)):
        io.atomic_write(path, writer)
    assert path.read_text() == "old" and _leftovers(tmp_path) == []


def test_temp_names_are_unique_per_call(tmp_path):
    seen: list[Path] = []
    for _ in range(3):
        io.atomic_write(tmp_path / "u.txt", lambda tmp: (seen.append(tmp), tmp.write_text("x")))
    assert len(set(seen)) == 3
    assert all(t.parent == tmp_path and t.name.startswith(".u.txt.") for t in seen)
    assert all(t.suffix == ".tmp" for t in seen)  # a glob for "*.txt" never sees a temp file


def test_atomic_write_takes_a_library_writer(tmp_path):
    import numpy as np

    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, a=[1, 2])

    path = io.atomic_write(tmp_path / "a.npz", writer)
    assert np.load(path)["a"].tolist() == [1, 2] and _leftovers(tmp_path) == []


@pytest.mark.parametrize("compressed", [False, True])
def test_atomic_write_npz_writes_the_name_given_and_keeps_the_old_file_on_failure(
    tmp_path, compressed
):
    import numpy as np

    arrays = {"correct": np.array([[True, False]]), "seconds": np.array(1.5),
              "kernels": np.array("compiled kernels (avx2)")}
    for name in ("part.npz", "part"):  # no ".npz" appended to a name without it
        path = io.atomic_write_npz(tmp_path / name, arrays, compressed=compressed)
        assert path == tmp_path / name and path.is_file()
        with np.load(path) as z:
            assert sorted(z.files) == sorted(arrays)
            assert z["correct"].tolist() == [[True, False]] and float(z["seconds"]) == 1.5
            assert str(z["kernels"]) == "compiled kernels (avx2)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part", "part.npz"]
    class Broken:  # fails while np.savez converts it: after the first array is written
        def __array__(self, *args, **kwargs):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        io.atomic_write_npz(tmp_path / "part.npz", {"a": np.zeros(3), "bad": Broken()},
                            compressed=compressed)
    with np.load(tmp_path / "part.npz") as z:
        assert float(z["seconds"]) == 1.5
    assert _leftovers(tmp_path) == []


@given(
    st.dictionaries(
        st.text(max_size=5),
        st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=5), st.none()),
        max_size=6,
    )
)
def test_content_hash_is_sha256_of_the_canonical_json_and_ignores_key_order(d):
    text = json.dumps(d, sort_keys=True, separators=(",", ":"), default=str)
    assert io.content_hash(d) == hashlib.sha256(text.encode()).hexdigest()
    assert io.content_hash(dict(reversed(list(d.items())))) == io.content_hash(d)


def test_digest_and_file_digest_agree_with_hashlib(tmp_path):
    data = os.urandom(3 << 20 | 7)  # more than one 1 MiB block
    (tmp_path / "f").write_bytes(data)
    assert io.file_digest(tmp_path / "f") == hashlib.sha256(data).hexdigest() == io.digest(data)
    assert io.digest("é") == hashlib.sha256("é".encode()).hexdigest()


def test_provenance_record():
    rec = io.provenance(command="x")
    assert rec["command"] == "x" and rec["git_revision"]
    assert {"python", *io.DISTRIBUTIONS} <= rec["versions"].keys()
    assert rec["created_utc"].endswith("+00:00")
    assert io.package_version("no-such-distribution-xyz") == "not installed"
