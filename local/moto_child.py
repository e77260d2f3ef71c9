"""Entry point of the moto child process: ``python -m local.moto_child --ready-fd N``.

One moto server (all services, one endpoint) on a kernel-chosen loopback port, with the fixes of
``local/moto_patches.py`` and the control routes and maintenance of ``local/moto_control.py``. The port is written
to the ready fd once the server listens, so the parent never races for a port. The process exits on SIGTERM, or
when its parent disappears (backup for PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
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

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    from local import moto_control, moto_patches

    moto_patches.apply()
    consumers = moto_control.StreamConsumers()
    app = moto_control.control_app(
        DomainDispatcherApplication(moto_patches.without_debug(create_backend_app)), consumers)
    server = make_server(args.host, 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    moto_control.start_maintenance(consumers)

    os.write(args.ready_fd, f"{server.server_port}\n".encode())
    os.close(args.ready_fd)
    while True:  # the server runs in a daemon thread; the main thread only watches the parent
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


if __name__ == "__main__":
    main()
