"""The `qa` command: index documents and ask questions from the shell."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from qa.present import answer_json, location
from qa.settings import Mode

if TYPE_CHECKING:
    from qa.types import Answer

EXAMPLES = """examples:
  qa ask "Where has the US embassy in Afghanistan been operating from?"
  qa index my_docs/ notes.md --index my_index
  qa ask "What did the report conclude?" --index my_index --json
"""


def build_parser() -> argparse.ArgumentParser:
    from qa.pipeline_settings import Settings

    default = Settings()  # the settings a command uses unless told otherwise
    parser = argparse.ArgumentParser(
        prog="qa",
        description="Answer questions about your documents, citing exact passages. Works offline.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    index = commands.add_parser(
        "index",
        help="index files and folders (txt, md, html, pdf, docx)",
        description="Index files and folders. Re-running embeds only new or changed files and "
        "drops files that are gone.",
    )
    index.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to index")
    index.add_argument("--index", metavar="DIR", help="index folder (default: index/)")
    index.add_argument(
        "--add",
        action="store_true",
        help="add to the index instead of making it hold exactly PATH...",
    )
    index.add_argument(
        "--chunk-size", type=int, metavar="CHARS", help=f"default {default.chunking.size}"
    )
    index.add_argument(
        "--chunk-overlap", type=int, metavar="CHARS", help=f"default {default.chunking.overlap}"
    )
    index.add_argument(
        "--store",
        metavar="STORE",
        help="where vectors live: faiss (default; exact, IVF above 100,000 chunks), faiss:flat, "
        "faiss:ivf, milvus:./qa.db (Milvus Lite) or milvus:http://host:19530",
    )
    index.add_argument("--quiet", action="store_true", help="no progress bar")

    ask = commands.add_parser(
        "ask", help="ask a question", description="Answer a question with cited sources."
    )
    ask.add_argument("question")
    ask.add_argument(
        "--index",
        metavar="DIR",
        help="index folder (default: index/, built from the shipped article if absent)",
    )
    ask.add_argument(
        "-k",
        type=int,
        default=default.passages,
        metavar="N",
        help=f"passages to retrieve (default {default.passages})",
    )
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=default.mode.value,
        help="extractive (default): quote the documents; generate: the local language model "
        "writes the answer, and only sentences the documents support are shown",
    )

    docs = commands.add_parser("docs", help="list the documents in an index")
    docs.add_argument("--index", metavar="DIR", help="index folder (default: index/)")

    remove = commands.add_parser("remove", help="remove documents from an index")
    remove.add_argument("sources", nargs="+", metavar="SOURCE", help="document name or path")
    remove.add_argument("--index", metavar="DIR", help="index folder (default: index/)")

    evaluate = commands.add_parser(
        "eval",
        help="measure retrieval, answers, citations, refusals and speed on SQuAD data",
        description="Index every paragraph of a SQuAD-format file as its own document, ask its "
        "questions through the same ask() users call, and report the figures.",
    )
    evaluate.add_argument(
        "data",
        metavar="FILE.json",
        nargs="?",
        help="SQuAD-format JSON (with --conversations: the paragraphs its squad chains ask; "
        "default eval/squad-train-sample.json)",
    )
    evaluate.add_argument(
        "--conversations",
        metavar="FILE.jsonl",
        help="instead, ask the follow-up chains of FILE in a conversation, and each question "
        "in full, and compare (e.g. eval/conversations.jsonl)",
    )
    evaluate.add_argument("--sample", type=int, metavar="N", help="ask N questions (default all)")
    evaluate.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    evaluate.add_argument(
        "--holdout",
        type=float,
        default=0.1,
        metavar="SHARE",
        help="share of paragraphs removed for unanswerable questions (0.1)",
    )
    evaluate.add_argument(
        "--articles", type=int, metavar="N", help="index only the first N articles (quick runs)"
    )
    evaluate.add_argument(
        "--workdir",
        metavar="DIR",
        help="keep the corpus and index here; re-runs reuse the embeddings",
    )
    evaluate.add_argument("--json", metavar="OUT.json", help="write the full report here")
    evaluate.add_argument("--plot", metavar="OUT.png", help="recall@k and latency plot")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate.add_argument(
        "--mode",
        choices=[m.value for m in Mode],
        default=Mode.EXTRACTIVE.value,
        help="answer mode to measure (generate: about 2 s a question; use --sample)",
    )
    evaluate.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="try another setting, e.g. --set answering.min_support=0.5 --set retrieval.fusion=rrf"
        " (sections: chunking, retrieval, answering)",
    )
    train = commands.add_parser(
        "train-reader",
        help="train the reader model on SQuAD v1.1 (about 1.5 h on 2 cores)",
        description="Train the reader (short answers, and whether to answer) on a SQuAD-format "
        "file, with checkpoints (an interrupted run resumes), then measure it on held-out "
        "articles and write the model with its model card.",
    )
    train.add_argument("--squad", required=True, metavar="FILE", help="SQuAD v1.1 JSON(.gz)")
    train.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    train.add_argument(
        "--holdout",
        metavar="FILE",
        help="SQuAD file whose articles are never trained on (our evaluation sample)",
    )
    from qa.training import TrainConfig  # light: torch is imported only when training starts

    defaults = TrainConfig(squad="", out="")
    for name, kind, help_text in (
        ("seed", int, "random seed"),
        ("train-questions", int, "questions to build training windows from"),
        ("dev-articles", int, "training articles kept apart for measuring"),
        ("dev-questions", int, "questions measured at the end"),
        ("epochs", float, "passes over the windows"),
        ("batch-size", int, "windows per step"),
        ("learning-rate", float, "peak learning rate"),
        ("max-length", int, "tokens of question + window"),
        ("max-steps", int, "stop after this many steps (smoke tests)"),
    ):
        default = getattr(defaults, name.replace("-", "_"))
        train.add_argument(
            f"--{name}", type=kind, default=default, help=f"{help_text} (default {default})"
        )
    train.add_argument("--no-bf16", action="store_true", help="train in fp32 (slower)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    args = build_parser().parse_args(argv)
    from qa.errors import QAError

    try:
        if args.command == "index":
            return _index(args)
        if args.command == "ask":
            return _ask(args)
        if args.command == "docs":
            return _docs(args)
        if args.command == "train-reader":
            return _train_reader(args)
        if args.command == "eval":
            return _eval(args)
        return _remove(args)
    except QAError as error:
        print(f"qa: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        from qa.errors import disk_problem

        problem = disk_problem(error)
        if problem is None:
            raise
        # A full or read-only disk is the user's to fix: a sentence, not 26 lines of traceback.
        print(f"qa: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qa: interrupted; the index is as it was before this command.", file=sys.stderr)
        return 130


def _index_path(args: argparse.Namespace) -> str:
    from qa.api import default_index_path

    return args.index or str(default_index_path())


def _index(args: argparse.Namespace) -> int:
    from qa.index import Index, build
    from qa.pipeline_settings import Settings

    path = _index_path(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped files are listed below instead
        if args.add:
            index = Index.load(path)
            report = index.add(args.paths, progress=False if args.quiet else None)
        else:
            index, report = build(
                args.paths,
                path=path,
                settings=Settings().chunked(args.chunk_size, args.chunk_overlap),
                store=args.store,
                progress=False if args.quiet else None,
            )
    for notice in report.skipped:
        print(f"skipped {notice}", file=sys.stderr)
    for notice in report.repaired:
        print(f"warning: {notice}", file=sys.stderr)
    print(f"Indexed {len(index)} documents into {path}: {report.summary()}")
    return 0


def _ask(args: argparse.Namespace) -> int:
    from qa.api import default_index
    from qa.index import Index
    from qa.pipeline_settings import Settings

    settings = Settings(passages=args.k, mode=args.mode)  # checked before the index opens
    index = Index.load(args.index) if args.index else default_index()
    stream = index.stream(args.question, k=settings.passages, mode=settings.mode)
    if args.json:
        print(json.dumps(answer_json(stream.result()), ensure_ascii=False, indent=2))
        return 0
    if stream.short:  # the reader's short answer first, then the sentences that back it
        print(f"Answer: {stream.short}\n")
    for piece in stream:  # checked sentences, as they are written
        print(piece, end="", flush=True)
    assert stream.answer is not None
    print("\n" + format_answer(stream.answer, with_text=False))
    return 0


def _train_reader(args: argparse.Namespace) -> int:
    from qa.training import TrainConfig, train

    config = TrainConfig(
        squad=args.squad,
        out=args.out,
        holdout=args.holdout,
        seed=args.seed,
        train_questions=args.train_questions,
        dev_articles=args.dev_articles,
        dev_questions=args.dev_questions,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_length=args.max_length,
        max_steps=args.max_steps,
        bf16=not args.no_bf16,
    )
    figures = train(config, progress=not args.quiet)
    print(json.dumps(figures, indent=2))
    print(f"Model and model card written to {args.out}")
    return 0


def _docs(args: argparse.Namespace) -> int:
    from qa.index import Index

    index = Index.load(_index_path(args))
    for document in index.documents:
        pages = f", {len(document.pages)} pages" if document.pages else ""
        print(f"{printable(document.source)}  ({document.chars:,} characters{pages})")
    print(f"{len(index)} documents in {index.path}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from qa.index import Index

    index = Index.load(_index_path(args))
    removed = index.remove(*args.sources)
    print(f"Removed {', '.join(removed)}; {len(index)} documents left in {index.path}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from qa.evaluation import EvalConfig, format_report, plot_report, run_eval, with_settings

    if args.conversations:
        return _eval_conversations(args)
    if args.data is None:
        from qa.errors import InputError

        raise InputError("qa eval needs a SQuAD-format FILE.json (or --conversations FILE)")
    config = EvalConfig(
        data=Path(args.data),
        sample=args.sample,
        seed=args.seed,
        holdout=args.holdout,
        articles=args.articles,
        workdir=Path(args.workdir) if args.workdir else None,
        mode=args.mode,
    )
    config = with_settings(config, args.set)
    report = run_eval(config, progress=not args.quiet)
    print(format_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nFull report: {args.json}")
    if args.plot:
        plot_report(report, Path(args.plot))
        print(f"Plot: {args.plot}")
    return 0


def printable(name: str) -> str:
    """A file name on one line of a terminal: "a\nb.txt" -> "a\\nb.txt" (controls escaped)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


