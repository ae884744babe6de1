"""Choose the reader's answer threshold and fusion weight on held-out *training* articles.

The reader's model card names the training articles it kept apart (seeded). This script
writes them as a SQuAD file, runs `qa eval` on them with the reader answering everything
(recording its confidence), and for each retrieval weight finds the highest threshold that
refuses at most `--max-wrong-refusals` of answerable questions. The evaluation sample
(eval/squad-train-sample.json) is never touched here: its figures stay honest.

    python bench/tune_reader.py --squad ../shared/eval/squad-train-v1.1.json.gz
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def dev_file(squad: str, model: Path, out: Path) -> Path:
    """The model's dev articles (from its training settings) as a SQuAD file."""
    from qa.training import TrainConfig, load_articles, split_articles

    path = out / "dev.json"
    if path.exists():  # written by an earlier run: the same articles
        return path
    settings = json.loads((model / "training.json").read_text(encoding="utf-8"))
    config = TrainConfig(**{**settings, "squad": squad})
    _, dev = split_articles(load_articles(squad), config)
    out.mkdir(parents=True, exist_ok=True)
    data = {"version": "1.1", "data": [{"title": a.title, "paragraphs": a.paragraphs} for a in dev]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def sweep(questions: list[dict[str, Any]], max_wrong: float) -> dict[str, Any]:
    """The highest threshold refusing at most `max_wrong` of answerable questions."""
    good = [q["confidence"] or 0.0 for q in questions if q["answerable"]]
    held = [q["confidence"] or 0.0 for q in questions if not q["answerable"]]
    best: dict[str, Any] = {}
    for step in range(0, 100):
        threshold = step / 100
        wrong = sum(c < threshold for c in good) / len(good)
        if wrong > max_wrong:
            break
        best = {
            "min_answerable": threshold,
            "answerable_wrongly_refused": round(wrong, 4),
            "unanswerable_refused": round(sum(c < threshold for c in held) / len(held), 4),
        }
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", required=True)
    parser.add_argument("--model", default=str(ROOT / "models" / "reader"))
    parser.add_argument("--work", default="/tmp/qa-tune")
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--weights", default="0,1,2,4")
    parser.add_argument("--max-wrong-refusals", type=float, default=0.04)
    args = parser.parse_args()

    from qa.answer import AnswerSettings
    from qa.evaluation import EvalConfig, run_eval

    work = Path(args.work)
    data = dev_file(args.squad, Path(args.model), work)
    rows = []
    for weight in (float(w) for w in args.weights.split(",")):
        answering = AnswerSettings(min_answerable=0.0, retrieval_weight=weight)
        config = EvalConfig(
            data=data,
            sample=args.sample,
            holdout=args.holdout,
            workdir=work / "eval",
            answering=answering,
        )
        report = run_eval(config, progress=False)
        chosen = sweep(report["questions"], args.max_wrong_refusals)
        kept = [
            q
            for q in report["questions"]
            if q["answerable"] and (q["confidence"] or 0) >= chosen["min_answerable"]
        ]
        row = {
            "retrieval_weight": weight,
            **chosen,
            "exact_match": report["answers"]["exact_match"],
            "f1": report["answers"]["f1"],
            "closed_exact_match": report["answers"]["closed_exact_match"],
            "recall@1": report["retrieval"]["recall@1"],
            "evidence": report["evidence"]["gold_answer_in_cited"],
            "f1_of_answered": round(statistics.fmean(q["f1"] for q in kept), 4) if kept else None,
            "ask_p50_ms": report["speed"]["ask_p50_ms"],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    best = max(rows, key=lambda r: r["f1"] + r["unanswerable_refused"])
    print("chosen:", json.dumps(best))
    settings_path = Path(args.model) / "reader.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    settings["tuning"] = {
        "command": "python bench/tune_reader.py " + " ".join(sys.argv[1:]),
        "dev_questions": args.sample,
        "rows": rows,
        "chosen": {k: best[k] for k in ("retrieval_weight", "min_answerable")},
    }
    settings_path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    defaults = AnswerSettings()
    for name in ("retrieval_weight", "min_answerable"):
        if getattr(defaults, name) != best[name]:
            print(
                f"note: AnswerSettings.{name} is {getattr(defaults, name)}; set it to {best[name]}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
