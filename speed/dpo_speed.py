"""DPO training speed, three ways side by side in one run: the peers' way, today's path and the fast path.

    python speed/dpo_speed.py [--models mini proxy-2b] [--frames 8 16 32] [--steps 3] [--batch-size 2]

- `peers`: the processor called once per completion (chosen, rejected), each with its own decoded video, so the
  vision encoder sees each video once per completion, and again in the reference pass (4 passes per pair per step):
  what TRL's image collator, LLaMA-Factory and ms-swift do.
- `today`: timepref's collator (each video decoded and processed once per pair, then tiled) with TRL's reference pass
  every step: the vision encoder still sees each video 4 times per step (`fast=false` in a recipe).
- `fast`: `timepref.fast`: the vision encoder and the prompt once per pair (`VisionOnce`, `PromptOnce`), the
  reference log-probs computed once before training (`precompute_reference`; its time is `reference_s`, reported
  apart, and not in `steps_per_s`).

Models: `mini` (the world's tiny Qwen2-VL, 56x56 frames) and `proxy-2b`: Qwen2-VL-2B's widths (text hidden 1536,
12 heads / 2 KV heads, MLP 8960, vocabulary 151,936; vision embed 1280, 16 heads, MLP ratio 4, patch 14, merge 2)
with `--layers` language layers and `--vision-depth` vision blocks (2 and 2: the real model has 28 and 32), random
weights, frames at 224x224. Both train a LoRA adapter on the language model, the vision side frozen.

Every configuration runs in its own process (so `peak_mb`, the peak resident memory on CPU or
`torch.cuda.max_memory_allocated` on a GPU, is its own). It prints a table, then one JSON line per configuration:
`model`, `frames`, `path`, `steps_per_s`, `peak_mb`, `speedup` (over `today`), `reference_s`, and the share of a
step's time in decoding, processing, vision, language model (forward and backward) and optimiser.
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time, warnings
from pathlib import Path

PATHS = ("peers", "today", "fast")


def build(name: str, layers: int, vision_depth: int):
    "The model and processor of `name` (`mini` or `proxy-2b`)."
    from transformers import Qwen2VLForConditionalGeneration
    from timepref.models import TinyPreset, build_processor, build_tiny_qwen2vl, tiny_qwen2vl_config
    model, proc = build_tiny_qwen2vl(size="mini")
    if name == "mini": return model, proc
    proc = build_processor(proc.tokenizer, frame_size=224)
    preset = TinyPreset(1536, layers, 12, 2, 8960, vision_depth, 1280, 16, frame_size=224)
    cfg = tiny_qwen2vl_config(proc.tokenizer, preset)
    cfg.text_config.vocab_size = 151_936; cfg.vision_config.mlp_ratio = 4
    return Qwen2VLForConditionalGeneration(cfg), proc


class Clock:
    "Seconds spent in each part of training, summed, while `on`."
    def __init__(self): self.t, self.on = dict.fromkeys(("decode", "process", "vision", "optimizer"), 0.0), False

    def wrap(self, part: str, fn, sync=lambda: None):
        def timed(*a, **k):
            if not self.on: return fn(*a, **k)
            sync(); t = time.perf_counter(); out = fn(*a, **k); sync(); self.t[part] += time.perf_counter() - t
            return out
        return timed


def one(model_name: str, frames: int, path: str, steps: int, batch: int, layers: int, vision_depth: int,
        checkpointing: bool = False) -> dict:
    "Train one configuration for 1 + `steps` steps; its figures."
    import datasets, torch
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import DPOConfig, DPOTrainer
    from timepref.collate import FrameLoader, VideoDPOCollator, tile, trl_row, video_trl_config, vision_inputs
    from timepref.fast import fast_video_llm, precompute_reference
    from timepref.records import PrefPair
    from timepref.world import WorldConfig, make_world
    warnings.filterwarnings("ignore")
    gpu = torch.cuda.is_available()
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    tmp = Path(tempfile.mkdtemp())
    n = batch * (steps + 1)                      # every step sees new videos: decoding is part of every step
    recs = make_world(tmp / "world", WorldConfig(n_videos=n + 4, seed=0), progress=False)
    pairs = [PrefPair(id=r.id, video=r.path, prompt="Describe what happens in the video in order.",
                      chosen=" Then ".join(s.caption for s in r.scenes),
                      rejected=" Then ".join(s.caption for s in r.scenes[::-1]), method="bench") for r in recs[:n]]
    ds = datasets.Dataset.from_list([trl_row(p) for p in pairs])
    torch.manual_seed(0)
    model, proc = build(model_name, layers, vision_depth)
    model.requires_grad_(False)
    if gpu: model = model.to("cuda", torch.bfloat16)
    clock = Clock()
    visual = model.model.visual
    visual.forward = clock.wrap("vision", visual.forward, sync)
    calls = {"vision": 0, "language model": 0}            # encoder and language-model forwards in the timed steps
    def counted(part, fn):
        def f(*a, **k):
            if clock.on: calls[part] += 1
            return fn(*a, **k)
        return f
    visual.forward = counted("vision", visual.forward)
    model.model.language_model.forward = counted("language model", model.model.language_model.forward)
    if path == "fast": fast_video_llm(model)

    class Peers(VideoDPOCollator):
        "The processor once per completion, each with its own decoded video."
        def __call__(self, rows):
            texts = [self.render(r, chosen=r["chosen"], rejected=r["rejected"]) for r in rows]
            halves = [self.encode_prompts(rows, [t["prompt"] for t in texts],
                                          videos=[self.frames._decode(r["video"], []) for r in rows]) for _ in range(2)]
            pair = tile(halves[0], 2) | {k: torch.cat([h[k] for h in halves]) for k in vision_inputs(halves[0])}
            from timepref.collate import join_completions
            out = join_completions(pair, [t["chosen"] for t in texts] + [t["rejected"] for t in texts], self.tokenizer)
            return {**vision_inputs(pair), **out}

    Col = Peers if path == "peers" else VideoDPOCollator
    col = Col(proc, FrameLoader(n_frames=frames), pair_once=path == "fast")
    col.frames._decode = clock.wrap("decode", col.frames._decode)
    col.processor = clock.wrap("process", col.processor)
    col.processor.tokenizer, col.processor.apply_chat_template = proc.tokenizer, proc.apply_chat_template

    ends = []
    class Steps(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            sync(); ends.append(time.perf_counter())
            if state.global_step == 1: clock.on = True; clock.t = dict.fromkeys(clock.t, 0.0)   # after the warm-up step
        def on_pre_optimizer_step(self, *a, **k): sync(); self.t = time.perf_counter()
        def on_optimizer_step(self, *a, **k):
            if clock.on: sync(); clock.t["optimizer"] += time.perf_counter() - self.t

    args = video_trl_config(DPOConfig, output_dir=str(tmp / "out"), per_device_train_batch_size=batch,
                            max_steps=steps + 1, learning_rate=1e-5, logging_steps=10**6, disable_tqdm=True,
                            activation_checkpointing=checkpointing)
    lora = LoraConfig(r=16, lora_alpha=32, task_type="CAUSAL_LM", target_modules=r".*language_model.*_proj")
    tr = DPOTrainer(model=model, args=args, train_dataset=ds, processing_class=proc, data_collator=col,
                    peft_config=lora, callbacks=[Steps()])
    ref_s = None
    if path == "fast":
        t = time.perf_counter()
        precompute_reference(tr, tmp / "reference", progress=False)
        ref_s = time.perf_counter() - t
        col.frames._cache.clear()                # the reference pass decoded every video: training decodes them again
    if gpu: torch.cuda.reset_peak_memory_stats()
    tr.train()
    total = ends[-1] - ends[0]
    parts = dict(clock.t); parts["language model"] = max(0.0, total - sum(parts.values()))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024           # KiB on Linux
    peak = torch.cuda.max_memory_allocated() / 2**20 if gpu else rss
    return {"model": model_name, "frames": frames, "path": path, "steps_per_s": round(steps / total, 4),
            "peak_mb": round(peak), "reference_s": round(ref_s, 2) if ref_s is not None else None,
            "seconds_per_step": round(total / steps, 3), "share": {k: round(v / total, 3) for k, v in parts.items()},
            "device": torch.cuda.get_device_name() if gpu else f"cpu ({torch.get_num_threads()} threads)",
            "batch_pairs": batch, "layers": layers if model_name != "mini" else None,
            "vision_depth": vision_depth if model_name != "mini" else None, "checkpointing": checkpointing,
            "forwards_per_step": {k: round(v / steps, 2) for k, v in calls.items()}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["mini", "proxy-2b"], choices=["mini", "proxy-2b"])
    ap.add_argument("--frames", nargs="+", type=int, default=[8, 16, 32], help="frames per video (proxy; mini uses 8)")
    ap.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    ap.add_argument("--steps", type=int, default=3, help="timed steps, after one warm-up step")
    ap.add_argument("--batch-size", type=int, default=2, help="pairs per step")
    ap.add_argument("--layers", type=int, default=2, help="proxy-2b: language-model layers (Qwen2-VL-2B: 28)")
    ap.add_argument("--vision-depth", type=int, default=2, help="proxy-2b: vision blocks (Qwen2-VL-2B: 32)")
    ap.add_argument("--checkpointing", action="store_true",
                    help="activation checkpointing (then PromptOnce runs whole rows: transformers drops the cache)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        m, f, p = a.one.split(":")
        print(json.dumps(one(m, int(f), p, a.steps, a.batch_size, a.layers, a.vision_depth, a.checkpointing))); return
    rows = []
    for m in a.models:
        for f in ([8] if m == "mini" else a.frames):
            for p in a.paths:
                cmd = [sys.executable, __file__, "--one", f"{m}:{f}:{p}", "--steps", str(a.steps), "--batch-size",
                       str(a.batch_size), "--layers", str(a.layers), "--vision-depth", str(a.vision_depth),
                       *(["--checkpointing"] if a.checkpointing else [])]
                res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode: sys.exit(f"{m} {f} frames {p}: failed\n{res.stderr[-3000:]}")
                rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
                print(f"  {m} {f} frames {p}: {rows[-1]['seconds_per_step']} s/step", file=sys.stderr, flush=True)
    for r in rows:
        same = [x for x in rows if (x["model"], x["frames"]) == (r["model"], r["frames"])]
        today = next((x for x in same if x["path"] == "today"), None)
        r["speedup"] = round(r["steps_per_s"] / today["steps_per_s"], 2) if today else None
    parts = ["decode", "process", "vision", "language model", "optimizer"]
    print(f"{'model':9} {'frames':>6} {'path':6} {'steps/s':>8} {'speedup':>7} {'peak MB':>8} {'ref s':>6}  "
          + "  ".join(f"{p[:8]:>8}" for p in parts))
    for r in rows:
        print(f"{r['model']:9} {r['frames']:>6} {r['path']:6} {r['steps_per_s']:>8.3f} {r['speedup'] or 0:>7.2f} "
              f"{r['peak_mb']:>8} {r['reference_s'] if r['reference_s'] is not None else '':>6}  "
              + "  ".join(f"{r['share'][p]:>8.0%}" for p in parts))
    for r in rows: print(json.dumps(r))


if __name__ == "__main__":
    main()
