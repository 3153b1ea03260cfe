"""After ``lens.burst.run.run`` returns, SIGTERM stops the process again.

uvloop does not restore the handlers its loop installed when the loop closes: before the
fix, a Lambda runtime (or any process) that had fired one burst ignored SIGTERM for good.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import signal, sys, time
    from lens.burst.run import run
    from lens.probe.engine import loop_factory
    before = signal.getsignal(signal.SIGTERM)
    out = run({"targets": [{"provider": "openai_compat", "base_url": "http://127.0.0.1:9/v1",
                            "model": "m"}], "load": {"requests": 1}})
    print(out.records[0].status, loop_factory() is not None,
          signal.getsignal(signal.SIGTERM) == before, flush=True)
    time.sleep(60)
""")


def test_sigterm_ends_the_process_after_a_burst() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        status, _uvloop, restored = proc.stdout.readline().split()
        assert status == "network"  # port 9: refused, recorded
        assert restored == "True"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
