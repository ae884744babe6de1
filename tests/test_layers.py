"""The imports of qa/ run one way: down the layers of docs/architecture.md, never up.

Read from the source with ast (every import, those inside functions too), so a module that
reaches up a layer fails here before anyone has to untangle it.
"""

import ast
from pathlib import Path

import pytest

QA = Path(__file__).resolve().parent.parent / "qa"

# Lowest first. A module may import modules of its own layer or of a lower one.
LAYERS = [
    (
        "base",
        {
            "errors",
            "types",
            "present",
            "settings",
            "limits",
            "lexical",
            "layered",
            "stored",
            "text",
            "quotes",
            "questions",
            "squad",
            "article_questions",
        },
    ),
    (
        "parts",
        {"stores", "snapshot", "storage", "chunking", "documents", "embeddings", "reader", "llm"},
    ),
    ("stages", {"retrieval", "reading", "answer", "overview", "verify", "generate"}),
    ("paths", {"pipeline_settings", "asking", "indexing", "updating", "opening"}),
    ("index", {"index"}),
    (
        "uses",
        {
            "api",
            "conversation",
            "followups",
            "evaluation",
            "conversation_eval",
            "training",
            "cli",
            "app_runner",
        },
    ),
    # The page's own package, qa/ui/: nothing below imports it.
    (
        "ui",
        {"ui", "ui.boundary", "ui.chat", "ui.library", "ui.render", "ui.serving", "ui.style"}
        | {"ui.uploads", "ui.viewer"},
    ),
]
LAYER = {module: rank for rank, (_, modules) in enumerate(LAYERS) for module in modules}
UI = LAYERS[-1][1]
PACKAGE = {"__init__"}  # qa/__init__.py gathers the public names from every layer


def sources(module: str) -> list[Path]:
    """qa/index.py for "index", qa/ui/render.py for "ui.render", qa/ui/__init__.py for "ui",
    and every file of a package other than the page's ("stores": qa/stores/*.py)."""
    path = QA.joinpath(*module.split("."))
    if module == "ui":
        return [path / "__init__.py"]
    return sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def imports(module: str) -> set[str]:
    """The qa modules and outside packages `module` imports: "qa.index" -> "index";
    "from qa.ui import render" -> "ui.render"; "gradio"."""
    found: set[str] = set()
    nodes = [
        node
        for path in sources(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    ]
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module in ("qa", "qa.ui"):
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] != "qa" or len(parts) == 1:
                found.add(parts[0])
            elif parts[1] == "ui" and len(parts) > 2:
                found.add(f"ui.{parts[2]}")
            else:
                found.add(parts[1])
    return found


# Modules, and packages as one module (qa/stores/), except the page's: each of its modules.
MODULES = sorted(
    [p.stem for p in QA.glob("*.py")]
    + [p.parent.name for p in QA.glob("*/__init__.py")]
    + [f"ui.{p.stem}" for p in (QA / "ui").glob("*.py") if p.stem != "__init__"]
)


def test_every_module_has_a_layer():
    assert set(MODULES) - PACKAGE - set(LAYER) == set()


@pytest.mark.parametrize("module", [m for m in MODULES if m in LAYER])
def test_a_module_imports_only_its_own_layer_or_lower(module):
    upward = {
        f"{other} ({LAYERS[LAYER[other]][0]})"
        for other in imports(module)
        if other in LAYER and LAYER[other] > LAYER[module]
    }
    assert not upward, f"{sources(module)} ({LAYERS[LAYER[module]][0]}) imports {sorted(upward)}"


@pytest.mark.parametrize("module", [m for m in MODULES if m not in UI])
def test_only_the_page_modules_know_the_page(module):
    assert not imports(module) & {"app", "gradio", "gradio_client"}


def test_the_read_path_and_the_write_path_do_not_lean_on_each_other():
    assert not imports("asking") & {"indexing", "storage", "documents", "chunking", "index"}
    assert not imports("indexing") & {"asking", "answer", "retrieval", "reading", "generate"}


@pytest.mark.parametrize("module", ["stores", "storage", "snapshot"])
def test_the_storage_never_imports_the_question_path(module):
    assert not imports(module) & {"index", "asking", "answer", "indexing", "retrieval"}


@pytest.mark.parametrize("module", ["ui.render", "present"])
def test_what_the_page_shows_does_not_lean_on_the_command_line(module):
    assert "cli" not in imports(module)
