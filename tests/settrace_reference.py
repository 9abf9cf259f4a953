"""A reference line counter built on sys.settrace: how many 'line' events
the running Python delivers for each line of chosen code objects. lineprof's
hit counts must equal it, line for line."""
import sys
import threading


class SettraceCounter:
    def __init__(self, codes):
        self.codes = set(codes)
        self.hits = {}      # {(code, lineno): hits}
        # Without the GIL (free-threaded builds) threads would lose increments.
        self._lock = threading.Lock()

    def _trace(self, frame, event, arg):
        if frame.f_code not in self.codes:
            return None     # no line events for other frames
        if event == "line":
            key = (frame.f_code, frame.f_lineno)
            with self._lock:
                self.hits[key] = self.hits.get(key, 0) + 1
        return self._trace

    def __enter__(self):
        threading.settrace(self._trace)
        sys.settrace(self._trace)
        return self

    def __exit__(self, *exc_info):
        sys.settrace(None)
        threading.settrace(None)

    def hits_of(self, code):
        """{lineno: hits} of one code object."""
        return {line: hits for (c, line), hits in self.hits.items() if c is code}
