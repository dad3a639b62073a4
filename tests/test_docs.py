"""The README and docs/ stay honest: links resolve, the commands they name exist, the README stays a front
page, and its zoo section is what the cards say."""

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rcm_demo import zoo
from rcm_demo.training import report

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
    assert report.readme_section(text, "zoo") == report.readme_zoo(), (
        "the README's zoo section differs from the cards: run python -m rcm_demo.evaluate --readme"
    )
    assert (ROOT / "docs" / "zoo.md").read_text() == report.zoo_doc(), (
        "docs/zoo.md differs from the cards: run python -m rcm_demo.evaluate --readme"
    )
    rows = report.comparison_rows()
    assert (ROOT / "docs" / "claim.svg").read_text() == report.claim_figure(rows), (
        "docs/claim.svg differs from the cards: run python -m rcm_demo.evaluate --readme"
    )
    assert "(docs/claim.svg)" in text and report.headline(rows)[0] in text  # the answer first, generated


def test_pooling_rows_are_measured_on_the_zoo_weights_and_the_readme_has_their_medians():
    table = report.readme_section((ROOT / "docs" / "pooling.md").read_text(), "pooling")
    rows = report.pooling_rows(table)
    cards = {n: zoo.get_checkpoint(n).meta["sha256"][:12] for n in zoo.list_checkpoints()}
    assert {n: r["sha"] for n, r in rows.items()} == cards, (
        "docs/pooling.md is not measured on the bundled weights: run python -m rcm_demo.evaluate --readme"
    )
    readme = report.readme_section((ROOT / "README.md").read_text(), "pooling_medians")
    assert readme == report.pooling_medians(table), "run python -m rcm_demo.evaluate --readme"


def test_pooling_medians_summarise_the_table_per_map_size():
    table = "\n".join(
        f"| m{i} | {hw} | {a:.3f} | {b:.3f} | {m:.3f} | 10% | `{i:012d}` |"
        for i, (hw, a, b, m) in enumerate(
            [("4×4", 0.12, 0.25, 0.5), ("4×4", 0.13, 0.25, 0.6), ("4×4", 0.20, 0.25, 0.7), ("8×8", 0.05, 0.125, 0.3)]
        )
    )
    text = report.pooling_medians(report.POOLING_HEAD + "\n" + table)
    assert "| 4×4 | 3 | 0.130 | 0.250 | 0.600 |" in text and "| 8×8 | 1 | 0.050 | 0.125 | 0.300 |" in text
    assert text.index("| 4×4 |") < text.index("| 8×8 |") and "Over the 4 checkpoints of [docs/pooling.md]" in text


def test_readme_writer_replaces_only_its_sections(tmp_path):
    begin, end = report.MARKS["zoo"]
    mb, me = report.MARKS["pooling_medians"]
    p, pool = tmp_path / "R.md", tmp_path / "pooling.md"
    p.write_text(f"intro\n{begin}\nstale table\n{end}\n{mb}\nkept\n{me}\noutro\n")
    report.write_readme(p, doc=tmp_path / "zoo.md", pooling_path=pool, claim=tmp_path / "c.svg")  # no pooling table
    text = p.read_text()
    assert "stale table" not in text and "kept" in text and text.startswith("intro") and text.endswith("outro\n")
    assert report.readme_section(text, "zoo") == report.readme_zoo()
    assert (tmp_path / "zoo.md").read_text() == report.zoo_doc()
    row = "| m | 4×4 | 0.125 | 0.250 | 0.500 | 10% | `000000000000` |"
    pool.write_text(report.pooling_doc(report.POOLING_HEAD + "\n" + row))
    report.write_readme(p, doc=tmp_path / "zoo.md", pooling_path=pool, claim=tmp_path / "c.svg")
    assert (
        (tmp_path / "c.svg").read_text().startswith("<svg")
        and "kept" not in p.read_text()
        and "| 4×4 | 1 | 0.125 | 0.250 | 0.500 |" in p.read_text()
    )
    with pytest.raises(ValueError, match="markers"):
        report.readme_section("no markers here", "zoo")
