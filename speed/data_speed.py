"""Measure the preference-data pipelines on the built-in world: time per 100 videos, records, skip reasons, and the
reply-cache hit rate of a rerun through an OpenAI-compatible server (a local one answering like the rules backend).

    python speed/data_speed.py [--n-videos 100] [--workers 4] [--figure docs/images/timewarp.png]
"""
import argparse, json, tempfile, time
from pathlib import Path
from timepref.fake_server import FakeChatServer, rules_chat
from timepref.llm import OpenAILLM
from timepref.methods.combine import combine
from timepref.methods.kto import kto_convert
from timepref.methods.timewarp import plot_timewarp, timewarp_explicit
from timepref.pipeline import video_items
from timepref.world import WorldConfig, make_world


def timed(f, *a, **kw):
    t = time.perf_counter(); r = f(*a, **kw)
    return r, time.perf_counter() - t


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-videos", type=int, default=100)
    p.add_argument("--workers", type=int, default=4, help="items in flight for the server backend")
    p.add_argument("--figure", default=None, help="save the pairs / skips figure of the rules run here")
    a = p.parse_args()
    d = Path(tempfile.mkdtemp())
    make_world(d / "world", WorldConfig(n_videos=a.n_videos, seed=0), workers=2, progress=False)
    items = video_items(world=d / "world", split=None)
    per100 = lambda s: round(100 * s / len(items), 2)
    rules, t_rules = timed(timewarp_explicit, items, d / "rules/tw.jsonl", progress=False)
    _, t_rerun = timed(timewarp_explicit, items, d / "rules/tw.jsonl", progress=False)
    if a.figure: plot_timewarp(d / "rules/tw.jsonl", rules, a.figure)
    with FakeChatServer(rules_chat()) as srv:
        gpt = lambda: OpenAILLM("gpt-4o-mini", base_url=srv.base_url, cache=d / "cache.sqlite", max_concurrency=a.workers)
        api, t_api = timed(timewarp_explicit, items, d / "api/tw.jsonl", gpt(), workers=a.workers, progress=False)
        again, t_again = timed(timewarp_explicit, items, d / "api2/tw.jsonl", gpt(), workers=a.workers, progress=False)
    hits = again["llm_stats"].get("cache hits", 0)
    kto, t_kto = timed(kto_convert, d / "rules/tw.jsonl", d / "kto.jsonl", progress=False)
    mix, t_mix = timed(combine, [d / "rules/tw.jsonl"], d / "mix.jsonl")
    print(json.dumps({
        "videos": len(items),
        "timewarp_explicit_rules": {"records": rules["records"], "skips": rules["skips"], "items_skipped": rules["items_skipped"],
                                    "seconds_per_100_videos": per100(t_rules), "rerun_seconds_nothing_to_do": round(t_rerun, 2)},
        "timewarp_explicit_server": {"requests": api["llm_stats"].get("requests"), "seconds_per_100_videos": per100(t_api),
                                     "same_records_as_rules": api["records"] == rules["records"]},
        "rerun_new_output_same_cache": {"cache_hits": hits, "requests": again["llm_stats"].get("requests", 0),
                                        "hit_rate": round(hits / max(1, hits + again["llm_stats"].get("requests", 0)), 4),
                                        "seconds_per_100_videos": per100(t_again)},
        "kto": {"rows": kto["rows"], "seconds": round(t_kto, 2)},
        "combine": {"pairs": mix["pairs"], "seconds": round(t_mix, 2)},
    }, indent=1))


if __name__ == "__main__":
    main()
