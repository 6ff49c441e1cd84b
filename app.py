"""The dashboard's server: Streamlit's ASGI app around the frame ``dashboard.py``.

``python3 -m streamlit run app.py`` starts it. Besides the pages it serves the
session cookie route and guards download links (``kam_core/ui/web.py``), and
shows a failure in a widget callback as a short message with an error id
(``kam_core/ui/errors.py``).
"""
from contextlib import asynccontextmanager

import streamlit as st

from kam_core import service
from kam_core.ui import errors, web


def store():
    """The dashboard's one store (imported late: the pages' caches must be made once the runtime runs)."""
    from kam_core.ui import context

    return context.get_store()


web.track_media_owners()


@asynccontextmanager
async def lifespan(_app):
    """On shutdown, stop what the dashboard runs as the database's owner (its owner file goes)."""
    yield
    service.stop_all()


app = st.App("dashboard.py", routes=web.session_routes(store), middleware=[web.media_guard(store)],
             on_script_error=errors.show_failure, lifespan=lifespan)
