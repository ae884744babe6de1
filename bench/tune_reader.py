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


def sweep(questions: list[dict[str, Any]], weight: float, max_wrong: float) -> dict[str, Any]:
    """The highest threshold on logit(answerability) + weight * top retrieval score that
    refuses at most `max_wrong` of the answerable questions."""
    from qa.answer import logit

    def decision(q: dict[str, Any]) -> float:
        return logit(q["confidence"] or 0.0) + weight * (q["top_score"] or 0.0)

    good = sorted(decision(q) for q in questions if q["answerable"])
    held = [decision(q) for q in questions if not q["answerable"]]
    cut = int(max_wrong * len(good))  # this many answerable questions may fall below
    threshold = round(good[cut] - 1e-6, 4) if good else 0.0
    return {
        "support_weight": weight,
        "answer_threshold": threshold,
        "answerable_wrongly_refused": round(sum(d < threshold for d in good) / len(good), 4),
        "unanswerable_refused": round(sum(d < threshold for d in held) / len(held), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", required=True)
    parser.add_argument("--model", default=str(ROOT / "models" / "reader"))
    parser.add_argument("--work", default="/tmp/qa-tune")
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--weights", default="0,0.5,1,2,3,4,6,8")
    parser.add_argument("--max-wrong-refusals", type=float, default=0.04)
    args = parser.parse_args()

    from qa.answer import AnswerSettings
    from qa.evaluation import EvalConfig, run_eval

    work = Path(args.work)
    data = dev_file(args.squad, Path(args.model), work)
    # Answer everything once, recording the reader's answerability and retrieval's best
    # score; every threshold is then a cut through the same answers.
    config = EvalConfig(
        data=data,
        sample=args.sample,
        holdout=args.holdout,
        workdir=work / "eval",
        answering=AnswerSettings(answer_threshold=-100.0),
    )
    report = run_eval(config, progress=False)
    figures = {
        "exact_match": report["answers"]["exact_match"],
        "f1": report["answers"]["f1"],
        "closed_exact_match": report["answers"]["closed_exact_match"],
        "closed_f1": report["answers"]["closed_f1"],
        "recall@1": report["retrieval"]["recall@1"],
        "evidence": report["evidence"]["gold_answer_in_cited"],
        "ask_p50_ms": report["speed"]["ask_p50_ms"],
    }
    print("answering everything:", json.dumps(figures), flush=True)
    rows = [
        sweep(report["questions"], float(w), args.max_wrong_refusals)
        for w in args.weights.split(",")
    ]
    for row in rows:
        print(json.dumps(row))
    best = max(rows, key=lambda r: (r["unanswerable_refused"], -r["support_weight"]))
    print("chosen:", json.dumps(best))
    settings_path = Path(args.model) / "reader.json"
    settings = json.loads(settings_path.read_text(encoding="utf-8"))
    settings["tuning"] = {
        "command": "python bench/tune_reader.py " + " ".join(sys.argv[1:]),
        "dev_questions": args.sample,
        "answering_everything": figures,
        "rows": rows,
        "chosen": {k: best[k] for k in ("support_weight", "answer_threshold")},
    }
    settings_path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    defaults = AnswerSettings()
    for name in ("support_weight", "answer_threshold"):
        if getattr(defaults, name) != best[name]:
            print(
                f"note: AnswerSettings.{name} is {getattr(defaults, name)}; set it to {best[name]}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
