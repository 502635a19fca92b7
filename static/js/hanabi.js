/**
 * The Hanabi page: the person plays one seat, an instructed agent the other.
 *
 * The socket, the saved game, the instruction box and the understanding card are game_page.js's; this
 * module sends moves and "why?" questions and redraws from each server event (docs/PROTOCOL.md). The
 * server is authoritative and sends this page the person's view only (never their own cards), so the
 * page keeps the last state it was sent and never applies a move itself. Drawing: hanabi_view.js.
 * Keys: arrows choose a card, P plays, D discards, R Y G W B hint a colour, 1-5 hint a rank, ? asks why,
 * I focuses the instruction box (Enter sends, Esc leaves), N starts a new game.
 *
 * A card can be chosen at any moment, the partner's turn included: the choice stays through every redraw
 * until the person plays or discards it or the game ends. A card chosen while the person's own play or
 * discard is on its way to the server keeps its place when the hand closes up around the card that left.
 * The game_over message shows the person's own cards at last.
 */
import { $, h, percent } from "./dom.js";
import { setUpDetails, withDetails } from "./details.js";
import { GamePage, setTurn } from "./game_page.js";
import {
  COLORS, COLOR_INFO, POSITIONS, cardFace, ownCard, renderDiscards, renderFireworks, renderHand, renderLog, renderStats,
} from "./hanabi_view.js";
import { renderBars } from "./prior_bars.js";

const session = new GamePage({
  game: "hanabi",
  agent: "Your partner",
  startFields: () => ({ seat: page.seat, ...(Number.isInteger(page.seed) ? { seed: page.seed } : {}) }),
  onStarting: () => Object.assign(page, { state: null, selected: null, lastAgentMove: null, sentAt: null, leaving: null,
    hands: null }),
  onStarted: (msg, isNew) => {
    if (isNew) forgetLastGame();
    page.seat = msg.seat;
    showActingAgent(msg);
  },
  inProgress: () => Boolean(page.state && !page.state.over && page.state.turn > 0),
  redraw: () => {
    page.sentAt = page.leaving = null;  // the move was refused: nothing is on its way
    if (page.state) onState(page.state);
  },
  onUnderstanding: (msg) => { if (msg.adopted) showActingAgent(msg); },
  onKey,
});

const page = {
  seat: Number(session.query.get("seat") ?? 0),  // the person's seat (?seat=1: the agent starts)
  seed: session.query.get("seed") === null ? null : Number(session.query.get("seed")),  // the deal, or null
  state: null,           // the last `state` payload
  selected: null,        // the index of the person's selected card (chosen at any moment, kept until used)
  sentAt: null,          // the turn of the person's move on its way to the server, else null
  leaving: null,         // the position of the card that move plays or discards, else null
  preview: null,         // the hint move being pointed at, to mark the cards it touches
  lastAgentMove: null,   // the last `agent_move` payload
  hands: null,           // both hands face up, from game_over (by seat)
};

/** "Playing now": the agent in plain words, and for researchers what it is (a checkpoint file). */
function showActingAgent(msg) {
  $("#acting-agent").textContent = msg.agent;
  $("#acting-agent-detail").textContent = msg.agent_detail ? ` (${msg.agent_detail})` : "";
}

/* ---------- sending ---------- */

function myTurn() {
  const s = page.state;
  return Boolean(s && !s.over && s.to_act === "human");
}

function findLegal(match) {
  return myTurn() ? page.state.legal.find(match) ?? null : null;
}

/** Whether the person can choose a card now: at any moment of the game. */
function canChoose() {
  const s = page.state;
  return Boolean(s && !s.over);
}

function sendMove(move) {
  if (!move) return;
  session.send("move", { move: { uid: move.uid } });
  page.sentAt = page.state.turn;
  if (move.type === "play" || move.type === "discard") {
    page.leaving = move.index;  // that card leaves the hand: the ones after it move up one place
    page.selected = null;
  }
  page.preview = null;
  setTurn("Your partner is thinking…", "waiting");
  draw();
}

const playSelected = () => sendMove(findLegal((m) => m.type === "play" && m.index === page.selected));
const discardSelected = () => sendMove(findLegal((m) => m.type === "discard" && m.index === page.selected));
const hintColor = (c) => sendMove(findLegal((m) => m.type === "hint_color" && m.color === c));
const hintRank = (r) => sendMove(findLegal((m) => m.type === "hint_rank" && m.rank === r));

function askWhy() {
  if (page.lastAgentMove) session.send("explain", { turn: page.lastAgentMove.turn });
}

/* ---------- receiving ---------- */

