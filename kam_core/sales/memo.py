"""Results remembered per store while its data and its engine stay the same.

The tier table of a year is asked for by the pages, the criteria, the
projection, the migration and the report; the criteria's evidence and the
backtest by every page that shows them. Every import, undo, alias merge and
settings change bumps the store's data version, and a new Spark lake changes
the engine's stamp, so nothing stale is ever served. Results are shared:
callers copy a frame before they change it.
"""
from __future__ import annotations

import json
import threading
import weakref
from typing import Any, Callable, Mapping

from kam_core import engine
from kam_core.store import Store

_remembered: "weakref.WeakKeyDictionary[Store, dict]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_MAX = 128


class _Pending:
    """A result being computed by another thread: wait for it instead of computing it twice."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.failed = False


def remember(store: Store, key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()`` for ``key``, once per data version and engine of ``store`` (and once at a time)."""
    version = (store.data_version(), engine.source_stamp(store))
    with _lock:
        kept = _remembered.setdefault(store, {})
        if kept.get("_version") != version:
            kept.clear()
            kept["_version"] = version
        hit = kept.get(key)
        mine = hit is None
        if mine:
            if len(kept) > _MAX:
                kept.clear()
                kept["_version"] = version
            hit = kept[key] = _Pending()
    if not mine:
        hit.done.wait()
        if hit.failed:          # the other thread's computation failed: try it here, and raise here
            return compute()
        return hit.value
    try:
        hit.value = compute()
    except BaseException:
        hit.failed = True
        with _lock:
            if kept.get(key) is hit:
                del kept[key]
        raise
    finally:
        hit.done.set()
    return hit.value


def settings_key(settings: Mapping[str, Any]) -> str:
    """Settings as part of a key."""
    return json.dumps(dict(settings), sort_keys=True, default=str)
