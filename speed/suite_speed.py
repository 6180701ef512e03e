"""Measure how long scoring one model on the whole held-out suite takes (target: at most 60 s on a 2-core CPU):
the model loaded once, each video decoded once, all items batched, each prompt run once with its key/value cache
shared by the options.

    python speed/suite_speed.py [--suite runs/suite] [--model MODEL_DIR] [--batch-size 16] [--n-frames 8]

Without --model it scores the untrained `mini` model (the same shapes as a trained one, so the same time).
With --compare it also scores the way it was done before, in the same run: every option's whole sequence (video,
question, option) through the model, the video features computed once per video and repeated. Read the ratio.
"""
import argparse, json, tempfile, time
from pathlib import Path
import torch
from transformers.modeling_outputs import BaseModelOutputWithPooling
from timepref import base
from timepref.collate import join_completions, tile, vision_inputs
from timepref.suite import SuiteConfig, build_suite, score_suite, suite_items
from timepref.models import build_tiny_qwen2vl


@torch.no_grad()
def whole_sequences(model, col, items, reverse=False, clips=None, per_token=False):
    "The previous scorer: `k` copies of each prompt, each followed by one option, in one forward pass."
    k = len(items[0].options)
    rows = [{"video": it.video, "prompt": it.question} for it in items]
    texts = [[col.render(r, completion=o) for o in it.options] for r, it in zip(rows, items)]
    clips = [col.frames(it.video) for it in items]
    enc = col.encode_prompts(rows, [t[0]["prompt"] for t in texts], videos=clips)
    batch = join_completions(tile(enc, k), [t[j]["completion"] for j in range(k) for t in texts], col.tokenizer)
    mask = batch.pop("completion_mask")[:, 1:]
    vis = vision_inputs(enc)        # the video features computed once per video and repeated for the options
    feats = model.get_video_features(vis.pop("pixel_values_videos"), vis["video_grid_thw"], return_dict=True)
    feats = BaseModelOutputWithPooling(pooler_output=tuple(feats.pooler_output) * k)
    batch |= tile(vis, k) | {"mm_encoder_outputs": {"video": feats}}
    logits = model(**batch).logits[:, :-1].float()
    lp = torch.log_softmax(logits, -1).gather(-1, batch["input_ids"][:, 1:, None])[..., 0]
    return (lp * mask).sum(1).view(k, len(items)).T


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--suite", default="runs/suite", help="suite folder (built there first if missing)")
    p.add_argument("--model", default=None)
    p.add_argument("--batch-size", type=int, nargs="+", default=[16])
    p.add_argument("--n-frames", type=int, default=8)
    p.add_argument("--compare", action="store_true", help="also time the previous whole-sequence scorer")
    a = p.parse_args()
    t = time.perf_counter(); suite = build_suite(a.suite, SuiteConfig(), progress=False); built = time.perf_counter() - t
    counts = {k: len(v) for k, v in suite_items(suite).items()}
    print(f"suite {suite}: {counts} (built or read in {built:.1f} s); torch threads: {torch.get_num_threads()}")
    shared, results = base.option_logps, {}
    with tempfile.TemporaryDirectory() as d:
        model = a.model
        if model is None:
            m, proc = build_tiny_qwen2vl(size="mini", seed=0); m.save_pretrained(d); proc.save_pretrained(d); model = d
        for path in ("shared prefix", "whole sequences")[:1 + a.compare]:
            base.option_logps = shared if path == "shared prefix" else whole_sequences
            for bs in a.batch_size:
                t = time.perf_counter(); r = score_suite(model, suite, n_frames=a.n_frames, batch_size=bs)
                total = time.perf_counter() - t; results[path, bs] = r
                print(f"{path}, batch {bs}: {sum(counts.values())} items in {total:.1f} s (scoring "
                      f"{r['seconds']:.1f} s, {sum(counts.values()) / r['seconds']:.0f} items/s); scores: "
                      + json.dumps({k: round(v, 3) for k, v in r["scores"].items()}))
    base.option_logps = shared
    for bs in a.batch_size:
        if ("whole sequences", bs) in results:
            old, new = results["whole sequences", bs], results["shared prefix", bs]
            same = sum(x["pred"] == y["pred"] for part in new["rows"]
                       for x, y in zip(new["rows"][part], old["rows"][part]))
            print(f"batch {bs}: speed-up {old['seconds'] / new['seconds']:.2f}x; same answer on {same} of "
                  f"{sum(counts.values())} items")


if __name__ == "__main__":
    main()
