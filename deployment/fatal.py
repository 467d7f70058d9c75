"""supervisord event listener: a program that cannot be started at all stops the shape.

supervisord restarts a program that dies after running, but gives up on one that dies
within `startsecs` `startretries` times in a row (state FATAL: nginx on a taken port,
gunicorn on code that fails to import) and would go on running the rest, serving nothing
useful. This stops supervisord instead, in the usual order, so `make serve` ends and an
outer supervisor (systemd, a container runtime) sees it.
"""

from __future__ import annotations

import os
import signal
import sys


def main() -> None:
    """The listener protocol: READY, read one header line and its payload, answer OK."""
    # supervisord stops listeners with SIGTERM too; that is a normal end, not a failure.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    while True:
        sys.stdout.write("READY\n")
        sys.stdout.flush()
        header = dict(token.split(":", 1) for token in sys.stdin.readline().split())
        payload = sys.stdin.read(int(header["len"]))
        fields = dict(token.split(":", 1) for token in payload.split())
        print(
            f"serve: {fields.get('processname', '?')} could not be started; stopping the shape",
            file=sys.stderr,
            flush=True,
        )
        sys.stdout.write("RESULT 2\nOK")
        sys.stdout.flush()
        os.kill(os.getppid(), signal.SIGTERM)


if __name__ == "__main__":
    main()
