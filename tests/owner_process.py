"""Stands in for the dashboard in tests: owns a database and serves the command line, as the
dashboard's store factory does (``service.start_owner``), without a browser.

    python tests/owner_process.py DB

prints ``READY`` once it serves. With ``KAM_TEST_HOLD_COMMIT=FILE`` every writing
transaction that bumps the data version (an import's commit among them) stops just before
its COMMIT, prints ``HOLDING`` and waits until FILE exists: a test can kill either side
at that moment. SIGTERM ends it cleanly (the owner file is removed).
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kam_core import service  # noqa: E402
from kam_core.store import Store, open_store  # noqa: E402

hold = os.environ.get("KAM_TEST_HOLD_COMMIT")
if hold:
    original = Store.bump_data_version

    def held(cur):
        original(cur)
        print("HOLDING", file=sys.__stdout__, flush=True)   # not to the command it runs for
        while not Path(hold).exists():
            time.sleep(0.05)

    Store.bump_data_version = staticmethod(held)

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
store = service.start_owner(open_store(sys.argv[1]))
print("READY", flush=True)
while True:
    time.sleep(3600)
