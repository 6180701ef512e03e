"""`parse_answer` against lmms-eval 0.7.3's own task code: every tricky reply, every benchmark, the same option.

lmms-eval's functions are run as lmms-eval runs them (`process_results` on a minimal document, Vinoground's
aggregation), once per option as the ground truth; the option rated correct is the one the reply picks. A reply that
would reach a GPT judge (TempCompass, VITATECS) or lmms-eval's random guess (NExT-QA) is caught before any network
call or draw and must give `None`."""
import importlib, os, tempfile
import pytest

pytest.importorskip("lmms_eval")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp())   # TempCompass's and VITATECS's utils read it at import

from timepref.benchmarks import parse_answer

OPTS4 = ["the cat jumps", "a dog runs", "the car stops", "nothing happens"]
OPTS5 = OPTS4 + ["he waves"]

REPLIES = [
    "B", "b", "(b)", "(B)", "A", "a", "C.", "D", "E", "(E)", "B.", "A)", "[C]", " B", "B\n", "b) a dog runs",
    "Answer: c", "Answer: C", "**Answer:** B", "**Answer:** B) a dog runs", "Answer: B) the cat jumps",
    "Answer: Because the cat jumps", "The answer is B.", "the answer is b", "The correct option is (D).",
    "I choose A.", "B) foo", "A. text", "A. the cat jumps", "B. a dog runs", "B: a dog runs", "(A) the cat jumps",
    "It's DNA.", "shows a CAT", "yes", "Yes.", "No, it is not", "no", "Nope", "Not sure", "yes, B", "B. yes",
    "", "   ", "\n",
    "Between A and B, I think the answer is B", "A is wrong, B is wrong, so C", "I'd say (A) but maybe (C)",
    "I think B", "Option B", "Caption A: the cat jumps", "Caption B", "Caption A", "Sentence B",
    "the cat jumps", "the cat jumps.", "a dog runs", "The dog runs.", "A dog runs",
    "In the video, a dog runs and then the car stops.", "Honestly I believe that the car stops right there",
    "I am fairly sure that a dog runs in it", "None of the above", "a cat jumps high", "the cat jumps high",
    "A.B.", "ｂ", "Б", "À la fin, B", "Ça dépend: c'est B.", "选B", "答案是C", "Ⓐ", "ß", "İ", "k",
]

BENCHMARKS = {   # parser -> (lmms-eval task module, option sets)
    "videomme": ("videomme", [OPTS4]),
    "mlvu": ("mlvu", [OPTS4]),
    "vinoground": ("vinoground", [OPTS4[:2]]),
    "tempcompass_mc": ("tempcompass", [OPTS4, OPTS4[:3]]),
    "tempcompass_yes_no": ("tempcompass", [["yes", "no"]]),
    "tempcompass_caption_matching": ("tempcompass", [OPTS4[:2], OPTS4[:3]]),
    "tvbench": ("tvbench", [OPTS4, OPTS4[:2]]),
    "perceptiontest": ("perceptiontest.val", [OPTS4[:3]]),
    "nextqa": ("nextqa", [OPTS5]),
    "cinepile": ("cinepile", [OPTS5]),
    "longvideobench": ("longvideobench", [OPTS5, OPTS4[:3]]),
    # lmms-eval orders the pair itself (a seeded shuffle): these pairs show the true caption first, second, and
    # one caption inside the other
    "vitatecs": ("vitatecs", [["the cat jumps", "the car stops"], ["the cat jumps", "a dog runs"],
                              ["the cat jumps", "the cat jumps high"]]),
}


class NoRule(Exception):
    "lmms-eval's rules gave up: it would ask a GPT judge or guess at random."


def _task(module:str):
    try: return importlib.import_module(f"lmms_eval.tasks.{module}.utils")
    except ImportError as e: pytest.skip(f"lmms_eval.tasks.{module}.utils cannot be imported here: {e}")


@pytest.fixture
def no_judge(monkeypatch):
    "Every path to a GPT judge or a random guess raises `NoRule` instead."
    def patch(u):
        def judge(*a, **k): raise NoRule
        if hasattr(u, "get_eval_result"): monkeypatch.setattr(u, "get_eval_result", judge)
        if hasattr(u, "requests"): monkeypatch.setattr(u.requests, "post", judge)
        if u.__name__.endswith(("nextqa.utils", "longvideobench.utils")):
            monkeypatch.setattr(u, "random", type("NoRandom", (), {"choice": staticmethod(judge)}))
        return u
    return patch


def _picked(correct, n:int):
    "The option `correct(i)` rates right when option i is the truth; None for none, or when lmms-eval gives up."
    try: hits = [i for i in range(n) if correct(i)]
    except NoRule: return None
    assert len(hits) <= 1, f"several options rated correct: {hits}"
    return hits[0] if hits else None


L = "ABCDEFGH"


