/**
 * The start page: choose a game, a partner and (in Hanabi) who starts, then open the game's page.
 * Starting from here always begins a new game, so any saved game of that kind is forgotten first.
 * `?participant=ID` and `?details=off|on` are passed on to the game's page.
 */
import { GAMES, fetchPartners } from "./games.js";
import { $, h } from "./dom.js";
import { forgetGame } from "./connection.js";
import { carriedParams, setUpDetails } from "./details.js";

const form = $("#start-form");
const startButton = $("#start");
const partnersBox = $("#partners");
const partnersStatus = $("#partners-status");

function choiceCard(name, value, title, text, { checked = false, disabled = false, tag = null, detail = null } = {}) {
  return h("label", { class: "choice" },
    h("input", { type: "radio", name, value, checked, disabled }),
    h("span", { class: "choice-body" },
      h("span", { class: "choice-name" }, title, tag && h("span", { class: "tag", text: tag }),
        detail && h("span", { class: "tag details", text: detail })),
      h("span", { class: "choice-text", text: text })));
}

const SEATS = [
  { seat: "0", title: "You start", text: "You make the first move; your partner answers." },
  { seat: "1", title: "Your partner starts", text: "Your partner makes the first move; you answer." },
];

function renderSeats() {
  $("#seats").replaceChildren(...SEATS.map((s, i) => choiceCard("seat", s.seat, s.title, s.text, { checked: i === 0 })));
}

function renderGames() {
  const box = $("#games");
  const firstAvailable = GAMES.find((g) => g.available);
  for (const game of GAMES) {
    box.append(choiceCard("game", game.id, game.name, game.description, {
      checked: game === firstAvailable,
      disabled: !game.available,
      tag: game.available ? null : "coming soon",
    }));
  }
}

function selectedGame() {
  const id = form.elements.game.value;
  return GAMES.find((g) => g.id === id);
}

async function loadPartners() {
  const game = selectedGame();
  partnersBox.replaceChildren();
  startButton.disabled = true;
  partnersStatus.textContent = "Loading partners…";
  let partners;
  try {
    partners = await fetchPartners(game.id);
  } catch (err) {
    partnersStatus.textContent = err.message;
    return;
  }
  if (partners.length === 0) {
    partnersStatus.textContent = `No partner is available for ${game.name} yet.`;
    return;
  }
  partnersStatus.textContent = `${partners.length} partner${partners.length > 1 ? "s" : ""} available.`;
  partners.forEach((p, i) => {
    const lambda = p.lambda === undefined || p.lambda === null ? null : `λ = ${p.lambda}`;
    partnersBox.append(choiceCard("partner", p.id, p.name, p.description, { checked: i === 0, detail: lambda }));
  });
  startButton.disabled = false;
}

function showSeats() {
  $("#seat-box").hidden = !selectedGame()?.seats;
}

function start(event) {
  event.preventDefault();
  const game = selectedGame();
  const partner = form.elements.partner?.value;
  if (!game?.available || !partner) return;
  forgetGame(game.id);
  const params = new URLSearchParams({ partner });
  if (game.seats && form.elements.seat.value !== "0") params.set("seat", form.elements.seat.value);
  for (const [name, value] of carriedParams()) params.set(name, value);
  location.assign(`${game.page}?${params}`);
}

setUpDetails();
renderGames();
renderSeats();
form.addEventListener("change", (event) => {
  if (event.target.name === "game") {
    loadPartners();
    showSeats();
  }
});
form.addEventListener("submit", start);
loadPartners();
showSeats();
