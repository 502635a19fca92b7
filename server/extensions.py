"""Flask extensions, created once and initialised by the app factory (server/app.py)."""

from flask_socketio import SocketIO

# threading mode everywhere (never eventlet): the most compatible mode, and agent code is CPU-bound.
socketio = SocketIO(async_mode="threading")
