"""Frame decoding, side by side: decord, PyAV and TorchCodec (when it loads) on the same videos, in one run.

    python speed/decode_speed.py [--repeats 3] [--frames 8 32]

Two sets of videos, made locally: 20 world videos (64x64, 8 fps, a few seconds each) and one longer video at a real
resolution (1280x720, 24 fps, 20 s of moving shapes). For each backend and frame count, the frames are sampled
evenly over each whole video, as the collators do (`timepref.video.read_frames`); the time is the best of
`--repeats` passes. Prints a table, then one JSON line per configuration (`set`, `frames`, `backend`, `ms_per_video`,
`ratio` to PyAV), and why a backend was left out.
"""
import argparse, json, tempfile, time
from pathlib import Path
import numpy as np


def long_video(path: Path, seconds: int = 20, fps: int = 24, size=(720, 1280)) -> Path:
    "A real-resolution video of coloured squares moving over a gradient."
    from timepref.video import write_mp4
    h, w = size
    base = np.linspace(0, 255, w, dtype=np.uint8)[None, :, None].repeat(h, 0).repeat(3, 2)
    def frames():
        for t in range(seconds * fps):
            f = base.copy()
            for k, c in enumerate(((255, 0, 0), (0, 200, 0), (0, 0, 255))):
                x, y = (40 * k + 7 * t) % (w - 120), (90 * k + 3 * t) % (h - 120)
                f[y:y + 120, x:x + 120] = c
            yield f
    write_mp4(frames(), path, fps)
    return path


def torchcodec_reader():
    "A `read(path, n)` for TorchCodec, or the reason it cannot run here."
    try:
        from torchcodec.decoders import VideoDecoder
        from timepref.video import sample_indices
        def read(path, n):
            d = VideoDecoder(str(path), dimension_order="NHWC")
            idx = sample_indices(d.metadata.num_frames, n, d.metadata.average_fps)
            return d.get_frames_at(indices=list(idx)).data.numpy()
        return read, None
    except Exception as e:                                   # not installed, or its FFmpeg libraries are missing
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--frames", nargs="+", type=int, default=[8, 32])
    a = ap.parse_args()
    from timepref.video import read_frames
    from timepref.world import WorldConfig, make_world
    tmp = Path(tempfile.mkdtemp())
    world = make_world(tmp / "world", WorldConfig(n_videos=20, seed=0), progress=False)
    sets = {"world 64x64": [r.path for r in world], "1280x720, 20 s": [long_video(tmp / "long.mp4")]}
    readers = {"pyav": lambda p, n: read_frames(p, n, backend="pyav"),
               "decord": lambda p, n: read_frames(p, n, backend="decord")}
    tc, why = torchcodec_reader()
    if tc is not None:
        try: tc(sets["world 64x64"][0], 2); readers["torchcodec"] = tc
        except Exception as e: why = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
    rows = []
    for name, paths in sets.items():
        for n in a.frames:
            ref = None
            for b, read in readers.items():
                first = [read(p, n) for p in paths]                       # warm-up, and the frames to compare
                best = min(_timed(read, paths, n) for _ in range(a.repeats))
                if ref is None: ref = first
                same = all(x.shape == y.shape and np.abs(x.astype(int) - y.astype(int)).max() <= 2
                           for x, y in zip(first, ref))
                rows.append({"set": name, "frames": n, "backend": b, "same_frames_as_pyav": same,
                             "ms_per_video": round(1000 * best / len(paths), 2)})
    for r in rows:
        py = next(x for x in rows if (x["set"], x["frames"], x["backend"]) == (r["set"], r["frames"], "pyav"))
        r["ratio"] = round(py["ms_per_video"] / r["ms_per_video"], 2)
    print(f"{'videos':16} {'frames':>6} {'backend':10} {'ms/video':>9} {'x pyav':>7}  same frames")
    for r in rows:
        print(f"{r['set']:16} {r['frames']:>6} {r['backend']:10} {r['ms_per_video']:>9} {r['ratio']:>7}  "
              f"{r['same_frames_as_pyav']}")
    if why: print(f"torchcodec left out: {why}")
    for r in rows: print(json.dumps(r))


def _timed(read, paths, n) -> float:
    t = time.perf_counter()
    for p in paths: read(p, n)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
