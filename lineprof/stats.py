"""LineStats: profile data in memory, as line_profiler's LineStats holds it."""


class LineStats:
    """The hits and times of every profiled function's lines.

    ``timings`` maps ``(filename, first_lineno, func_name)`` to a list of
    ``(lineno, hits, time)`` with ``time`` an integer count of ``unit``
    seconds. ``code_hashes`` maps the same keys to a hash of the function's
    source, so that runs of changed code are not summed blindly; ``metadata``
    says where the data came from (Python version, command line, timer...);
    ``calls`` maps keys to how many times the function was called, where it
    is known (not in line_profiler's files).

    ``edges`` is the call graph between the profiled functions: it maps
    ``(caller_key, caller_lineno, callee_key)`` to ``(calls, time)``, the
    calls made from that line of the caller (the nearest profiled function
    below the callee on its thread) and the part of that line's time they
    took, in ``unit``. A line's time is its edges' plus its own, so a
    function's own time is its total less its edges (own_time()). Empty
    for files written before lineprof recorded calls, and for line_profiler's.

    ``memory`` (profiles taken with memory=True) maps keys to
    ``{lineno: (allocated, freed, peak)}``: the bytes the line allocated and
    freed (callees included), and the function call's net allocation at its
    highest while the line ran (the largest over calls). Runs add up
    allocated and freed and keep the largest peak.
    """

    def __init__(self, timings, unit, code_hashes=None, metadata=None, calls=None, edges=None,
                 memory=None):
        self.timings = timings
        self.unit = unit
        self.code_hashes = dict(code_hashes or {})
        self.metadata = dict(metadata or {})
        self.calls = dict(calls or {})
        self.edges = dict(edges or {})
        self.memory = {key: dict(lines) for key, lines in (memory or {}).items()}
        # Functions whose source differed between the runs added up: each
        # (key kept, key of the other version), in the order found.
        self.changed_sources = []

    def __repr__(self):
        return "<LineStats: %d functions, %d lines, unit %g s>" % (
            len(self.timings),
            sum(len(lines) for lines in self.timings.values()),
            self.unit,
        )

    def __eq__(self, other):
        if not isinstance(other, LineStats):
            return NotImplemented
        return (self.unit == other.unit
                and _normalized(self.timings) == _normalized(other.timings))

    __hash__ = None

    def __add__(self, other):
        if not isinstance(other, LineStats):
            return NotImplemented
        result = LineStats({}, min(self.unit, other.unit), metadata=self.metadata)
        result += self
        result += other
        return result

    def __iadd__(self, other):
        """Adds another run: the same line of the same function sums up; times
        in another unit are converted to this one (or this one to the finer).

        A function whose recorded source hash differs from this one's (its code
        changed between the runs) is not summed: it is kept apart under its
        name with " [source HASH]" added, and listed in changed_sources."""
        if not isinstance(other, LineStats):
            return NotImplemented
        if other.unit < self.unit:
            factor = self.unit / other.unit
            self.timings = _rescaled(self.timings, factor)
            self.edges = {edge: (calls, int(round(time * factor)))
                          for edge, (calls, time) in self.edges.items()}
            self.unit = other.unit
        scale = other.unit / self.unit
        self.changed_sources.extend(other.changed_sources)
        keys = {}
        for other_key, lines in other.timings.items():
            key = keys[other_key] = self._key_for(other_key, other.code_hashes.get(other_key))
            if other_key in other.calls:
                self.calls[key] = self.calls.get(key, 0) + other.calls[other_key]
            merged = {lineno: [hits, time] for lineno, hits, time in self.timings.get(key, ())}
            for lineno, hits, time in lines:
                counts = merged.setdefault(lineno, [0, 0])
                counts[0] += hits
                counts[1] += int(round(time * scale))
            self.timings[key] = [(lineno, hits, time)
                                 for lineno, (hits, time) in sorted(merged.items())]
            if other_key in other.memory:
                mine = self.memory.setdefault(key, {})
                for lineno, (allocated, freed, peak) in other.memory[other_key].items():
                    old = mine.get(lineno, (0, 0, 0))
                    mine[lineno] = (old[0] + allocated, old[1] + freed, max(old[2], peak))
        for (caller, lineno, callee), (calls, time) in other.edges.items():
            edge = (keys.get(caller, caller), lineno, keys.get(callee, callee))
            old_calls, old_time = self.edges.get(edge, (0, 0))
            self.edges[edge] = (old_calls + calls, old_time + int(round(time * scale)))
        return self

    def _key_for(self, key, code_hash):
        """Where another run's function goes: its own key, unless the function
        is here already with other source."""
        mine = self.code_hashes.get(key)
        if code_hash is None or key not in self.timings or mine is None or mine == code_hash:
            if code_hash is not None:
                self.code_hashes.setdefault(key, code_hash)
            return key
        filename, lineno, name = key
        apart = (filename, lineno, "%s [source %s]" % (name, code_hash[:8]))
        if apart not in self.timings:
            self.changed_sources.append((key, apart))
            self.code_hashes[apart] = code_hash
        return apart

    def total_time(self, key):
        """The total time of one function in seconds."""
        return sum(time for _, _, time in self.timings[key]) * self.unit

    def own_time(self, key):
        """The time of one function in seconds outside the profiled functions
        it called: its total less its edges."""
        return self.own_times().get(key, 0.0)

    def own_times(self):
        """{key: own time in seconds} for every function, in one pass (the
        rounding of times can leave a difference a few ns below zero: 0)."""
        callees = dict.fromkeys(self.timings, 0)
        for (caller, _, _), (_, time) in self.edges.items():
            if caller in callees:
                callees[caller] += time
        return {key: max(0.0, self.total_time(key) - callees[key] * self.unit)
                for key in self.timings}

    def callers(self, key):
        """{(caller_key, caller_lineno): (calls, time)} for one function."""
        return self.callers_by_function().get(key, {})

    def callees(self, key):
        """{(caller_lineno, callee_key): (calls, time)} for one function."""
        return self.callees_by_function().get(key, {})

    def callers_by_function(self):
        """{callee_key: {(caller_key, caller_lineno): (calls, time)}}."""
        result = {}
        for (caller, lineno, callee), counts in self.edges.items():
            result.setdefault(callee, {})[caller, lineno] = counts
        return result

    def callees_by_function(self):
        """{caller_key: {(caller_lineno, callee_key): (calls, time)}}."""
        result = {}
        for (caller, lineno, callee), counts in self.edges.items():
            result.setdefault(caller, {})[lineno, callee] = counts
        return result

    def profiled_time(self):
        """The time spent in all profiled functions together, in seconds,
        without counting a nested profiled call twice: the sum of own times."""
        return sum(self.own_times().values())

    def print(self, stream=None, output_unit=None, stripzeros=False, details=True,
              summarize=False, sort=False, column_widths=None):
        """Writes the text report (see lineprof.text_report.show_text)."""
        from lineprof.text_report import show_text
        show_text(self.timings, self.unit, output_unit=output_unit, stream=stream,
                  stripzeros=stripzeros, details=details, summarize=summarize, sort=sort,
                  edges=self.edges, memory=self.memory, column_widths=column_widths)

    def to_file(self, filename):
        """Writes the data as a .lprof file, atomically."""
        from lineprof.datafile import dump_stats
        dump_stats(self, filename)

    @classmethod
    def from_files(cls, *filenames):
        """Loads .lprof files and sums them."""
        from lineprof.datafile import load_stats
        if not filenames:
            raise ValueError("from_files needs at least one file")
        total = load_stats(filenames[0])
        for filename in filenames[1:]:
            total += load_stats(filename)
        return total


def _normalized(timings):
    return {key: sorted(lines) for key, lines in timings.items()}


def _rescaled(timings, factor):
    return {key: [(lineno, hits, int(round(time * factor))) for lineno, hits, time in lines]
            for key, lines in timings.items()}
