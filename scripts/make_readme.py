"""Write README.md from nbs/index.ipynb, the way nbdev's `readme_nb` intends (Quarto, which nbdev uses for this,
cannot be installed offline): the notebook is executed, its visible cells become Markdown, text outputs become code
blocks and figures PNG files under docs/images/, and links relative to nbs/ are made relative to the repository.

    python scripts/make_readme.py           # write README.md (and its figures)
    python scripts/make_readme.py --check   # exit 1, with a diff, if README.md is not what the notebook gives
"""
from __future__ import annotations
import argparse, base64, difflib, os, re, sys, tempfile
from pathlib import Path
from fastcore.nbio import read_nb
from execnb.shell import CaptureShell

ROOT = Path(__file__).resolve().parents[1]
NB, README, IMAGES = ROOT / "nbs" / "index.ipynb", ROOT / "README.md", Path("docs") / "images"
HEADER = "<!-- generated from nbs/index.ipynb by scripts/make_readme.py: edit the notebook, then run `make readme` -->\n\n"

def _link(m: re.Match) -> str:
    "A Markdown link target relative to nbs/, rewritten relative to the repository root."
    text, target = m.group(1), m.group(2)
    if re.match(r"^([a-z]+:|#|/)", target): return m.group(0)
    path, _, anchor = target.partition("#")
    rel = os.path.relpath(os.path.normpath(ROOT / "nbs" / path), ROOT)
    return f"[{text}]({rel}{'#' + anchor if anchor else ''})"

def _markdown(src: str) -> str: return re.sub(r"\[([^\]]*)\]\(([^)\s]+)\)", _link, src)

def _code(src: str) -> str: return "\n".join(l for l in src.splitlines() if not l.startswith("#|")).strip()

def _text(x) -> str: return x if isinstance(x, str) else "".join(x)

def _outputs(outputs: list, images: Path, k: int) -> list[str]:
    "Markdown for a cell's outputs: text in a fenced block, each PNG written to `images` and linked."
    parts, n = [], 0
    for o in outputs:
        data = o.get("data", {})
        if o["output_type"] == "stream": text = _text(o["text"])
        elif "image/png" in data:
            name = f"readme-{k}{'-' + str(n) if n else ''}.png"; n += 1
            (images / name).write_bytes(base64.b64decode(_text(data["image/png"])))
            parts.append(f"![]({(IMAGES / name).as_posix()})"); continue
        elif "text/plain" in data: text = _text(data["text/plain"])
        elif o["output_type"] == "error": raise RuntimeError(f"{NB}: cell {k} failed: {o.get('ename')}: {o.get('evalue')}")
        else: continue
        if text.strip() and not re.fullmatch(r"<Figure size .*>", text.strip()): parts.append(f"```\n{text.rstrip()}\n```")
    return parts

def render(images: Path) -> str:
    "Execute the index notebook (in nbs/) and return the README's text; figures go to `images`."
    nb = read_nb(NB)
    cwd = os.getcwd(); os.chdir(NB.parent)
    try: CaptureShell().run_all(nb, exc_stop=True)
    finally: os.chdir(cwd)
    parts = []
    for k, c in enumerate(nb.cells):
        if c.cell_type == "markdown": parts.append(_markdown(c.source).strip())
        elif c.cell_type == "code" and not re.search(r"^#\|\s*hide", c.source, re.M):
            parts.append(f"```python\n{_code(c.source)}\n```")
            parts += _outputs(c.get("outputs", []), images, k)
    return HEADER + "\n\n".join(p for p in parts if p) + "\n"

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="compare with README.md instead of writing it")
    a = p.parse_args(argv)
    if not a.check:
        (ROOT / IMAGES).mkdir(parents=True, exist_ok=True)
        README.write_text(render(ROOT / IMAGES)); print(f"wrote {README.relative_to(ROOT)}"); return 0
    with tempfile.TemporaryDirectory() as d: text = render(Path(d))
    if text == README.read_text(): print("README.md is up to date with nbs/index.ipynb"); return 0
    sys.stdout.writelines(difflib.unified_diff(README.read_text().splitlines(True), text.splitlines(True), "README.md", "from nbs/index.ipynb"))
    print("FAIL: README.md is not what nbs/index.ipynb gives; run `make readme` and commit it"); return 1

if __name__ == "__main__": sys.exit(main())
