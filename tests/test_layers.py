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
            "settings",
            "limits",
            "lexical",
            "text",
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
            "uploads",
            "evaluation",
            "conversation_eval",
            "training",
            "cli",
            "app_runner",
        },
    ),
    ("ui", {"chat", "render"}),
]
LAYER = {module: rank for rank, (_, modules) in enumerate(LAYERS) for module in modules}
UI = LAYERS[-1][1]
PACKAGE = {"__init__"}  # qa/__init__.py gathers the public names from every layer


def sources(module: str) -> list[Path]:
    """The files of `qa/<module>.py`, or of every module in the package `qa/<module>/`."""
    package = QA / module
    return sorted(package.glob("*.py")) if package.is_dir() else [QA / f"{module}.py"]


def imports(module: str) -> set[str]:
    """The top-level names `qa/<module>.py` (or the package) imports: "qa.index" -> "index";
    "qa.stores.faiss" -> "stores"; "gradio"."""
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
            if node.module == "qa":
                names = [f"qa.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            found.add(parts[1] if parts[0] == "qa" and len(parts) > 1 else parts[0])
    return found


# Modules and packages (qa/stores/ is one layer, whatever its files).
MODULES = sorted(
    [p.stem for p in QA.glob("*.py")] + [p.parent.name for p in QA.glob("*/__init__.py")]
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
    assert not upward, f"qa/{module}.py ({LAYERS[LAYER[module]][0]}) imports {sorted(upward)}"


@pytest.mark.parametrize("module", [m for m in MODULES if m not in UI])
def test_only_the_page_modules_know_the_page(module):
    assert not imports(module) & {"app", "gradio", "gradio_client"}


def test_the_read_path_and_the_write_path_do_not_lean_on_each_other():
    assert not imports("asking") & {"indexing", "storage", "documents", "chunking", "index"}
    assert not imports("indexing") & {"asking", "answer", "retrieval", "reading", "generate"}


@pytest.mark.parametrize("module", ["stores", "storage", "snapshot"])
def test_the_storage_never_imports_the_question_path(module):
    assert not imports(module) & {"index", "asking", "answer", "indexing", "retrieval"}
