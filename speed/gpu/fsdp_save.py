"""Merge-and-save under a sharded run: one LoRA DPO stage trained under FSDP (and, with `deepspeed` installed, ZeRO-3)
saves merged weights that reload close to the same stage trained in one process without sharding.

    python speed/gpu/fsdp_save.py [--configs fsdp deepspeed_zero3] [--processes N] [--out DIR]

Needs GPUs: accelerate runs FSDP only on accelerators (on the CPU it runs DDP; `tests/test_train.py` checks that a
CPU run says so). One GPU is enough: FSDP shards over one process and still goes through the sharded save. Builds a
small world and the `mini` model, trains `mini/dpo` for a few steps with `single_gpu`, then with each config, all
from the same weights, data and seed, and prints one JSON line per config: `config`, `processes`, `sharding` (what
the stage recorded), `max_abs_diff` and `max_rel_diff` of the merged weights against the single-GPU run's, and `ok`.
The configs train in bf16; the tolerance is bf16's. Exits 1 when a config fails or differs. Never run by the tests.
"""
import argparse, json, subprocess, sys, tempfile
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[2]


def prepare(d: Path):
    "A small world, the untrained `mini` Qwen2-VL, and TimeWarp's explicit pairs on the world."
    from timepref.methods.timewarp import timewarp_explicit
    from timepref.models import build_tiny
    from timepref.pipeline import video_items
    from timepref.world import WorldConfig, make_world
    make_world(d / "world", WorldConfig(n_videos=32, seed=3), progress=False)
    build_tiny("qwen2vl", "mini", out=d / "base")
    timewarp_explicit(video_items(world=d / "world", split=None), d / "tw.jsonl", progress=False)


def run(d: Path, config: str, processes: int, steps: int) -> dict:
    "Train `mini/dpo` under `config` and return the stage's record (its `model` folder beside it)."
    from timepref.train import accelerate_config
    out = d / f"run-{config}"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(accelerate_config(config)),
           "--num_processes", str(processes), "-m", "timepref.train", "--recipe", "mini/dpo",
           f"model={d / 'base'}", f"vars.pairs={d / 'tw.jsonl'}", f"output_dir={out}", "tensorboard=false",
           f"defaults.max_steps={steps}", "defaults.batch_size=4", "save_steps=0"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if res.returncode: raise RuntimeError(f"{config}: exit {res.returncode}: {res.stderr[-1500:]}")
    return json.loads((out / "stage-0-dpo" / "stage.json").read_text()) | {"model": str(out / "stage-0-dpo" / "model")}


def weights(folder) -> dict:
    from timepref.models import load_video_llm
    return {k: v.float() for k, v in load_video_llm(folder, device="cpu", dtype="float32")[0].state_dict().items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", nargs="+", default=["fsdp", "deepspeed_zero3"])
    p.add_argument("--processes", type=int, default=torch.cuda.device_count() or 1)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--tolerance", type=float, default=2e-2, help="largest relative difference allowed (bf16)")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    d = a.out or Path(tempfile.mkdtemp(prefix="fsdp_save-"))
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "tw.jsonl").exists(): prepare(d)
    ref = weights(run(d, "single", 1, a.steps)["model"])
    failed = False
    for config in a.configs:
        try:
            rec = run(d, config, a.processes, a.steps)
            got = weights(rec["model"])
            if set(got) != set(ref): raise RuntimeError(f"other weights: {sorted(set(got) ^ set(ref))[:5]}")
            diff = max((got[k] - ref[k]).abs().max().item() for k in ref)
            rel = max(((got[k] - ref[k]).abs().max() / ref[k].abs().max().clamp(min=1e-6)).item() for k in ref)
            line = {"config": config, "processes": a.processes, "sharding": rec["sharding"], "steps": rec["steps"],
                    "max_abs_diff": diff, "max_rel_diff": rel, "ok": rel <= a.tolerance,
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
        except (RuntimeError, FileNotFoundError, ModuleNotFoundError) as e:
            line = {"config": config, "processes": a.processes, "ok": False, "error": str(e).splitlines()[0][:300]}
        failed |= not line["ok"]
        print(json.dumps(line), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
