"The base model's text pretraining, run from the package (not the notebook's namespace)."
import random
import torch
from timepref.base import BaseConfig, list_example, pretrain_lm
from timepref.models import build_tiny

POOL = [["A red circle grows.", "A blue square spins.", "A green cross falls.", "A white ring appears."],
        ["A cyan diamond shrinks.", "A pink star moves up."]]

def test_every_kind_of_list_question():
    kinds = ("right after", "right before", "earlier", "later", "Is this true", "happen in the video")
    seen = {k for s in range(200) for k in kinds if k in list_example(POOL, random.Random(s))[0].split("\n")[-1]}
    assert seen == set(kinds), seen

def _pretrained(seed):
    model, proc = build_tiny("qwen2vl", "tiny", seed=0)
    cfg = BaseConfig(size="tiny", copy_steps=2, list_steps=6, pretrain_batch=4, seed=seed)
    rep = pretrain_lm(model, proc, POOL, cfg)
    return rep, {k: v.clone() for k, v in model.state_dict().items()}

def test_pretraining_is_deterministic_and_moves_the_language_model():
    torch.set_num_threads(1)
    (rep, a), (_, b), (_, c) = _pretrained(0), _pretrained(0), _pretrained(1)
    assert {k: len(v) for k, v in rep["loss_per_50_steps"].items()} == {"copy": 1, "lists": 1}
    assert all(torch.equal(a[k], b[k]) for k in a)                        # same seed, same weights
    assert any(not torch.equal(a[k], c[k]) for k in a)                    # another seed draws other data
    fresh = build_tiny("qwen2vl", "tiny", seed=0)[0].state_dict()
    assert any(not torch.equal(a[k], fresh[k]) for k in a if "visual" not in k)
    assert all(torch.equal(a[k], fresh[k]) for k in a if "visual" in k)  # no video: the vision tower is untouched