function onState(msg) {
  page.state = msg;
  if (page.sentAt !== null && msg.turn > page.sentAt) {  // the move sent is applied: the hand closed up
    if (page.leaving !== null && page.selected !== null && page.selected > page.leaving) page.selected -= 1;
    page.sentAt = page.leaving = null;
  }
  if (msg.over || (page.selected !== null && page.selected >= msg.view.own_hand.length)) page.selected = null;
  else if (myTurn() && page.selected === null) page.selected = 0;
  draw();
  if (msg.over) setTurn("Game over.");
  else if (myTurn()) setTurn("Your turn: play, discard or give a hint.", "yours");
  else setTurn("Your partner is thinking…", "waiting");
}

function onAgentMove(msg) {
  page.lastAgentMove = msg;
  $("#agent-move").textContent = msg.text;
  $("#agent-move").classList.remove("muted");
  $("#explanation").hidden = true;
  $("#why").disabled = false;
  showActingAgent(msg);
  const caption = $("#prior-caption");
  if (msg.prior) {
    caption.textContent = `What your instruction suggested for this move (λ = ${msg.lambda}${msg.lambda === 0 ? ": not used by this agent" : ""}):`;
  } else {
    caption.textContent = "No instruction yet: your partner played by its training alone.";
  }
  renderBars($("#prior-bars"), msg.prior, { chosen: msg.prior ? msg.prior.uids.indexOf(msg.move.uid) : -1 });
}

/**
 * The agent's answer to "Why?": its reason in one sentence; for researchers (Details), the moves it weighed
 * with how likely its training made each (a rule bot: the rule) and the scores (sent once the game is over).
 */
function onExplanation(msg) {
  const box = $("#explanation");
  box.hidden = false;
  const top = msg.top ?? [];
  const scored = top.filter((m) => m.score !== undefined);
  const note = (m) => (m.score !== undefined ? ` ${percent(Math.exp(m.policy_logp))}` : m.rule ? ` · rule: ${m.rule}` : "");
  const items = top.map((m) => h("li", {}, h("span", { text: m.move }), h("span", { class: "muted", text: note(m) })));
  box.replaceChildren(...[h("p", { class: "explanation-text", text: msg.text }),
    items.length ? h("div", { class: "details" },
      h("p", { class: "small muted", text: scored.length
        ? "Moves it weighed, best first, each with how likely its training alone made it:" : "Moves it weighed, best first:" }),
      h("ol", { class: "top-moves small" }, items),
      scored.length ? h("details", { class: "scores small" },
        h("summary", { text: "Scores: log π + λ log prior" }),
        h("ol", { class: "top-moves" }, scored.map((m) => h("li", { text:
          `${m.move}: ${m.score.toFixed(2)} = ${m.policy_logp.toFixed(2)} + ${m.prior_term.toFixed(2)}` })))) : null) : null]
    .filter(Boolean));
}

function onGameOver(msg) {
  setTurn("Game over.");
  $("#game-over").hidden = false;
  $("#final-score").textContent = `${msg.score} / ${msg.max_score}`;
  $("#final-detail").textContent = `${msg.reason[0].toUpperCase()}${msg.reason.slice(1)}. ${msg.turns} moves, ${msg.lives} ${msg.lives === 1 ? "life" : "lives"} left.`;
  $("#replay-link").href = withDetails(`/static/replay.html?game=${encodeURIComponent(msg.game_id)}`);
  page.hands = msg.hands ?? null;
  draw();
  $("#play-again").focus();
}

/* ---------- drawing ---------- */

/** Clear what the last game left on the page: its final score and the partner's last move. */
function forgetLastGame() {
  $("#game-over").hidden = true;
  $("#explanation").hidden = true;
  $("#why").disabled = true;
  $("#agent-move").textContent = "It has not moved yet.";
  $("#agent-move").classList.add("muted");
  $("#prior-caption").textContent = "";
  $("#prior-bars").replaceChildren();
  $("#own-hand-title").textContent = "you see only what hints told you";
}

/** The partner's cards a hint move would touch. */
function touchedBy(move, hand) {
  if (!move) return new Set();
  return new Set(hand.flatMap((c, i) => ((move.type === "hint_color" ? c.color === move.color : c.rank === move.rank) ? [i] : [])));
}

function draw() {
  const s = page.state;
  if (!s) return;
  const v = s.view;
  renderStats(document, v);
  const touched = touchedBy(page.preview, v.partner_hand);
  renderHand($("#partner-hand"), v.partner_hand, (c, i) => cardFace(c, { knowledge: c, touched: touched.has(i), label: `Partner's card ${POSITIONS[i]}` }));
  renderFireworks($("#fireworks"), v.fireworks);
  renderDiscards($("#discards"), v.discards);
  drawOwnHand(v);
  renderLog($("#log"), v.history);
  $("#actions").hidden = s.over;
  drawActions();
}

/**
 * The person's hand: what hints told them, each card a button that chooses it (at any moment of the game);
 * once the game is over, the cards themselves (from game_over). Keyboard focus stays on the card it was on.
 */
