"""The architecture's rules, checked: the library never imports Streamlit (except the ui package), the package
has no import cycles, and pages hold no torch code."""

import ast
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "rcm_demo"


def test_library_never_imports_streamlit():
    # Every module of the package but the ui/ package (viz/ and its submodules included); a __main__ module
    # is a CLI run, not an import, and its imports are checked below.
    modules = sorted(
        m
        for m in (_node(p) for p in PKG.rglob("*.py"))
        if m and not m.startswith("ui") and "__main__" not in m and (m not in OPTIONAL or find_spec("ray"))
    )
    code = (
        "import sys\n"
        + "".join(f"import rcm_demo.{m}\n" for m in modules)
        + "assert 'streamlit' not in sys.modules, sorted(m for m in sys.modules if m.startswith('streamlit'))\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


OPTIONAL = {"serve.ray_app"}  # needs ray[serve], an optional extra (requirements-serve.txt)


def test_the_default_app_path_never_imports_ray():
    """Every module but the Ray Serve application, the pages' ui package and the app's backend chooser
    included, imports without Ray: ``streamlit run app.py`` needs nothing else."""
    modules = sorted(
        m for m in (_node(p) for p in PKG.rglob("*.py")) if m and m not in OPTIONAL and "__main__" not in m
    )
    code = (
        "import sys\n"
        + "".join(f"import rcm_demo.{m}\n" for m in modules)
        + "from rcm_demo.serve import backend\n"
        + "assert backend.describe('cpu') == \"this server's in-process model worker\"\n"
        + "assert not any(m == 'ray' or m.startswith('ray.') for m in sys.modules), 'ray imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RCM_BACKEND", "RCM_RAY_ADDRESS")}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=env)


def streamlit_imports(source: str) -> list[int]:
    """Line numbers of every import of Streamlit in ``source``, top level or inside a function."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom) and not node.level
            else []
        )
        if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
            lines.append(node.lineno)
    return lines


def test_no_module_outside_ui_imports_streamlit_even_lazily():
    found = {
        str(p.relative_to(ROOT)): lines
        for p in PKG.rglob("*.py")
        if not _node(p).startswith("ui") and (lines := streamlit_imports(p.read_text()))
    }
    assert found == {}, f"Streamlit imported outside rcm_demo/ui/: {found}"


def test_the_streamlit_import_finder_sees_local_imports():
    src = "import os\ndef f():\n    from streamlit.proto.BackMsg_pb2 import BackMsg\n    import streamlit as st\n"
    assert streamlit_imports(src) == [3, 4]
    assert streamlit_imports("from .ui import frame\nimport streamlit_extras_not_ours\n") == []


def _node(path: Path) -> str:
    """'zoo' for rcm_demo/zoo.py, 'ui.cache' for rcm_demo/ui/cache.py."""
    rel = path.relative_to(PKG).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__")


NODES = {_node(p) for p in PKG.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Package modules imported anywhere in the file (top level or inside functions)."""
    here = _node(path).split(".")[:-1] if path.name != "__init__.py" else _node(path).split(".")
    here = [] if here == [""] else here
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out.update(_targets(mod, node.names))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rcm_demo":
            out.update(_targets(".".join(node.module.split(".")[1:]), node.names))
    return {m for m in out if m in NODES}


def _targets(mod: str, names) -> set[str]:
    """``from mod import a, b``: the submodules a, b where they are modules, else ``mod`` itself."""
    subs = {f"{mod}.{a.name}".lstrip(".") for a in names}
    return (subs & NODES) | ({mod} if subs - NODES else set())


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(m, path):
        if state.get(m) == 1:
            return path + [m]
        if state.get(m) == 2:
            return None
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if (found := visit(n, path + [m])) is not None:
                return found
        state[m] = 2
        return None

    for m in sorted(graph):
        if (found := visit(m, [])) is not None:
            return found
    return None


def test_no_import_cycles():
    graph = {_node(p): _imports(p) - {_node(p)} for p in PKG.rglob("*.py")}
    assert graph["training.report"] >= {
        "zoo",
        "analysis.sweeps",
    }  # the parser sees the package's imports, local ones too
    assert graph["ui.widgets"] >= {"ui.cache", "analysis.lab", "attacks"}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


# The rooms of the package, lowest first (docs/library.md draws the same map). A module may import its own
# room and any room on a lower layer; never a room on its own layer or above.
LAYERS = (
    {"__init__", "limits", "data", "progress", "hardware"},  # shared leaves and rcm_demo/__init__.py
    {"models"},
    {"zoo", "attacks"},
    {"analysis"},
    {"viz"},
    {"training", "serve"},
    {"ui"},
    {"train", "evaluate", "build_zoo", "modelproc"},  # the commands users type: python -m rcm_demo.<name>
)


def room(node: str) -> str:
    return node.split(".")[0]


def layer(node: str) -> int:
    return next(i for i, rooms in enumerate(LAYERS) if room(node) in rooms)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """'a -> b' for every import that leaves its own room for a room on the same layer or above."""
    return sorted(
        f"{m} -> {t}" for m, targets in graph.items() for t in targets if room(t) != room(m) and layer(t) >= layer(m)
    )


def test_every_module_has_a_room():
    assert {room(n) for n in NODES} <= set().union(*LAYERS), {room(n) for n in NODES} - set().union(*LAYERS)


def test_imports_run_down_the_layers_only():
    graph = {_node(p): _imports(p) - {_node(p)} for p in PKG.rglob("*.py")}
    assert upward_imports(graph) == []


def test_the_layer_check_catches_an_import_that_runs_back_up():
    assert upward_imports({"zoo.tables": {"analysis.metrics"}}) == ["zoo.tables -> analysis.metrics"]
    assert upward_imports({"zoo.checkpoints": {"attacks.pgd"}}) == ["zoo.checkpoints -> attacks.pgd"]  # same layer
    assert upward_imports({"analysis.lab": {"zoo.checkpoints", "attacks", "limits", "analysis.probe"}}) == []


def test_modules_stay_under_the_split_point():
    long = {str(p.relative_to(ROOT)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}, f"past the design guide's 400-line split point: {long}"


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_pages_hold_no_torch_code():
    for page in [ROOT / "app.py", *(ROOT / "pages").glob("*.py")]:
        tree = ast.parse(page.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "torch" not in names and not any((m or "").startswith("torch") for m in mods), page.name
        assert len(page.read_text().splitlines()) <= 120, f"{page.name} is longer than 120 lines"
