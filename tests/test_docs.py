"""The README and the documentation pages run as written, the gallery lists every committed figure, and
nothing in the repository refers to files outside it.

Snippet rules (read by this runner from the Markdown):

- every ```python block runs; the blocks of one page run in order in one namespace, in a fresh temporary
  working directory (with a copy of ``examples/``);
- in ```bash blocks, every line that starts with ``statmech `` runs as a subprocess in that directory
  (other lines, such as ``pip install`` and ``python3 -m pytest``, are skipped);
- ``<!-- slow -->`` right before a block: it runs only under ``-m slow``;
- ``<!-- parse-only ... -->`` right before a block: its ``statmech`` lines take minutes to hours, so they
  are only parsed by the command's own argument parser (an unknown or renamed option fails);
- ``<!-- file: NAME -->`` right before a block: the block is written to NAME in the working directory;
- ``<!-- exit: N -->`` right before a bash block: its commands are expected to exit with N (e.g. 1 for
  ``statmech verify`` finding a counterexample).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATED = ("_build", "notebooks", "generated")

BLOCK = re.compile(
    r"(?:<!--\s*(?P<mark>[^>]*?)\s*-->\s*\n)?```(?P<lang>[A-Za-z0-9_+-]*)[^\n]*\n(?P<body>.*?)^```\s*$", re.S | re.M
)


def _pages() -> list[Path]:
    pages = [ROOT / "README.md"]
    for p in sorted(DOCS.rglob("*.md")):
        if not any(part in GENERATED for part in p.relative_to(DOCS).parts):
            pages.append(p)
    return pages


def _blocks(page: Path) -> list[dict]:
    out = []
    for m in BLOCK.finditer(page.read_text()):
        out.append({"lang": m["lang"], "body": m["body"], "mark": (m["mark"] or "").strip()})
    return out


def _commands(body: str) -> list[str]:
    """The ``statmech`` lines of a bash block (backslash continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", body)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("statmech ")]


def _runnable(page: Path) -> bool:
    return any(b["lang"] == "python" or (b["lang"] == "bash" and _commands(b["body"])) for b in _blocks(page))


PAGES = [p for p in _pages() if _runnable(p)]


def _parse_only(cmd: str) -> None:
    from statmech.cli import build_parser

    argv = shlex.split(cmd)[1:]
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"documented command does not parse: {cmd}") from exc


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_snippets_run(page: Path, tmp_path, request, monkeypatch):
    slow_selected = "slow" in (request.config.getoption("-m") or "") and "not slow" not in request.config.getoption(
        "-m"
    )
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(_blocks(page)):
        mark, lang, body = block["mark"], block["lang"], block["body"]
        where = f"{page.relative_to(ROOT)} block {i + 1}"
        if mark.startswith("file:"):
            (tmp_path / mark.split(":", 1)[1].strip()).write_text(body)
            continue
        if mark.startswith("slow") and not slow_selected:
            continue
        if lang == "python":
            exec(compile(body, where, "exec"), namespace)
        elif lang == "bash":
            for cmd in _commands(body):
                if mark.startswith("parse-only"):
                    _parse_only(cmd)
                    continue
                argv = [sys.executable, "-m", "statmech.cli", *shlex.split(cmd)[1:]]
                res = subprocess.run(
                    argv,
                    cwd=tmp_path,
                    env={**env, "PYTHONPATH": str(tmp_path)},
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
                expected = int(mark.split(":", 1)[1]) if mark.startswith("exit:") else 0
                assert res.returncode == expected, (
                    f"{where}: `{cmd}` exited {res.returncode}, expected {expected}:\n{res.stderr[-2000:]}"
                )


def test_parse_only_blocks_parse():
    """Commands only parsed in the snippet runs (minutes to hours each) still match the current CLI."""
    n = 0
    for page in _pages():
        for b in _blocks(page):
            if b["lang"] == "bash" and b["mark"].startswith("parse-only"):
                for cmd in _commands(b["body"]):
                    _parse_only(cmd)
                    n += 1
    assert n >= 10


def test_an_unknown_option_fails_to_parse():
    """The parse-only check can fail: a renamed option is caught."""
    with pytest.raises(AssertionError, match="does not parse"):
        _parse_only("statmech reproduce --no-such-option --out figures")


def test_gallery_lists_every_committed_figure():
    text = (DOCS / "gallery.md").read_text()
    listed = set(re.findall(r"\{download\}`[^<`]*<\.\./figures/([^>]+)>`", text))
    listed |= set(re.findall(r"```\{image\} \.\./figures/(\S+)", text))
    files = {
        p.relative_to(ROOT / "figures").as_posix()
        for p in (ROOT / "figures").rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(ROOT / "figures").parts)
    }
    assert files, "no committed figures found"
    assert files - listed == set(), f"figures not in the gallery: {sorted(files - listed)}"
    assert listed - files == set(), f"gallery lists missing files: {sorted(listed - files)}"


def test_readme_is_short_and_its_images_exist():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 160
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "figures/F1.png" in images
    assert len(images) >= 2
    for img in images:
        assert (ROOT / img).is_file(), img
    for link in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (ROOT / link).exists(), link


EXTERNAL = re.compile(r"\b(theory|paper|design|baselines)\.md\b")


def test_no_reference_to_files_outside_the_repository():
    """The repository stands alone: no file names the project's external brief (its four Markdown files)."""
    own_docs = {p.name for p in DOCS.rglob("*.md")}
    bad = []
    for top in ("statmech", "notebooks", "benchmarks", "tests", "docs", "examples"):
        for p in (ROOT / top).rglob("*"):
            if not p.is_file() or p.suffix not in {".py", ".md", ".ipynb", ".toml", ".txt", ".json"}:
                continue
            if any(part in GENERATED for part in p.parts) or p == Path(__file__).resolve():
                continue
            for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
                for m in EXTERNAL.finditer(line):
                    # a docs page of the same name is ours when the line names its docs/ path
                    if m.group(0) in own_docs and "docs/" in line:
                        continue
                    bad.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    for f in ("README.md", "CHANGELOG.md", "CITATION.cff"):
        for n, line in enumerate((ROOT / f).read_text().splitlines(), 1):
            if EXTERNAL.search(line) or "shared/spec" in line:
                bad.append(f"{f}:{n}: {line.strip()[:120]}")
    assert not bad, "references to files outside the repository:\n" + "\n".join(bad[:50])


def test_every_shell_block_is_one_the_runner_runs():
    """Shell snippets are ```bash (run or parsed); a ```console/```sh/```shell block would go unchecked."""
    unchecked = [
        f"{page.relative_to(ROOT)}: ```{b['lang']}"
        for page in _pages()
        for b in _blocks(page)
        if b["lang"] in ("console", "sh", "shell", "zsh", "shell-session")
    ]
    assert not unchecked, unchecked
