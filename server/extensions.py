"""Flask extensions, created once and initialised by the app factory (server/app.py)."""

from flask_socketio import SocketIO

# threading mode (tests, `serve --worker gthread`); server/app.py sets gevent's mode under `serve`'s
# default gevent worker (server/concurrency.py says what each means for the game code).
socketio = SocketIO(async_mode="threading")
