"""Flask extensions, created once and initialised by the app factory (server/app.py)."""

from flask_socketio import SocketIO

# threading mode (tests, `serve`'s default gthread worker); server/app.py sets gevent's mode under
# `serve --worker gevent` (server/concurrency.py says what each means for the game code).
socketio = SocketIO(async_mode="threading")
