"JSONL records: round trips and errors that name the file, line and field."
import json
import pytest
from timepref.records import (KTORow, MCQItem, PrefPair, RecordError, Scene, SFTRow, VideoRecord, append_jsonl,
                              read_jsonl, write_jsonl)

RECORDS = [
    VideoRecord("v", "v.mp4", 3.0, 8.0, [Scene(0.0, 1.5, "a"), Scene(1.5, 3.0, "b", {"shape": "ring"})], {"split": "test"}),
    PrefPair("p", "v.mp4", "q?", "yes", "no", "temple", frames=[0, 4], perturbation="drop", difficulty=4.0),
    KTORow("k", "v.mp4", "q?", "yes", False, method="timewarp-explicit"),
    SFTRow("s", "v.mp4", "q?", "yes"),
    MCQItem("m", "v.mp4", "first?", ["a", "b", "c", "d"], 2, "timewar", category="order", group="g1"),
]


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: type(r).__name__)
def test_round_trip(tmp_path, rec):
    write_jsonl([rec, rec], tmp_path / "r.jsonl")
    assert read_jsonl(tmp_path / "r.jsonl", type(rec)) == [rec, rec]


def test_error_names_file_line_and_field(tmp_path):
    p = tmp_path / "videos.jsonl"
    write_jsonl(RECORDS[:1] * 3, p)
    lines = p.read_text().splitlines()
    bad = json.loads(lines[2]); bad["scenes"][1]["start"] = 9.0          # start after end
    lines[2] = json.dumps(bad)
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError) as e: read_jsonl(p, VideoRecord)
    assert (e.value.path, e.value.line, e.value.field) == (str(p), 3, "scenes[1].end")
    assert "videos.jsonl:3" in str(e.value)


def test_invalid_json_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(json.dumps({"id": "s", "video": "v", "prompt": "p", "completion": "c"}) + "\n{oops\n")
    with pytest.raises(RecordError, match=r"x.jsonl:2: invalid JSON"): read_jsonl(p, SFTRow)


def test_bool_is_not_a_number(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text(json.dumps({"id": "m", "video": "v", "question": "?", "options": ["a", "b"], "answer": True, "benchmark": "b"}) + "\n")
    with pytest.raises(RecordError, match="answer"): read_jsonl(p, MCQItem)


def test_append_after_failed_write_keeps_everything(tmp_path):
    p = tmp_path / "pairs.jsonl"
    write_jsonl(RECORDS[1:2], p)
    def boom():
        yield RECORDS[1]; raise OSError("disk full")
    with pytest.raises(OSError): write_jsonl(boom(), p)
    assert read_jsonl(p, PrefPair) == RECORDS[1:2]
    assert [q.name for q in tmp_path.iterdir()] == ["pairs.jsonl"]    # no temporary file left behind
    append_jsonl(RECORDS[1:2], p)
    assert len(read_jsonl(p, PrefPair)) == 2
