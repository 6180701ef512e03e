"FineVideo: parquet shards in the real layout (struct or string `json` column) through TimeWarp's preprocessing."
import json
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from timepref.records import VideoRecord, read_jsonl
from timepref.sources import SourceError, iter_finevideo_parquet, prepare_finevideo
from timepref.video import read_frames, video_meta, write_mp4


def annotation(name, spans, null_at=None):
    def ts(s, e): return {"start_timestamp": s, "end_timestamp": e}
    scenes = []
    for k, (s, e) in enumerate(spans):
        st = ts(f"00:{s // 60:02d}:{s % 60:02d}.000", None if k == null_at else f"00:{e // 60:02d}:{e % 60:02d}.000")
        scenes.append({"sceneId": k + 1, "title": f"scene {k}", "timestamps": st, "mood": {"description": None},
                       "activities": [{"description": f"Thing {k} happens.", "timestamp": st}], "props": []})
    return {"original_video_filename": f"{name}.mp4", "original_json_filename": f"{name}.json", "duration_seconds": 9,
            "content_metadata": {"title": name, "description": "", "fps": 4, "scenes": scenes, "qAndA": []}}


@pytest.fixture
def mp4(tmp_path):
    frames = np.concatenate([np.full((8, 16, 16, 3), v, np.uint8) for v in (20, 120, 220)])   # 3 scenes of 2 s at 4 fps
    return write_mp4(frames, tmp_path / "src.mp4", fps=4).read_bytes()


@pytest.mark.parametrize("as_string", [False, True])
def test_shard_to_records(tmp_path, mp4, as_string):
    rows = [annotation("keep", [(0, 2), (2, 4), (4, 6)]), annotation("one", [(0, 2)]),
            annotation("null", [(0, 2), (2, 4)], null_at=1)]
    col = [json.dumps(r) for r in rows] if as_string else rows
    shard = tmp_path / "train-00000-of-00002.parquet"
    pq.write_table(pa.table({"mp4": [mp4] * 3, "json": col}), shard, row_group_size=2)
    assert [r for r, _, _ in iter_finevideo_parquet(shard)] == [0, 1, 2]
    recs, skipped = prepare_finevideo([shard], tmp_path / "out", max_end=5)
    assert dict(skipped) == {"fewer than 2 scenes": 1, "unparseable timestamp": 1}
    (rec,) = recs
    assert [(s.start, s.end, s.caption) for s in rec.scenes] == [(0, 2, "Thing 0 happens."), (2, 4, "Thing 1 happens.")]
    assert video_meta(rec.path).frame_count == 16                              # trimmed at 4 s
    assert read_frames(rec.path, 1, 2, 4).mean() == pytest.approx(120, abs=4)
    assert read_jsonl(tmp_path / "out/videos.jsonl", VideoRecord) == recs


def test_shard_without_columns(tmp_path):
    pq.write_table(pa.table({"video": [b""]}), tmp_path / "x.parquet")
    with pytest.raises(SourceError, match="missing column"): list(iter_finevideo_parquet(tmp_path / "x.parquet"))
    (tmp_path / "y.parquet").write_text("no")
    with pytest.raises(SourceError, match="y.parquet"): list(iter_finevideo_parquet(tmp_path / "y.parquet"))


def odd_sized_mp4(path):
    "A 6 s, 4 fps MPEG-4 video 17x15 pixels: readable, but H.264 cannot re-encode odd frame sides."
    import av
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("mpeg4", rate=4)
        s.width, s.height, s.pix_fmt = 17, 15, "yuv420p"
        for i in range(24):
            f = av.VideoFrame.from_ndarray(np.full((15, 17, 3), 100, np.uint8), format="rgb24"); f.pts = i
            for p in s.encode(f): out.mux(p)
        for p in s.encode(): out.mux(p)
    return path.read_bytes()


def test_garbled_rows_are_counted_skips(tmp_path, mp4):
    "A field of the wrong type skips its row, counted by a reason that names the field (no path); the rest is written."
    def row(name, garble=None, spans=((0, 2), (2, 4))):
        a = annotation(name, list(spans))
        if garble: garble(a["content_metadata"])
        return a
    rows = [row("good1"),
            row("activity", lambda cm: cm["scenes"][1]["activities"].append("Someone waves.")),
            row("activity2", lambda cm: cm["scenes"][1]["activities"].append("Someone else waves.")),   # the same fault
            row("timestamp", lambda cm: cm["scenes"][0]["activities"][0].update(timestamp="00:00:01.000")),
            row("title", lambda cm: cm["scenes"][0].update(title=7)),
            row("description", lambda cm: cm["scenes"][1]["activities"][0].update(description=["a", "list"])),
            row("fps", lambda cm: cm.update(fps="fast")),
            row("props", lambda cm: cm["scenes"][0].update(props="garbled")),       # a field the parser never reads
            row("overlap", spans=((0, 3), (2, 4))),
            row("good1"),                                                            # the same id again
            row("odd"),
            row("good2")]
    mp4s = [mp4] * 10 + [odd_sized_mp4(tmp_path / "odd.mp4"), mp4]
    shard = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.table({"mp4": mp4s, "json": [json.dumps(r) for r in rows]}), shard, row_group_size=3)
    recs, skipped = prepare_finevideo([shard], tmp_path / "out")
    assert [r.id for r in recs] == ["good1", "props", "good2"]
    assert read_jsonl(tmp_path / "out/videos.jsonl", VideoRecord) == recs
    assert sorted(p.name for p in (tmp_path / "out/videos").iterdir()) == ["good1.mp4", "good2.mp4", "props.mp4"]
    bad = "bad annotation: field 'content_metadata."
    assert dict(skipped) == {
        bad + "scenes[1].activities[1]': expected an object, got str": 2,
        bad + "scenes[0].activities[0].timestamp': expected an object, got str": 1,
        bad + "scenes[0].title': expected a string, got int 7": 1,
        bad + "scenes[1].activities[0].description': expected a string, got list": 1,
        bad + "fps': expected a finite number >= 0, got str": 1,
        "scenes out of order or overlapping": 1, "duplicate video id": 1,
        "cannot write video: H.264 needs even frame sides, got 17x15": 1}
    assert not any(str(tmp_path) in why for why in skipped)
