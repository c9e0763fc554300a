"""Loaded by every Python process of a test run whose PYTHONPATH names this folder.

It records, in the file ``WB_NET_LOG`` names, each process's start (pid, argv, its telemetry
settings) and every outbound connection attempt or name lookup (Python's audit events
``socket.connect`` and ``socket.getaddrinfo``), so a test can prove that nothing leaves the machine.
"""

import json
import os
import sys

_LOG = os.environ.get("WB_NET_LOG")


def _write(record):
    try:
        with open(_LOG, "a") as fh:
            fh.write(json.dumps(record) + "\n")
    except OSError:
        pass


def _hook(event, args):
    if event == "socket.connect":
        sock, address = args[0], args[1]
        _write(
            {
                "pid": os.getpid(),
                "event": "connect",
                "family": int(sock.family),
                "address": address if isinstance(address, str) else list(address)[:2],
            }
        )
    elif event == "socket.getaddrinfo":
        _write({"pid": os.getpid(), "event": "lookup", "host": str(args[0])})


if _LOG:
    _write(
        {
            "pid": os.getpid(),
            "event": "start",
            "argv": sys.argv[:4],
            "MLFLOW_DISABLE_TELEMETRY": os.environ.get("MLFLOW_DISABLE_TELEMETRY"),
            "DO_NOT_TRACK": os.environ.get("DO_NOT_TRACK"),
        }
    )
    sys.addaudithook(_hook)
