"""The README and docs/ stay honest: links resolve, the commands they name exist, the README stays a front
page, and its zoo section is what the cards say."""

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rcm_demo import evaluate, zoo

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"python -m (rcm_demo(?:\.[a-z_]+)+)|python (bench/[a-z_]+\.py)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(m) for m in re.findall(r"(?m)^#+ (.+)$", path.read_text())}


def relative_links(path: Path) -> list[str]:
    return [u for u in LINK.findall(path.read_text()) if not re.match(r"[a-z]+:", u)]


def test_every_relative_link_resolves():
    broken = []
    for doc in DOCS:
        for url in relative_links(doc):
            target, _, anchor = url.partition("#")
            file = (doc.parent / target).resolve() if target else doc
            if not file.exists() or (anchor and file.suffix == ".md" and anchor not in anchors(file)):
                broken.append(f"{doc.relative_to(ROOT)}: {url}")
    assert not broken, broken


def test_the_link_checker_sees_a_broken_link_and_anchor(tmp_path):
    (tmp_path / "a.md").write_text("# Top part\n[ok](a.md#top-part) [bad](missing.md) [bad anchor](a.md#nowhere)\n")
    doc = tmp_path / "a.md"
    assert relative_links(doc) == ["a.md#top-part", "missing.md", "a.md#nowhere"]
    assert "top-part" in anchors(doc) and "nowhere" not in anchors(doc)


def test_every_named_command_answers_help():
    named = sorted({m.group(1) or m.group(2) for doc in DOCS for m in COMMAND.finditer(doc.read_text())})
    assert "rcm_demo.train" in named and "rcm_demo.zoo" in named and any(c.startswith("bench/") for c in named)

    def run(target):
        cmd = [sys.executable, *(["-m", target] if target.startswith("rcm_demo") else [target]), "--help"]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
        return target, out.returncode, out.stdout

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, named))
    failed = [(t, rc) for t, rc, out in results if rc != 0 or "usage" not in out.lower()]
    assert not failed, failed


def test_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text()
    assert len(text) <= 12_000, len(text)
    assert "streamlit run app.py" in text and "python -m pytest" in text
    assert re.search(r"!\[[^\]]+\]\(docs/[^)]+\.png\)", text), "the README shows a screenshot from docs/"


def test_readme_zoo_section_is_what_the_cards_say():
    text = (ROOT / "README.md").read_text()
    assert evaluate.readme_section(text, "zoo") == evaluate.readme_zoo(), (
        "the README's zoo section differs from the cards: run python -m rcm_demo.evaluate --readme"
    )
    assert (ROOT / "docs" / "zoo.md").read_text() == evaluate.zoo_doc(), (
        "docs/zoo.md differs from the cards: run python -m rcm_demo.evaluate --readme"
    )


def test_readme_pooling_rows_are_measured_on_the_zoo_weights():
    rows = evaluate.pooling_rows(evaluate.readme_section((ROOT / "README.md").read_text(), "pooling"))
    cards = {n: zoo.get_checkpoint(n).meta["sha256"][:12] for n in zoo.list_checkpoints()}
    assert {n: r["sha"] for n, r in rows.items()} == cards, (
        "the README's pooling table is not measured on the bundled weights: run python -m rcm_demo.evaluate --readme"
    )


def test_readme_writer_replaces_only_its_sections(tmp_path):
    begin, end = evaluate.MARKS["zoo"]
    p = tmp_path / "R.md"
    p.write_text(f"intro\n{begin}\nstale table\n{end}\n{evaluate.MARKS['pooling'][0]}\nkept\n"
                 f"{evaluate.MARKS['pooling'][1]}\noutro\n")  # fmt: skip
    evaluate.write_readme(p, doc=tmp_path / "zoo.md")
    text = p.read_text()
    assert "stale table" not in text and "kept" in text and text.startswith("intro") and text.endswith("outro\n")
    assert evaluate.readme_section(text, "zoo") == evaluate.readme_zoo()
    assert (tmp_path / "zoo.md").read_text() == evaluate.zoo_doc()
    with pytest.raises(ValueError, match="markers"):
        evaluate.readme_section("no markers here", "zoo")
