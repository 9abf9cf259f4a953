"""README's first profile is what `kernprof -l -v examples/primes.py` prints:
the same program, the same functions and header lines, the same hits on the
same lines (times differ from run to run; hits do not)."""
import os
import re
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRIMES = os.path.join(ROOT, "examples", "primes.py")


def first_profile():
    """(the program README shows, the output it shows) of "A first profile"."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as stream:
        text = stream.read()
    section = text[text.index("## A first profile"):]
    program = re.search(r"```python\n# examples/primes.py\n(.*?)```", section, re.S).group(1)
    output = re.search(r"```\n\$ kernprof -l -v examples/primes.py\n(.*?)```", section,
                       re.S).group(1)
    return program, output


def shape(output):
    """The output with its times left out: each header line's words before
    its numbers, and each row's line number, hits and source. The source is
    read from where the header's "Line Contents" starts, as a row whose time
    rounds to zero has a blank % Time column."""
    result = []
    contents_at = None
    for line in output.rstrip("\n").splitlines():
        row = re.match(r"^\s*(\d+)\s+(\d+)\s+[\d.]+\s", line)
        if "Line Contents" in line:
            contents_at = line.index("Line Contents")
        if row and contents_at is not None:
            result.append(("row",) + row.groups() + (line[contents_at:],))
        elif re.match(r"^\s*\d+\s{20,}", line):
            result.append(("source", line.strip()))
        else:
            result.append(("text", re.sub(r"[\d.e+-]+ s\b", "N s", line).replace(
                os.path.dirname(PRIMES), "FOLDER").replace("/work/main/examples", "FOLDER")))
    return result


def test_readmes_program_is_the_example():
    program, _ = first_profile()
    with open(PRIMES, encoding="utf-8") as stream:
        assert program == stream.read()


def test_readmes_output_is_what_kernprof_prints(tmp_path, kernprof):
    shutil.copy(PRIMES, str(tmp_path / "primes.py"))
    # Without compensation: it can take the tiny is_prime's time, and with it
    # primes_below's "Own time" line, to zero where the calibration overshoots
    # (as under a sanitizer). Hits and layout are the same either way.
    result = kernprof("-l", "-v", "--no-compensation", "primes.py")
    assert result.returncode == 0, result.stderr
    _, shown = first_profile()
    printed = result.stdout.replace(str(tmp_path), os.path.dirname(PRIMES))
    assert shape(printed) == shape(shown)
    # Both functions, and the own time of the one that calls the other.
    assert [line for line in shown.splitlines() if line.startswith("Function:")] == [
        "Function: is_prime at line 4", "Function: primes_below at line 14"]
    assert shown.count("Own time:") == printed.count("Own time:") == 1
