"""The instructplay game server: Flask-SocketIO app, game rooms, agent runner, database, export."""
