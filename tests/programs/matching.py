def classify(value):
    match value:
        case 0:
            return "zero"
        case [x, y]:
            return "pair %s %s" % (x, y)
        case {"kind": kind}:
            return kind
        case str() as text if text:
            return text
        case _:
            return "other"


PROFILED = [classify]


def run():
    for value in (0, [1, 2], {"kind": "k"}, "s", "", 3.5):
        classify(value)
