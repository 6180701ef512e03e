"Video I/O on world videos and on broken files: both backends, one error type."
import numpy as np
import pytest
from timepref.video import (VideoReadError, available_backends, cut_video, read_clips, read_frames, read_frames_at,
                            read_frames_at_indices, video_meta, write_mp4)

BACKENDS = available_backends()


@pytest.mark.parametrize("backend", BACKENDS)
def test_scene_frames_show_the_scene_background(world, backend):
    from timepref.world import BACKGROUNDS
    _, recs = world
    for r in recs:
        clips = read_clips(r.path, [(s.start, s.end) for s in r.scenes], 2, backend=backend)
        for s, frames in zip(r.scenes, clips):
            corner = frames[:, :3, :3].reshape(-1, 3).mean(0)
            assert np.abs(corner - BACKGROUNDS[s.meta["background"]]).max() < 12, (r.id, s.caption)


@pytest.mark.skipif("decord" not in BACKENDS, reason="decord not installed")
def test_backends_agree_on_world_videos(world):
    _, recs = world
    for r in recs:
        n = video_meta(r.path).frame_count
        idx = [0, n // 3, n - 1, 5, 5]
        assert video_meta(r.path, "decord") == video_meta(r.path, "pyav")
        np.testing.assert_array_equal(read_frames_at_indices(r.path, idx, "decord"), read_frames_at_indices(r.path, idx, "pyav"))
        np.testing.assert_array_equal(read_frames(r.path, 8, backend="decord"), read_frames(r.path, 8, backend="pyav"))


def test_frames_at_times_match_indices(world):
    _, recs = world
    r = recs[0]
    np.testing.assert_array_equal(read_frames_at(r.path, [0.0, 1.0]), read_frames_at_indices(r.path, [0, int(r.fps)]))


@pytest.mark.parametrize("backend", BACKENDS + [None])
def test_bad_files_raise_video_read_error(tmp_path, world, backend):
    _, recs = world
    good = open(recs[0].path, "rb").read()
    (tmp_path / "empty.mp4").touch()
    (tmp_path / "text.mp4").write_text("hello")
    (tmp_path / "head.mp4").write_bytes(good[: len(good) // 3])       # truncated: index (moov) lost
    (tmp_path / "random.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    (tmp_path / "dir.mp4").mkdir()
    for name in ["missing.mp4", "empty.mp4", "text.mp4", "head.mp4", "random.mp4", "dir.mp4"]:
        with pytest.raises(VideoReadError) as e: read_frames(tmp_path / name, 4, backend=backend)
        assert e.value.path == str(tmp_path / name)


def test_cut_video_reorders_scenes(tmp_path, world):
    _, recs = world
    r = recs[0]
    spans = [(s.start, s.end) for s in r.scenes][::-1]
    rev = cut_video(r.path, tmp_path / "rev.mp4", spans)
    assert video_meta(rev).frame_count == video_meta(r.path).frame_count
    first = r.scenes[-1]
    np.testing.assert_allclose(read_frames_at_indices(rev, [0])[0].astype(float).mean(),
                               read_frames(r.path, 1, first.start, first.start + 1 / r.fps)[0].astype(float).mean(), atol=3)


def test_write_mp4_streams_a_generator(tmp_path):
    frames = (np.full((16, 16, 3), 10 * i, np.uint8) for i in range(20))
    p = write_mp4(frames, tmp_path / "g.mp4", fps=10)
    assert video_meta(p).frame_count == 20
    got = read_frames_at_indices(p, [0, 19]).mean(axis=(1, 2, 3))
    assert abs(got[0] - 0) < 3 and abs(got[1] - 190) < 3


@pytest.mark.parametrize("backend", BACKENDS)
def test_seeking_in_a_long_video(tmp_path, backend):
    "600 frames (past x264's 250-frame keyframe interval): a frame far in is found by seeking, and is the right one."
    n, w = 600, 64
    def frame(i):
        f = np.zeros((32, w, 3), np.uint8); f[:, :, 0] = i % 256; f[:, :, 1] = i // 256 * 100; return f
    p = write_mp4((frame(i) for i in range(n)), tmp_path / "long.mp4", fps=25)
    got = read_frames_at_indices(p, [550, 10, 299, 599], backend=backend)
    assert [int(round(g[..., 0].mean())) for g in got] == pytest.approx([550 % 256, 10, 299 % 256, 599 % 256], abs=3)
    assert [int(round(g[..., 1].mean() / 100)) for g in got] == [2, 0, 1, 2]
