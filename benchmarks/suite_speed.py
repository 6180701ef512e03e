"""Measure how long scoring one model on the whole held-out suite takes (target: at most 60 s on a 2-core CPU):
the model loaded once, each video decoded once, all items batched.

    python benchmarks/suite_speed.py [--suite runs/suite] [--model MODEL_DIR] [--batch-size 16] [--n-frames 8]

Without --model it scores the untrained `mini` model (the same shapes as a trained one, so the same time).
With --compare-vision it also scores with the pixels repeated for every option (the vision tower run once per
option, as before `encode_videos_once`), in the same run, so the ratio is what to read.
"""
import argparse, json, tempfile, time
from pathlib import Path
import torch
from timepref import base
from timepref.collate import tile
from timepref.eval import SuiteConfig, build_suite, score_suite, suite_items
from timepref.models import build_tiny_qwen2vl


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="runs/suite", help="suite folder (built there first if missing)")
    p.add_argument("--model", default=None)
    p.add_argument("--batch-size", type=int, nargs="+", default=[16])
    p.add_argument("--n-frames", type=int, default=8)
    p.add_argument("--compare-vision", action="store_true", help="also time the vision tower run once per option")
    a = p.parse_args()
    t = time.perf_counter(); suite = build_suite(a.suite, SuiteConfig(), progress=False); built = time.perf_counter() - t
    counts = {k: len(v) for k, v in suite_items(suite).items()}
    print(f"suite {suite}: {counts} (built or read in {built:.1f} s); torch threads: {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as d:
        model = a.model
        if model is None:
            m, proc = build_tiny_qwen2vl(size="mini", seed=0); m.save_pretrained(d); proc.save_pretrained(d); model = d
        once = base.encode_videos_once
        for vision in ("once per video", "once per option")[:1 + a.compare_vision]:
            if vision == "once per option": base.encode_videos_once = lambda model, vis, k: tile(vis, k)
            for bs in a.batch_size:
                t = time.perf_counter(); r = score_suite(model, suite, n_frames=a.n_frames, batch_size=bs)
                total = time.perf_counter() - t
                print(f"vision tower {vision}, batch {bs}: {sum(counts.values())} items in {total:.1f} s (scoring "
                      f"{r['seconds']:.1f} s, {sum(counts.values()) / r['seconds']:.0f} items/s); scores: "
                      + json.dumps({k: round(v, 3) for k, v in r["scores"].items()}))
        base.encode_videos_once = once


if __name__ == "__main__":
    main()
