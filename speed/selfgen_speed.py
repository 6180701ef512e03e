"""Measure the self-generated preference-data pipelines (TimeWarp-Implicit, TPO, Base-DPO, TEMPLE) on the built-in world:
pairs, skip reasons and generation time per 100 videos on this machine; then the difficulty analysis (TimeWarp
Table 3) of the TimeWarp-Explicit and TEMPLE pairs for the same model.

    python speed/selfgen_speed.py [--model MODEL_DIR] [--n-videos 100] [--base-steps 500] [--figures docs/images]

Without --model, a `mini` base model is first taught a world of its own by SFT for --base-steps steps (timed apart).
"""
import argparse, json, tempfile, time
from pathlib import Path
from timepref.base import BaseConfig, train_base_model
from timepref.methods.hound import HoundConfig, hound
from timepref.methods.implicit import timewarp_implicit
from timepref.methods.tpo import TPOConfig, tpo
from timepref.methods.temple import TempleConfig, temple
from timepref.methods.timewarp import timewarp_explicit
from timepref.difficulty import difficulty
from timepref.pipeline import video_items
from timepref.respond import GenConfig, VideoResponder
from timepref.world import WorldConfig, make_world


def save_figures(out:dict, folder:Path):
    "TEMPLE's pairs per level and the difficulty scores, from this script's results."
    from timepref.methods.temple import plot_temple
    from timepref.difficulty import plot_difficulty
    folder.mkdir(parents=True, exist_ok=True)
    plot_temple(out["temple_per_level_1"], folder / "temple.png")
    plot_difficulty({"TimeWarp-Explicit pairs": out["difficulty_timewarp_explicit"], "TEMPLE pairs": out["difficulty_temple"]}, folder / "difficulty.png")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None)
    p.add_argument("--n-videos", type=int, default=100)
    p.add_argument("--base-steps", type=int, default=500)
    p.add_argument("--n-frames", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=96)
    p.add_argument("--figures", default=None, help="save temple.png and difficulty.png here")
    p.add_argument("--difficulty-pairs", type=int, default=200, help="pairs scored per file by the difficulty analysis")
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
    out["tpo_mix"] = {}
    for share in (0.0, 1.0):   # TPO's mix-ratio ablation ends: 10:0 (all irrelevant) and 0:10 (all incomplete)
        m = tpo(items, d / f"tpo_mix{share}.jsonl", VideoResponder.load(model, gen=gen), cfg=TPOConfig(incomplete_share=share), progress=False)
        out["tpo_mix"][f"incomplete_share={share}"] = {k: m[k] for k in ("pairs_by_kind", "filter_removed", "filter_removed_share")} | {"pairs": m["records"]["pairs"]}
    cfg = HoundConfig()
    t = time.perf_counter()
    sampler = VideoResponder.load(model, n_frames=a.n_frames, gen=GenConfig(max_new_tokens=a.max_new_tokens, batch_size=16, do_sample=True, n=cfg.k))
    h = hound(items, d / "hound.jsonl", sampler, cfg=cfg, progress=False)
    out["hound"] = {"pairs": h["records"]["pairs"], "skips": h["skips"], "generations": h["generations"], "k": cfg.k,
                    "seconds_per_100_videos": per100(time.perf_counter() - t)}
    for per_level in (1, 3):
        t = time.perf_counter()
        te = temple(items, d / f"temple{per_level}.jsonl", VideoResponder.load(model, n_frames=a.n_frames, gen=gen), cfg=TempleConfig(per_level=per_level), progress=False)
        out[f"temple_per_level_{per_level}"] = {k: te[k] for k in ("records", "skips", "pairs_by_level", "filter_removed_share", "generations")} | {
            "seconds_per_100_videos": per100(time.perf_counter() - t)}
    timewarp_explicit(items, d / "explicit.jsonl", progress=False)
    for name, f in (("timewarp_explicit", d / "explicit.jsonl"), ("temple", d / "temple1.jsonl")):
        t = time.perf_counter()
        rep = difficulty(f, model, n_frames=a.n_frames, limit=a.difficulty_pairs, progress=False)
        out[f"difficulty_{name}"] = {k: rep[k] for k in ("overall", "by_perturbation", "chance", "scorer", "second_video")} | {
            "seconds_per_100_pairs": round(100 * (time.perf_counter() - t) / rep["overall"]["pairs"], 2)}
    if a.figures: save_figures(out, Path(a.figures))
    print(json.dumps({"videos": len(items), "model": str(a.model or f"mini, {a.base_steps} SFT steps"), **out}, indent=1))


if __name__ == "__main__":
    main()
