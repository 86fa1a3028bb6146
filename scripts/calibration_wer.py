#!/usr/bin/env python3
"""Word error rate of the committed calibration transcripts, per voice and per answer kind.

Usage: scripts/calibration_wer.py calibration/answers.toml calibration/asr
(`scripts/calibrate --wer` runs it.) Rough by design: both sides are lower-cased and stripped
of punctuation, and digits Whisper writes ("18%", "$40,000") are spelled out as words so that
number formatting alone does not count as an error. Years and ordinals still differ
("2019" is read as "two thousand nineteen"), so the figures slightly overstate real errors.
"""

import collections
import json
import pathlib
import re
import sys
import tomllib

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spell(n):
    """An integer below a billion in words, the way the answers spell numbers."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    for size, name in ((1_000_000, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            rest = n % size
            return spell(n // size) + " " + name + ("" if rest == 0 else " " + spell(rest))
    raise ValueError(n)


def words(text):
    text = text.lower().replace("%", " percent").replace("&", " and ")
    text = re.sub(r"\$([\d,]+)", r"\1 dollars", text)
    text = re.sub(r"(\d),(\d)", r"\1\2", text)
    text = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"\d+", lambda m: " " + spell(int(m.group())) + " ", text)
    text = text.replace("'", "")
    return re.sub(r"[^a-z]+", " ", text).split()


def edits(ref, hyp):
    """Levenshtein distance over words."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def main(answers_path, asr_dir):
    with open(answers_path, "rb") as f:
        answers = {a["id"]: a for a in tomllib.load(f)["answer"]}
    by_voice = collections.defaultdict(lambda: [0, 0, 0])
    by_kind = collections.defaultdict(lambda: [0, 0, 0])
    for path in sorted(pathlib.Path(asr_dir).glob("*.json")):
        answer_id, voice = path.stem.rsplit(".", 1)
        answer = answers.get(answer_id)
        if answer is None:
            print(f"{path}: no answer `{answer_id}` in {answers_path}", file=sys.stderr)
            continue
        transcript = json.loads(path.read_text())["transcript"]["text"]
        ref, hyp = words(answer["text"]), words(transcript)
        errors = edits(ref, hyp)
        for tally in (by_voice[voice], by_kind[answer["kind"]], by_voice["all"]):
            tally[0] += 1
            tally[1] += errors
            tally[2] += len(ref)
    for title, table in (("voice", by_voice), ("kind", by_kind)):
        print(f"{title:10s} {'files':>5s} {'ref words':>9s} {'WER':>6s}")
        for name, (files, errors, total) in sorted(table.items()):
            print(f"{name:10s} {files:5d} {total:9d} {errors / max(total, 1):6.1%}")
        print()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
