"""(5) A realistic mixed program: text processing, dicts, json, re."""
import json
import re

from _harness import clock, profile, report, scaled

WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua").split()


def make_text(lines):
    return "\n".join(" ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(12))
                     + " id=%d" % i for i in range(lines))


@profile
def word_counts(text):
    counts = {}
    for line in text.splitlines():
        for word in line.split():
            word = word.strip(".,").lower()
            if not word.startswith("id="):
                counts[word] = counts.get(word, 0) + 1
    return counts


@profile
def round_trip(counts):
    encoded = json.dumps({"counts": counts, "total": sum(counts.values())})
    decoded = json.loads(encoded)
    return decoded["total"]


@profile
def find_ids(text):
    ids = [int(match) for match in re.findall(r"id=(\d+)", text)]
    return sum(ids)


text = make_text(3000)
repeats = scaled(20)
start = clock()
for _ in range(repeats):
    counts = word_counts(text)
    round_trip(counts)
    find_ids(text)
report(clock() - start)
