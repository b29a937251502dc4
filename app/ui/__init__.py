"""The Touchline app: a Panel page over the store.

Three parts, after Panel's own guidance: :mod:`app.ui.data` owns reading the
store and caches what it read; :mod:`app.ui.views` shows it; :mod:`app.ui.main`
only composes them and serves the page. Run ``python -m app.ui --db PATH`` to
serve it without the ``touchline`` command.
"""

from app.ui.main import build_app, serve

__all__ = ["build_app", "serve"]