def lmms_videomme(u, reply, opts):
    doc = lambda i: {"answer": L[i], "domain": "Knowledge", "sub_category": "Law", "task_type": "Counting Problem",
                     "question_id": "q", "duration": "short", "videoID": "v"}
    return _picked(lambda i: u.videomme_process_results(doc(i), [reply])["videomme_perception_score"]["score"] == 1,
                   len(opts))


def lmms_mlvu(u, reply, opts):
    "Scored in the aggregation (the mean over its task types): above 0 when this one document is right."
    def correct(i):
        d = u.mlvu_process_results({"question": "q", "task_type": "order", "answer": L[i]}, [reply])
        return u.mlvu_aggregate_results_dev([d["mlvu_percetion_score"]]) > 0
    return _picked(correct, len(opts))


def lmms_vinoground(u, reply, opts, monkeypatch):
    "Scored in the aggregation, over all 500 pairs: each pair gets this reply for both of its text questions."
    results = [u.vinoground_process_results({"major": "action", "minor": None, "index": f"{k}_{s}_text"}, [reply])
               ["vinoground_score"] for k in range(500) for s in ("pos", "neg")]
    def correct(i):
        gt = {f"{k}_{s}": {"GT": L[i]} for k in range(500) for s in ("pos", "neg")}
        monkeypatch.setattr(u, "prep_data", lambda: (gt, {}))
        try: return u.vinoground_aggregate_results(results)[0] == 100
        except IndexError: raise NoRule   # an empty reply: lmms-eval crashes (pred[0])
    return _picked(correct, len(opts))


def lmms_tempcompass_mc(u, reply, opts):
    q = "What happens?\n" + "\n".join(f"{L[i]}. {o}" for i, o in enumerate(opts))
    doc = lambda i: {"question": q, "answer": f"{L[i]}. {opts[i]}", "video_id": "v", "dim": "action"}
    return _picked(lambda i: u.tempcompass_process_results_multi_choice(doc(i), [reply])["avg_accuracy"]["rating"] == 1,
                   len(opts))


def lmms_tempcompass_yes_no(u, reply, opts):
    doc = lambda i: {"question": "Is it?", "answer": opts[i], "video_id": "v", "dim": "action"}
    return _picked(lambda i: u.tempcompass_process_results_yes_no(doc(i), [reply])["avg_accuracy"]["rating"] == 1,
                   len(opts))


def lmms_tempcompass_caption_matching(u, reply, opts):
    lines = [f"Caption {L[i]}: {o}" for i, o in enumerate(opts)]
    doc = lambda i: {"question": "Which caption matches the video?\n" + "\n".join(lines), "answer": lines[i],
                     "video_id": "v", "dim": "action"}
    rated = lambda i: u.tempcompass_process_results_caption_matching(doc(i), [reply])["avg_accuracy"]["rating"]
    return _picked(lambda i: rated(i) == 1, len(opts))


def lmms_tvbench(u, reply, opts):
    return _picked(lambda i: u.tvbench_process_results({"candidates": opts, "answer": opts[i]}, [reply])
                   ["tvbench_acc"] == 1.0, len(opts))


def lmms_perceptiontest(u, reply, opts):
    doc = lambda i: {"video_name": "v", "question": "q", "options": opts, "answer_id": i}
    return _picked(lambda i: u.perceptiontest_val_process_results_mc(doc(i), [reply])["accuracy"]["correct"] == 1,
                   len(opts))


def lmms_nextqa(u, reply, opts):
    doc = lambda i: {**{f"a{k}": o for k, o in enumerate(opts)}, "answer": i, "question": "q"}
    return _picked(lambda i: u.nextqa_mc_process_results(doc(i), [reply])["exact_match"], len(opts))


def lmms_cinepile(u, reply, opts):
    doc = lambda i: {"question": "q", "choices": opts, "answer_key_position": i, "answer_key": opts[i],
                     "question_category": "Temporal", "hard_split": "False"}
    return _picked(lambda i: u.cinepile_process_results(doc(i), [reply])["cinepile_accuracy"]["correct"] == 1,
                   len(opts))


def lmms_longvideobench(u, reply, opts):
    doc = lambda i: {**{f"option{k}": opts[k] if k < len(opts) else "N/A" for k in range(5)}, "correct_choice": i,
                     "id": "q", "duration_group": 600, "question_category": "E2O"}
    def correct(i):
        r = u.longvideobench_process_results(doc(i), [reply])["lvb_acc"]
        return r["parsed_pred"] == r["answer"]
    return _picked(correct, len(opts))


def lmms_vitatecs(u, reply, opts):
    "The document whose own A/B order is `opts`; rating 1 picks its caption, 0 the other (its rules are binary)."
    docs = [{"caption": opts[t], "counterfactual": opts[1 - t], "src_dataset": "x", "video_name": "v",
             "aspect": "Direction"} for t in (0, 1)]
    t = next(t for t in (0, 1) if u.format_question_and_answer(docs[t])[1].startswith("(A)") == (t == 0))
    try: rating = u.vitatecs_process_results(docs[t], [reply])["accuracy"]["rating"]
    except NoRule: return None
    return t if rating == 1 else 1 - t


