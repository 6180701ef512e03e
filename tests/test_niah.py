"Hostile input to the needle-in-a-haystack loaders: a truncated file, a depth that is none, a video that is a folder."
import json
import numpy as np
import pytest
from timepref.niah import NiahConfig, load_niah, make_file_niah
from timepref.records import RecordError
from timepref.video import write_mp4


@pytest.fixture
def folder(tmp_path):
    "A folder with one tiny video and a good row that names it."
    write_mp4([np.full((16, 16, 3), 90, np.uint8)] * 4, tmp_path / "v.mp4", 4)
    return tmp_path, {"video": "v.mp4", "question": "Which?", "options": ["a", "b", "c", "d"], "answer": "C",
                      "depth": 0.5, "length": 4}


def write(path, *rows) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def test_truncated_jsonl(folder):
    d, good = folder
    f = d / "niah.jsonl"
    full = write(f, good, good | {"id": "second"}, good | {"id": "third"})
    assert [it.answer for it in load_niah(full)] == [2, 2, 2]
    text = f.read_text(); cut = text.index('"third"') - 5
    f.write_text(text[:cut])                                   # the writer died in the middle of line 3
    with pytest.raises(RecordError) as e: load_niah(f)
    msg = str(e.value)
    assert msg.startswith(f"{f}:3: invalid JSON") and "\n" not in msg, msg
    f.write_text(text[:text.index("\n") + 10])                 # or after ten bytes of line 2
    with pytest.raises(RecordError, match=r"niah\.jsonl:2: invalid JSON"): load_niah(f)


@pytest.mark.parametrize("depth", ["NaN", "Infinity", "-Infinity", "1.5", "-0.25", "1e308", '"deep"', "true", "[0.5]"])
def test_depth_that_is_no_depth(folder, depth):
    d, good = folder
    row = json.dumps({k: v for k, v in good.items() if k != "depth"})[:-1] + f', "depth": {depth}}}'
    f = write(d / "niah.jsonl", good, row)
    with pytest.raises(RecordError) as e: load_niah(f)
    assert str(e.value).startswith(f"{f}:2: field 'depth': expected a number in [0, 1]"), str(e.value)
    inner = json.dumps({k: v for k, v in good.items() if k != "depth"})[:-1] + f', "meta": {{"depth": {depth}}}}}'
    with pytest.raises(RecordError, match="field 'meta.depth'"): load_niah(write(d / "meta.jsonl", inner))
    with pytest.raises(ValueError, match="depths"): NiahConfig(depths=(0.0, json.loads(depth)))


def test_video_that_is_a_directory(folder):
    d, good = folder
    (d / "clips.mp4").mkdir()
    f = write(d / "niah.jsonl", good, good | {"video": "clips.mp4", "id": "dir-item"})
    with pytest.raises(RecordError) as e: load_niah(f)
    assert str(e.value) == f"{f}:2: field 'video': item 'dir-item': {d / 'clips.mp4'} is a directory, not a video file"
    needles = write(d / "needles.jsonl", good | {"video": "clips.mp4"})
    with pytest.raises(RecordError, match=r"needles\.jsonl:1: field 'video'.*is a directory"):
        make_file_niah(needles, [d / "v.mp4"], d / "out")
    with pytest.raises(ValueError, match="clips.mp4: not a file"):
        make_file_niah(write(d / "ok.jsonl", good), [d / "v.mp4", d / "clips.mp4"], d / "out")
    assert not (d / "out").exists()                            # nothing written before the input is checked
