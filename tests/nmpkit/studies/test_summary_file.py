"""read_summary: the JSON object back, or one error naming the file and what is wrong."""

import pytest

from nmpkit.errors import ConfigError
from nmpkit.studies.summary_file import read_summary


def test_reads_the_object(tmp_path):
    (tmp_path / "s.json").write_text('{"a": 1, "b": [2]}', encoding="utf-8")
    assert read_summary(tmp_path / "s.json", "nothing here") == {"a": 1, "b": [2]}


@pytest.mark.parametrize("text, words", [(None, "nothing here"), ("{oops", "not JSON"),
                                         ("[1, 2]", "expected a JSON object, got list")])
def test_bad_file_names_path_and_fault(tmp_path, text, words):
    path = tmp_path / "s.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=words) as err:
        read_summary(path, "nothing here")
    assert str(path) in str(err.value)
