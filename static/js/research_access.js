/**
 * A player's keys to the games they played (server/research/access.py). A game's data (its replay, its
 * hanab.live file, the list of finished games) answers only to the researcher's login or to the person who
 * played it. The game pages keep each game's key in this tab (sessionStorage, like the game being played:
 * gone when the tab closes): the game's resume token, or for a study's game the participant's study token.
 * The replay page sends the keys it holds with its requests, in the `X-Instructplay-Tokens` header
 * (`GAME_ID:TOKEN`, comma-separated), or as `?token=` on a download link, which cannot send a header.
 */

const STORAGE_KEY = "instructplay.keys";
const MAX_KEYS = 50;  // the server reads at most this many
export const TOKEN_HEADER = "X-Instructplay-Tokens";

function keys() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY)) ?? {};
  } catch {
    return {};
  }
}

/** Keep `token` as this tab's key to game `gameId` (the newest MAX_KEYS games are kept). */
export function keepGameKey(gameId, token) {
  if (!gameId || !token) return;
  const all = keys();
  delete all[gameId];
  all[gameId] = token;
  const ids = Object.keys(all);
  for (const id of ids.slice(0, Math.max(0, ids.length - MAX_KEYS))) delete all[id];
  try {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(all));
  } catch {
    /* storage full or off: the replay then opens only for a researcher */
  }
}

/** The request headers that present this tab's key to `gameId`, or to every game it played (`gameId` null). */
export function keyHeaders(gameId = null) {
  const all = keys();
  const entries = gameId ? (all[gameId] ? [[gameId, all[gameId]]] : []) : Object.entries(all);
  return entries.length ? { [TOKEN_HEADER]: entries.map(([id, token]) => `${id}:${token}`).join(",") } : {};
}

/** `url` with this tab's key to `gameId` as `?token=`, for a link (unchanged when the tab has none). */
export function withKey(url, gameId) {
  const token = keys()[gameId];
  if (!token) return url;
  return `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}
