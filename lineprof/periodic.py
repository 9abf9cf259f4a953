"""`kernprof -i SECONDS`: the profile written while the program runs.

A daemon thread writes the profile every interval. Each write goes to a
temporary file that is then renamed over the previous one, so a reader (or a
crash in the middle) never sees a half-written file. The final write at exit
is kernprof's own, after this thread has stopped. While it runs, a live dump
(LINEPROF_DUMP_SIGNAL, lineprof.live_dump) writes through it too."""
import sys
import threading


class PeriodicWriter:
    def __init__(self, write, interval):
        self._write = write
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lineprof-periodic-writer",
                                        daemon=True)
        self._failed = False

    def start(self):
        from lineprof import live_dump
        live_dump.set_writer(self._write, "periodic")
        self._thread.start()

    def stop(self):
        from lineprof import live_dump
        live_dump.set_writer(None, "periodic")
        self._stopping.set()
        self._thread.join()

    def _run(self):
        while not self._stopping.wait(self._interval):
            try:
                self._write()
            except Exception as error:      # say it once; the final write may still work
                if not self._failed:
                    self._failed = True
                    sys.stderr.write("kernprof: could not write the profile while running: %s\n"
                                     % (getattr(error, "strerror", None) or error))
