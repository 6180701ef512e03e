"""Measure the self-generated preference-data pipelines (TimeWarp-Implicit, TPO, Base-DPO) on the built-in world: pairs,
skip reasons and generation time per 100 videos on this machine.

    python benchmarks/selfgen_speed.py [--model MODEL_DIR] [--n-videos 100] [--base-steps 500]

Without --model, a `mini` base model is first taught a world of its own by SFT for --base-steps steps (timed apart).
"""
import argparse, json, tempfile, time
from pathlib import Path
from timepref.base import BaseConfig, train_base_model
from timepref.methods.hound import HoundConfig, hound
from timepref.methods.implicit import timewarp_implicit
from timepref.methods.tpo import tpo
from timepref.pipeline import video_items
from timepref.respond import GenConfig, VideoResponder
from timepref.world import WorldConfig, make_world


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--n-videos", type=int, default=100)
    p.add_argument("--base-steps", type=int, default=500)
    p.add_argument("--n-frames", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=96)
    a = p.parse_args()
    d = Path(tempfile.mkdtemp())
    make_world(d / "world", WorldConfig(n_videos=a.n_videos, seed=0), workers=2, progress=False)
    out, model = {}, a.model
    if model is None:
        model = d / "model"
        rep = train_base_model(d / "world", model, BaseConfig(size="mini", steps=a.base_steps, n_frames=a.n_frames, batch_size=8, n_order=4), progress=False)
        out["base_model"] = {"steps": a.base_steps, "train_seconds": rep["train_seconds"], "final_loss": rep["loss"][-1][1]}
    items = video_items(world=d / "world", split=None)
    per100 = lambda s: round(100 * s / len(items), 2)
    gen = GenConfig(max_new_tokens=a.max_new_tokens, batch_size=16)
    t = time.perf_counter()
    im = timewarp_implicit(items, d / "implicit.jsonl", VideoResponder.load(model, n_frames=a.n_frames, gen=gen), progress=False)
    out["timewarp_implicit"] = {"pairs": im["records"]["pairs"], "skips": im["skips"], "generations": im["generations"],
                                "seconds_per_100_videos": per100(time.perf_counter() - t)}
    t = time.perf_counter()
    tp = tpo(items, d / "tpo.jsonl", VideoResponder.load(model, gen=gen), progress=False)
    out["tpo"] = {"pairs": tp["records"]["pairs"], "pairs_by_kind": tp["pairs_by_kind"], "filter_removed": tp["filter_removed"],
                  "filter_removed_share": tp["filter_removed_share"], "skips": tp["skips"], "generations": tp["generations"],
                  "seconds_per_100_videos": per100(time.perf_counter() - t)}
    cfg = HoundConfig()
    t = time.perf_counter()
    sampler = VideoResponder.load(model, n_frames=a.n_frames, gen=GenConfig(max_new_tokens=a.max_new_tokens, batch_size=16, do_sample=True, n=cfg.k))
    h = hound(items, d / "hound.jsonl", sampler, cfg=cfg, progress=False)
    out["hound"] = {"pairs": h["records"]["pairs"], "skips": h["skips"], "generations": h["generations"], "k": cfg.k,
                    "seconds_per_100_videos": per100(time.perf_counter() - t)}
    print(json.dumps({"videos": len(items), "model": str(a.model or f"mini, {a.base_steps} SFT steps"), **out}, indent=1))


if __name__ == "__main__":
    main()
