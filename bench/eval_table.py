"""Turn `qa eval --json` reports into a Markdown table: one row per report.

python bench/eval_table.py NAME=report.json [NAME=report.json ...]
"""

from __future__ import annotations

import json
import sys

COLUMNS = [
    ("R@1", "retrieval", "recall@1"),
    ("R@5", "retrieval", "recall@5"),
    ("R@10", "retrieval", "recall@10"),
    ("cited R", "retrieval", "recall@cited"),
    ("gold in cited", "evidence", "gold_answer_in_cited"),
    ("EM", "answers", "exact_match"),
    ("F1", "answers", "f1"),
    ("exact cit.", "citations", "exact"),
    ("wrongly refused", "refusals", "answerable_wrongly_refused"),
    ("unanswerable refused", "refusals", "unanswerable_refused"),
    ("p50 ms", "speed", "ask_p50_ms"),
]


def main(arguments: list[str]) -> int:
    print("| run | " + " | ".join(c[0] for c in COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for argument in arguments:
        name, _, path = argument.partition("=")
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
        cells = []
        for _, section, key in COLUMNS:
            value = report[section][key]
            cells.append(
                "—" if value is None else f"{value:.3f}" if key != "ask_p50_ms" else f"{value:.1f}"
            )
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
