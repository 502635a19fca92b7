/**
 * The games this client can play: one entry per game, with the page that plays it.
 * A game whose page is not built yet is listed with `available: false` and shown as coming soon.
 */
export const GAMES = [
  {
    id: "say-select",
    name: "Say-Select",
    description: "You see five balls, your partner does not. Say a number; your partner picks a ball or quits.",
    page: "/static/say_select.html",
    available: true,
  },
  {
    id: "hanabi",
    name: "Hanabi",
    description: "The cooperative card game: give hints, play cards in order, build fireworks together.",
    page: "/static/hanabi.html",
    available: true,
    seats: true,  // the person may take either seat
  },
];

/** The partners (trained agents) the server offers for a game: [{id, name, description, lambda}]. */
export async function fetchPartners(gameId) {
  const response = await fetch(`/api/partners?game=${encodeURIComponent(gameId)}`);
  if (!response.ok) {
    throw new Error(`the server could not list partners (HTTP ${response.status}); reload the page to try again`);
  }
  return response.json();
}