def _eval_conversations(args: argparse.Namespace) -> int:
    from pathlib import Path

    from qa.api import PROJECT_ROOT
    from qa.conversation_eval import format_conversation_report, run_conversation_eval

    # The hand-written chains ask about the shipped article, whatever $QA_CORPUS says.
    article = PROJECT_ROOT / "corpus" / "taliban-and-international-diplomacy.txt"
    report = run_conversation_eval(
        args.conversations,
        article=article,
        squad=Path(args.data or PROJECT_ROOT / "eval" / "squad-train-sample.json"),
        workdir=Path(args.workdir) if args.workdir else None,
        progress=not args.quiet,
    )
    print(format_conversation_report(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nFull report: {args.json}")
    return 0


def format_answer(answer: Answer, *, with_text: bool = True) -> str:
    """The answer followed by its numbered sources, or the closest passages when refused."""
    lines = [answer.text, ""] if with_text else [""]
    if answer.citations:
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"[{c.n}] {c.source}, {location(c)}")
            lines.append(f"    “{' '.join(c.quote.split())}”")
    elif answer.passages:
        lines.append("Closest passages (not enough to answer):")
        for p in answer.passages[:3]:
            snippet = " ".join(p.text.split())
            lines.append(f"- {p.source}, {location(p)}: {snippet[:160]}…")
    if answer.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in answer.notes)
    return "\n".join(lines).rstrip()


if __name__ == "__main__":
    sys.exit(main())
