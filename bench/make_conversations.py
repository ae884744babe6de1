"""Write the SQuAD follow-up chains of eval/conversations.jsonl (its hand-written chains on the
shipped article are kept as they are). Deterministic: run it again and nothing changes.

    python bench/make_conversations.py [--squad eval/squad-train-sample.json] [--chains 60]

A chain is two or three questions about one paragraph that name the same subject; in every
question after the first, the subject is replaced by "he", "she", "it" or "they" (or "his",
"her", "its", "their" for "X's"), chosen by the pronouns the paragraph itself uses. The
follow-up is then scored against the same question asked in full (`qa eval --conversations`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.squad import Paragraph, Question, load_squad  # noqa: E402
from qa.text import names_in  # noqa: E402

SEED = 13
CHAINS_FILE = ROOT / "eval" / "conversations.jsonl"


def pronouns(subject: str, context: str) -> tuple[str, str]:
    """(subject pronoun, possessive) for `subject`, from the pronouns its paragraph uses."""
    words = re.findall(r"[a-z]+", context.lower())
    she = sum(w in ("she", "her", "hers") for w in words)
    he = sum(w in ("he", "his", "him") for w in words)
    if she >= 2 and she > he:
        return "she", "her"
    if he >= 2 and he > she:
        return "he", "his"
    last = subject.split()[-1]
    they = sum(w in ("they", "their", "them") for w in words)
    if last.endswith("s") and not last.endswith(("ss", "States")) and they >= 2:
        return "they", "their"
    return "it", "its"


# Words that may follow a subject a pronoun can stand for: "Greece joined", "Greece is",
# "in Greece?" - not "Greece debt" or "the Mediterranean diet", where the name is an adjective.
FOLLOWERS = set(
    "is was are were has have had did does do can could will would may might should must in on "
    "at to for from with by of after before during and or first also become became begin began "
    "start started ever still not".split()
)

OBJECT = {"he": "him", "she": "her", "they": "them"}
# After these a pronoun is a subject ("When did he ...", "What was it ..."); elsewhere an object.
SUBJECT_BEFORE = set(
    "is was are were has have had did does do can could will would may might should must what "
    "which who where when why how that".split()
)
PRECEDERS = (FOLLOWERS - {"and", "or"}) | set(
    "what which who whom where when why how that across into about through throughout within "
    "win won lose lost visit invade invaded join joined leave left enter entered reach approve "
    "rule ruled name names".split()
)


def replaced(question: str, subject: str, pronoun: str, possessive: str) -> str | None:
    """`question` with its one mention of `subject` replaced by a pronoun, or None."""
    if subject not in names_in(question):
        return None  # only part of a longer name there ("Royal Institute", "St. Barts")
    pattern = re.compile(rf"(?:\bthe\s+)?\b{re.escape(subject)}\b([’']s\b|’|')?")
    matches = list(pattern.finditer(question))
    if len(matches) != 1:
        return None
    match = matches[0]
    following = re.findall(r"[\w’'-]+|[^\w\s]", question[match.end() :])[:1]
    if not match.group(1) and following and following[0][0].isalnum():
        word = following[0]
        if word[0].isupper() or not (word in FOLLOWERS or word.endswith("ed")):
            return None
    if following and following[0] in ("to", "of", "and"):
        after = re.findall(r"[\w’'-]+", question[match.end() :])[1:2]
        if after and after[0][0].isupper():
            return None  # "Ye Olde Trip to Jerusalem": part of a longer name
    before = question[: match.start()].split()[-1:]
    if before and not (before[0].lower() in PRECEDERS or before[0].endswith("ed")):
        return None  # "Charlotte Motor Speedway", "ancient Greece", "Clinton v. New York"
    word = possessive if match.group(1) else pronoun
    if before and before[0].lower() not in SUBJECT_BEFORE and not match.group(1):
        word = OBJECT.get(word, word)  # "came to live in them", "did Clinton win it"
    if match.start() == 0:
        word = word.capitalize()
    return question[: match.start()] + word + question[match.end() :]


def chain_for(paragraph: Paragraph, questions: list[Question]) -> dict[str, object] | None:
    """The first chain the paragraph's questions make, in their order, or None."""
    for i, first in enumerate(questions):
        for subject in names_in(first.question):
            if len(subject) < 3 or "'s" in subject or "’s" in subject:
                continue
            if subject not in paragraph.context or re.search(
                rf"\b{re.escape(subject.lower())}\b", paragraph.context
            ):
                continue  # a common word capitalised at the start ("Along with ...")
            pronoun, possessive = pronouns(subject, paragraph.context)
            turns = [
                {"question": first.question, "full": first.question, "answers": list(first.answers)}
            ]
            for later in questions[i + 1 :]:
                if any(subject.lower() in a.lower() for a in later.answers):
                    continue  # the subject is what is asked for: no pronoun can stand for it
                follow = replaced(later.question, subject, pronoun, possessive)
                if follow is not None:
                    turns.append(
                        {"question": follow, "full": later.question, "answers": list(later.answers)}
                    )
                if len(turns) == 3:
                    break
            if len(turns) >= 2:
                return {
                    "id": f"squad-{paragraph.id}",
                    "corpus": "squad",
                    "paragraph": paragraph.id,
                    "subject": subject,
                    "turns": turns,
                }
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--squad", default=str(ROOT / "eval" / "squad-train-sample.json"))
    parser.add_argument("--chains", type=int, default=60, help="SQuAD chains to write (60)")
    args = parser.parse_args()
    paragraphs, questions = load_squad(args.squad)
    by_paragraph: dict[str, list[Question]] = {}
    for q in questions:
        by_paragraph.setdefault(q.paragraph_id, []).append(q)
    order = list(paragraphs)
    random.Random(SEED).shuffle(order)
    chains = []
    for paragraph in order:
        chain = chain_for(paragraph, by_paragraph.get(paragraph.id, []))
        if chain is not None:
            chains.append(chain)
        if len(chains) == args.chains:
            break
    kept = []
    if CHAINS_FILE.exists():
        lines = CHAINS_FILE.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.strip() and json.loads(line)["corpus"] != "squad"]
    lines = kept + [json.dumps(c, ensure_ascii=False) for c in chains]
    CHAINS_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    turns = sum(len(c["turns"]) - 1 for c in chains)  # type: ignore[arg-type, misc]
    print(
        f"{CHAINS_FILE}: {len(kept)} hand-written chains, {len(chains)} SQuAD chains "
        f"({turns} follow-ups)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
