"""Measure how fast the built-in world is generated: seconds per 100 videos, by number of worker processes; and what
x264's portable C code (`asm=0`, which makes the bytes reproducible) costs against its CPU-specific code.

    python speed/world_speed.py [--n-videos 200] [--workers 1 2]
"""
import argparse, hashlib, tempfile, time
import numpy as np
from timepref import video
from timepref.world import WorldConfig, make_world, render_scene, sample_video_specs


def encoder_cost(n_videos: int = 20, repeats: int = 5):
    "ms per world video encoded, and distinct files per video over `repeats` encodes, with and without x264's asm."
    cfg = WorldConfig(n_videos=n_videos)
    clips = [np.concatenate([render_scene(s, cfg.size) for s in sample_video_specs(cfg, i)[0]]) for i in range(n_videos)]
    default = dict(video.X264_OPTIONS)
    try:
        for name, params in (("C code (asm=0, shipped)", "asm=0"), ("CPU-specific asm", "")):
            video.X264_OPTIONS["x264-params"] = params
            with tempfile.TemporaryDirectory() as d:
                t, distinct = time.perf_counter(), 0
                for i, c in enumerate(clips):
                    distinct += len({hashlib.sha256(video.write_mp4(c, f"{d}/{i}.mp4", cfg.fps).read_bytes()).digest()
                                     for _ in range(repeats)}) > 1
                ms = 1000 * (time.perf_counter() - t) / (n_videos * repeats)
            print(f"x264 {name}: {ms:.1f} ms per video; {distinct} of {n_videos} videos gave more than one file "
                  f"in {repeats} encodes")
    finally: video.X264_OPTIONS.update(default)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-videos", type=int, default=200)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--size", type=int, default=64)
    a = p.parse_args()
    encoder_cost()
    for w in a.workers:
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            recs = make_world(d, WorldConfig(n_videos=a.n_videos, size=a.size), workers=w, progress=False)
            s = time.perf_counter() - t
        frames = sum(round(r.duration * r.fps) for r in recs)
        print(f"workers={w}: {a.n_videos} videos ({frames} frames of {a.size}x{a.size}) in {s:.2f} s "
              f"= {100 * s / a.n_videos:.2f} s per 100 videos")


if __name__ == "__main__":
    main()
