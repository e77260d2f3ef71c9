"""Entry point of the moto child process: ``python -m local.moto_child --ready-fd N``.

One moto server (all services, one endpoint) on a kernel-chosen loopback port. The port is written to the
ready fd once the server listens, so the parent never races for a port. The process exits on SIGTERM, or when
its parent disappears (backup for PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready-fd", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    parent = os.getppid()

    # verbose=False does not silence werkzeug's per-request lines (recipes §1).
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))

    from moto.server import ThreadedMotoServer

    from local.moto_patches import bound_stream_iterators, make_transactions_atomic

    make_transactions_atomic()
    bound_stream_iterators()
    from local import faults, mailbox
    from local.config import Paths

    local_dir = Paths.from_env().root
    faults.install(local_dir / faults.SETTINGS_FILE)  # last: wraps the patched backend methods (local/faults.py)
    mailbox.install(local_dir)  # records what SES accepts, for `make mail`

    server = ThreadedMotoServer(ip_address=args.host, port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    os.write(args.ready_fd, f"{port}\n".encode())
    os.close(args.ready_fd)
    while True:  # the server runs in a daemon thread; the main thread only watches the parent
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


if __name__ == "__main__":
    main()
