"""Measure how fast the built-in world is generated: seconds per 100 videos, by number of worker processes.

    python benchmarks/world_speed.py [--n-videos 200] [--workers 1 2]
"""
import argparse, tempfile, time
from timepref.world import WorldConfig, make_world


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-videos", type=int, default=200)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--size", type=int, default=64)
    a = p.parse_args()
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