def vitatecs_truth(u, opts) -> int:
    docs = [{"caption": opts[t], "counterfactual": opts[1 - t]} for t in (0, 1)]
    return next(t for t in (0, 1) if u.format_question_and_answer(docs[t])[1].startswith("(A)") == (t == 0))


def test_enough_cases():
    assert len(REPLIES) >= 40 and len(set(REPLIES)) == len(REPLIES)
    assert {"videomme", "mlvu", "vinoground", "tempcompass_mc", "tempcompass_yes_no", "tempcompass_caption_matching",
            "tvbench", "perceptiontest", "nextqa", "cinepile", "vitatecs", "longvideobench"} <= set(BENCHMARKS)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")   # Vinoground's int8 per-category tally
@pytest.mark.parametrize("parser", list(BENCHMARKS))
def test_parity_with_lmms_eval(parser, no_judge, monkeypatch):
    module, option_sets = BENCHMARKS[parser]
    u = no_judge(_task(module))
    if parser == "vitatecs": assert {vitatecs_truth(u, o) for o in option_sets} == {0, 1}   # both orders covered
    theirs = globals()[f"lmms_{parser}"]
    extra = (monkeypatch,) if parser == "vinoground" else ()
    wrong = []
    for opts in option_sets:
        for r in REPLIES:
            want, got = theirs(u, r, opts, *extra), parse_answer(parser, r, opts)
            if want != got: wrong.append(f"{r!r} with {len(opts)} options: lmms-eval {want}, parse_answer {got}")
    assert not wrong, f"{parser}: {len(wrong)} of {len(REPLIES) * len(option_sets)} differ:\n" + "\n".join(wrong)


def test_loader_names_reach_the_same_rules():
    "The names `LOADERS` and `MCQItem.benchmark` use read replies with the matching parser."
    for name, parser in [("tempcompass", "tempcompass_mc"), ("tempcompass-multi-choice", "tempcompass_mc"),
                         ("tempcompass-yes_no", "tempcompass_yes_no"), ("perception_test", "perceptiontest"),
                         ("tempcompass-caption_matching", "tempcompass_caption_matching"),
                         ("videomme-subtitles", "videomme")]:
        opts = ["yes", "no"] if "yes_no" in name else OPTS4
        assert [parse_answer(name, r, opts) for r in REPLIES] == [parse_answer(parser, r, opts) for r in REPLIES]


def test_videomme_subtitles_as_lmms_eval(tmp_path, monkeypatch):
    """The subtitles block `load_videomme(..., subtitles=)` writes holds the cues lmms-eval's `videomme_w_subtitle`
    writes, for the same video, SRT file and frame count (cues that start or end between sampled frames included)."""
    import numpy as np
    from timepref.benchmarks import SUBTITLE_HEAD, subtitle_prompt
    from timepref.video import write_mp4
    u = _task("videomme")
    root = tmp_path / "videomme"; (root / "data").mkdir(parents=True); (root / "subtitle").mkdir()
    write_mp4(np.zeros((250, 16, 16, 3), np.uint8), root / "data" / "v1.mp4", fps=25)          # 10 s, 250 frames
    font = '<font color="white" size=".72c">{}</font>'
    times = [(0.0, 0.3), (0.3, 1.9), (2.0, 2.05), (2.1, 4.0), (4.38, 4.42), (5.0, 7.5), (7.6, 9.9), (9.9, 10.0)]
    t = lambda s: f"00:00:{s:06.3f}".replace(".", ",")
    srt = "\n\n".join(f"{k + 1}\n{t(a)} --> {t(b)}\n{font.format(f'line {k}')}" for k, (a, b) in enumerate(times))
    (root / "subtitle" / "v1.srt").write_text(srt + "\n")
    monkeypatch.setattr(u, "base_cache_dir", str(tmp_path)); monkeypatch.setattr(u, "cache_name", "videomme")
    doc = {"videoID": "v1", "question": "q?", "options": ["A. a", "B. b"]}
    seen = set()
    for n in (4, 8, 32):
        theirs = u.videomme_doc_to_text_subtitle(doc, {"frame_num": n})
        head, rest = theirs.split("\n", 1)
        lines = rest.split("\nSelect the best answer")[0]
        ours = subtitle_prompt(root / "subtitle" / "v1.srt", root / "data" / "v1.mp4", n)
        assert head + "\n" == SUBTITLE_HEAD and ours == SUBTITLE_HEAD + lines + "\n", (n, theirs, ours)
        seen.add(lines)
    assert len(seen) == 2 and all(0 < len(s.split("\n")) < len(times) for s in seen)   # frame counts that differ
