/**
 * The Socket.IO connection to the game server, and the saved game that lets a page resume after a
 * reconnect or a reload. The game id and its resume token live in sessionStorage: per browser tab, gone
 * when the tab closes.
 */

const storageKey = (game) => `instructplay.${game}`;

/** The saved {game_id, token, partner} for a game in this tab, or null. */
export function savedGame(game) {
  try {
    return JSON.parse(sessionStorage.getItem(storageKey(game)));
  } catch {
    return null;
  }
}

export function saveGame(game, record) {
  sessionStorage.setItem(storageKey(game), JSON.stringify(record));
}

export function forgetGame(game) {
  sessionStorage.removeItem(storageKey(game));
}

/**
 * Open the socket (the vendored client at /static/vendor/socket.io.min.js defines `io`).
 * `onConnect` runs on the first connection and again after every reconnect.
 */
export function connect({ onConnect, onDisconnect }) {
  if (typeof window.io !== "function") {
    throw new Error("the Socket.IO client did not load; reload the page");
  }
  const socket = window.io({ transports: ["websocket", "polling"] });
  socket.on("connect", onConnect);
  socket.on("disconnect", onDisconnect);
  return socket;
}
