"""How the question is embedded: retrieval recall of a few ways to turn it into a vector.

    qa eval eval/squad-train-sample.json --workdir /tmp/qa-eval   # builds the index once
    python bench/question_embedding.py --workdir /tmp/qa-eval

On the answerable questions of `qa eval`'s default selection (every second one, to keep it
quick), compares recall@1/5 of the gold paragraph for: the question as typed (what qa does);
the question without its wh-words ("Where has the embassy been operating from?" -> "the
embassy been operating from"); the mean of both; and pseudo-relevance feedback (the top
chunk's vector added to the question's at a weight, then retrieving again).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from qa.evaluation import EvalConfig, select
from qa.index import Index, load_index
from qa.lexical import terms
from qa.retrieval import retrieve
from qa.squad import Question, load_squad

ROOT = Path(__file__).resolve().parent.parent
_WH = re.compile(
    r"^\s*(what|which|who|whom|whose|where|when|why|how( many| much| long| old)?)\b"
    r"( (is|are|was|were|did|does|do|has|have|had))?\s*",
    re.IGNORECASE,
)


def recall(
    index: Index, questions: list[Question], vectors: np.ndarray, feedback: float = 0.0
) -> tuple[float, float]:
    snapshot = index.snapshot
    at1 = at5 = 0
    for question, vector in zip(questions, vectors, strict=True):
        vector = vector / np.linalg.norm(vector)
        query_terms = terms(question.question)
        hits = retrieve(snapshot, vector, query_terms, 10, index.retrieval)
        if feedback and hits:
            vector = vector + feedback * snapshot.chunk_vectors(np.array([hits[0][0]]))[0]
            vector /= np.linalg.norm(vector)
            hits = retrieve(snapshot, vector, query_terms, 10, index.retrieval)
        # qa eval names each paragraph's file after its id: corpus/<id>.txt
        ranked = list(dict.fromkeys(Path(snapshot.chunks[r].source).stem for r, _ in hits))
        at1 += ranked[:1] == [question.paragraph_id]
        at5 += question.paragraph_id in ranked[:5]
    return at1 / len(questions), at5 / len(questions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a `qa eval --workdir`")
    parser.add_argument("--data", type=Path, default=ROOT / "eval" / "squad-train-sample.json")
    args = parser.parse_args()
    config = EvalConfig(data=args.data)
    paragraphs, questions = load_squad(config.data)
    _, held_out, asked = select(paragraphs, questions, config)
    answerable = [q for q in asked if q.paragraph_id not in held_out][::2]
    index = load_index(args.workdir / "index")
    typed = index.embedder.embed([q.question for q in answerable])
    bare = index.embedder.embed([_WH.sub("", q.question).rstrip("?") for q in answerable])
    print(f"{len(answerable)} questions            recall@1  recall@5")
    for name, vectors, feedback in [
        ("as typed (qa's way)", typed, 0.0),
        ("without wh-words", bare, 0.0),
        ("mean of both", typed + bare, 0.0),
        ("feedback 0.2", typed, 0.2),
        ("feedback 0.4", typed, 0.4),
    ]:
        at1, at5 = recall(index, answerable, vectors, feedback)
        print(f"{name:<28} {at1:8.3f}  {at5:8.3f}")


if __name__ == "__main__":
    main()