function drawOwnHand(v) {
  const box = $("#own-hand");
  const focused = box.contains(document.activeElement) ? document.activeElement.dataset.index : undefined;
  const cards = page.hands?.[page.seat];
  if (page.state.over && cards) {
    $("#own-hand-title").textContent = "the game is over: here are your cards";
    renderHand(box, cards, (c, i) => cardFace(c, { knowledge: v.own_hand[i], label: `Your card ${POSITIONS[i]}` }));
    return;
  }
  const choosing = canChoose();
  renderHand(box, v.own_hand, (k, i) => ownCard(k, i, { selected: choosing && page.selected === i, onSelect: select, disabled: !choosing }));
  if (focused !== undefined) box.querySelector(`[data-index="${focused}"]`)?.focus();
}

function drawActions() {
  const mine = myTurn();
  const hasSelection = page.selected !== null;
  $("#play").disabled = !(mine && hasSelection && findLegal((m) => m.type === "play" && m.index === page.selected));
  $("#discard").disabled = !(mine && hasSelection && findLegal((m) => m.type === "discard" && m.index === page.selected));
  $("#discard").title = mine && page.state.view.hints === 8 ? "You cannot discard with all 8 hint tokens" : "";
  document.querySelectorAll("[data-hint]").forEach((b) => {
    const move = JSON.parse(b.dataset.hint);
    b.disabled = !findLegal((m) => m.type === move.type && (m.color ?? m.rank) === (move.color ?? move.rank));
  });
  const v = page.state?.view;
  const preview = $("#hint-preview");
  if (page.preview && v) {
    const touched = [...touchedBy(page.preview, v.partner_hand)].map((i) => POSITIONS[i]);
    const what = page.preview.type === "hint_color" ? COLOR_INFO[page.preview.color].name : `${page.preview.rank}s`;
    preview.textContent = touched.length ? `Hint ${what}: touches your partner's ${touched.join(", ")}.` : `Your partner has no ${what}.`;
  } else if (hasSelection && canChoose()) {
    preview.textContent = mine ? `Card ${POSITIONS[page.selected]} selected: play or discard it, or give a hint.`
      : `Card ${POSITIONS[page.selected]} selected: play or discard it when your turn comes.`;
  } else {
    preview.textContent = "";
  }
}

function select(index) {
  if (!canChoose() || index === page.leaving || index < 0 || index >= page.state.view.own_hand.length) return;
  const again = page.selected === index;
  page.selected = index;
  if (!again) draw();
  document.querySelector(`#own-hand [data-index="${index}"]`)?.focus();
}

function buildHintButtons() {
  const preview = (move) => { page.preview = move; draw(); };
  const button = (move, text, label, keys, cls) => {
    const b = h("button", { type: "button", class: `hint ${cls}`, "data-hint": JSON.stringify(move), "aria-label": label,
      "aria-keyshortcuts": keys, disabled: true, onclick: () => sendMove(findLegal((m) => m.type === move.type && (m.color ?? m.rank) === (move.color ?? move.rank))) }, text);
    for (const type of ["mouseenter", "focus"]) b.addEventListener(type, () => preview(move));
    for (const type of ["mouseleave", "blur"]) b.addEventListener(type, () => preview(null));
    return b;
  };
  $("#color-hints").replaceChildren(...COLORS.map((c) => button({ type: "hint_color", color: c },
    [h("span", { "aria-hidden": "true", text: COLOR_INFO[c].symbol }), ` ${c}`], `Hint ${COLOR_INFO[c].name} (key ${c})`, c.toLowerCase(), `c-${c}`)));
  $("#rank-hints").replaceChildren(...[1, 2, 3, 4, 5].map((r) => button({ type: "hint_rank", rank: r },
    String(r), `Hint ${r}s (key ${r})`, String(r), "rank-hint")));
}

/* ---------- keyboard ---------- */

/** The table's keys (game_page.js handles N, I and the instruction box). */
function onKey(event) {
  const key = event.key;
  const upper = key.length === 1 ? key.toUpperCase() : key;
  if (key === "ArrowLeft" || key === "ArrowRight") {
    event.preventDefault();
    const n = page.state?.view.own_hand.length ?? 0;
    if (n) select(((page.selected ?? 0) + (key === "ArrowLeft" ? n - 1 : 1)) % n);
  } else if (upper === "P") playSelected();
  else if (upper === "D") discardSelected();
  else if (COLORS.includes(upper)) hintColor(upper);
  else if (/^[1-5]$/.test(key)) hintRank(Number(key));
  else if (key === "?") askWhy();
  else if (key === "Escape") {
    page.preview = null;
    drawActions();
  }
}

function main() {
  setUpDetails(session.query, { before: $("#new-game") });
  buildHintButtons();
  $("#play").addEventListener("click", playSelected);
  $("#discard").addEventListener("click", discardSelected);
  $("#why").addEventListener("click", askWhy);
  session.open({
    state: onState,
    agent_move: onAgentMove,
    explanation: onExplanation,
    game_over: onGameOver,
  });
}

main();
