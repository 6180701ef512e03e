"""Measure video training speed with the TRL trainers and timepref's collators; prints the figures.

    python speed/train_speed.py [--size mini] [--steps 20] [--batch-size 8] [--n-frames 16]

SFT is full fine-tuning (as the base model is trained); DPO and KTO train a LoRA adapter. Each run is timed after
one warm-up step. Collation is timed separately, on the first pass (decoding) and on a second (cached frames).
"""
import argparse, tempfile, time
from pathlib import Path
import datasets, torch
from peft import LoraConfig
from trl import DPOConfig, DPOTrainer, KTOConfig, KTOTrainer, SFTConfig, SFTTrainer
from transformers import TrainerCallback
from timepref.collate import FrameLoader, VideoDPOCollator, VideoKTOCollator, VideoSFTCollator, trl_row, video_trl_config
from timepref.models import build_tiny_qwen2vl, n_params
from timepref.records import KTORow, PrefPair, SFTRow
from timepref.world import WorldConfig, make_world


class StepTimer(TrainerCallback):
    "Wall time of every optimiser step after the first."
    def __init__(self): self.t, self.times = None, []
    def on_step_begin(self, *a, **k): self.t = time.perf_counter()
    def on_step_end(self, args, state, *a, **k):
        if state.global_step > 1: self.times.append(time.perf_counter() - self.t)


def rows(recs, kind):
    q = "What happens first?"
    for r in recs:
        first, last = r.scenes[0].caption, r.scenes[-1].caption
        if kind == "sft": yield SFTRow(id=r.id, video=r.path, prompt=q, completion=first)
        if kind == "dpo": yield PrefPair(id=r.id, video=r.path, prompt=q, chosen=first, rejected=last, method="bench")
        if kind == "kto":
            yield KTORow(id=r.id + "+", video=r.path, prompt=q, completion=first, label=True)
            yield KTORow(id=r.id + "-", video=r.path, prompt=q, completion=last, label=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="mini"); ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=8); ap.add_argument("--n-frames", type=int, default=16)
    ap.add_argument("--n-videos", type=int, default=64)
    a = ap.parse_args()
    torch.manual_seed(0)
    tmp = Path(tempfile.mkdtemp())
    recs = make_world(tmp / "world", WorldConfig(n_videos=a.n_videos, seed=0), progress=False)
    print(f"device={'cuda' if torch.cuda.is_available() else 'cpu'} threads={torch.get_num_threads()} size={a.size} "
          f"batch={a.batch_size} frames={a.n_frames}")
    kinds = {"sft": (SFTConfig, SFTTrainer, VideoSFTCollator, None), "dpo": (DPOConfig, DPOTrainer, VideoDPOCollator, "lora"),
             "kto": (KTOConfig, KTOTrainer, VideoKTOCollator, "lora")}
    for kind, (Cfg, Trainer, Collator, peft) in kinds.items():
        model, proc = build_tiny_qwen2vl(size=a.size)
        ds = datasets.Dataset.from_list([trl_row(x) for x in rows(recs, kind)])
        col = Collator(proc, FrameLoader(n_frames=a.n_frames))
        batch = [ds[i] for i in range(a.batch_size)]
        t = time.perf_counter(); col(batch); first = time.perf_counter() - t
        t = time.perf_counter(); col(batch); cached = time.perf_counter() - t
        timer = StepTimer()
        args = video_trl_config(Cfg, output_dir=str(tmp / kind), per_device_train_batch_size=a.batch_size, max_steps=a.steps + 1,
                                learning_rate=1e-4, logging_steps=10**6, disable_tqdm=True)
        lora = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM") if peft else None
        Trainer(model=model, args=args, train_dataset=ds, processing_class=proc, data_collator=col, peft_config=lora, callbacks=[timer]).train()
        s = sum(timer.times) / len(timer.times)
        print(f"{kind}: {n_params(model):,} params{' + LoRA' if peft else ''}  {s:.3f} s/step  {a.batch_size / s:.1f} examples/s  "
              f"collate first pass {first * 1000:.0f} ms, cached {cached * 1000:.0f} ms per batch")


if __name__ == "__main__":
    main()
