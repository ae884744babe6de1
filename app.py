"""Ask questions about the shipped article (or your index) in the terminal.

A placeholder until the Gradio chat page lands: `make app` runs it.
"""

from __future__ import annotations

import sys

from qa import QAError, ask, default_index
from qa.cli import format_answer

EXAMPLE = "Where has the US embassy in Afghanistan been operating from?"


def main() -> int:
    print("Loading the index (built from corpus/ on first use)...", flush=True)
    try:
        index = default_index()
    except QAError as error:
        print(f"qa: {error}", file=sys.stderr)
        return 1
    print(f"{len(index)} document(s) indexed. Ask a question (empty line or Ctrl-D to quit).")
    print(f"For example: {EXAMPLE}\n")
    while True:
        try:
            question = input("? ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        try:
            print(format_answer(ask(question, index=index)) + "\n")
        except QAError as error:
            print(f"qa: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
