"""An SMTP sink for the mail benchmark: aiosmtpd on loopback, in a process of its own.

``python -m bench.smtp_sink --port PORT --log FILE`` accepts every message and appends one line
per message to FILE: the time it was accepted, its size in bytes and its Message-ID. The sink
runs apart from the sender so that it never competes with it for the GIL; it parses only the
header block (not the whole message, as ``registru.testing.smtp.Inbox`` does for the tests),
so that it is never the bottleneck. It prints ``ready`` once it listens and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from aiosmtpd.controller import Controller


def message_id(content: bytes) -> str:
    """The Message-ID header of a message, from its header block alone."""
    headers = content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in headers.splitlines():
        if line[:11].lower() == b"message-id:":
            return line[11:].strip().decode("ascii", "replace")
    return "-"


class Sink:
    """The handler: accept, and log when, how large, which Message-ID."""

    def __init__(self, log: IO[str]) -> None:
        self.log = log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        content = envelope.original_content or envelope.content
        self.log.write(f"{time.time():.6f} {len(content)} {message_id(content)}\n")
        self.log.flush()  # the benchmark follows the file while the sender runs
        return "250 OK"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.smtp_sink", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Path(args.log).open("a", encoding="ascii") as log:
        # A fixed server name: otherwise aiosmtpd looks up the host's FQDN for every connection,
        # which would cost the peer (a connection per message) more than it costs us.
        controller = Controller(Sink(log), hostname="127.0.0.1", port=args.port, server_hostname="sink.localhost")
        controller.start()
        print("ready", flush=True)
        try:
            stop.wait()
        finally:
            controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
