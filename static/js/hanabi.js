/**
 * The Hanabi page: the person plays one seat, an instructed agent the other.
 *
 * This module owns the conversation with the server (docs/PROTOCOL.md): it starts or resumes a game,
 * sends moves, instructions and "why?" questions, and redraws from each server event. The server is
 * authoritative and sends this page the person's view only (never their own cards), so the page keeps
 * the last state it was sent and never applies a move itself. Drawing: hanabi_view.js.
 * Keys: arrows choose a card, P plays, D discards, R Y G W B hint a colour, 1-5 hint a rank, ? asks why,
 * I focuses the instruction box (Enter sends, Esc leaves), N starts a new game.
 */
import { $, h, percent } from "./dom.js";
import { connect, forgetGame, saveGame, savedGame } from "./connection.js";
import { fetchPartners } from "./games.js";
import {
  COLORS, COLOR_INFO, POSITIONS, cardFace, ownCard, renderDiscards, renderFireworks, renderHand, renderLog,
  renderMoveBars, renderStats,
} from "./hanabi_view.js";

const GAME = "hanabi";
const query = new URLSearchParams(location.search);
const saved = savedGame(GAME);

const page = {
  partner: query.get("partner") ?? saved?.partner ?? null,
  participant: query.get("participant"),
  seat: Number(query.get("seat") ?? 0),
  seed: query.get("seed") === null ? null : Number(query.get("seed")),
  gameId: null,
  token: null,
  state: null,           // the last `state` payload
  selected: null,        // the index of the person's selected card
  preview: null,         // the hint move being pointed at, to mark the cards it touches
  understanding: null,
  sentInstruction: null,
  lastAgentMove: null,   // the last `agent_move` payload
};

let socket;

/* ---------- sending ---------- */

function startGame() {
  Object.assign(page, { gameId: null, state: null, selected: null, lastAgentMove: null });
  setTurn("Starting a game…", true);
  const payload = { game: GAME, partner: page.partner, seat: page.seat };
  if (page.seed !== null && Number.isInteger(page.seed)) payload.seed = page.seed;
  if (page.participant) payload.participant = page.participant;
  socket.emit("start_game", payload);
}

function myTurn() {
  const s = page.state;
  return Boolean(s && !s.over && s.to_act === "human");
}

function findLegal(match) {
  return myTurn() ? page.state.legal.find(match) ?? null : null;
}

function sendMove(move) {
  if (!move) return;
  socket.emit("move", { game_id: page.gameId, move: { uid: move.uid } });
  page.selected = null;
  page.preview = null;
  setTurn("Your partner is thinking…", true);
  drawActions();
}

const playSelected = () => sendMove(findLegal((m) => m.type === "play" && m.index === page.selected));
const discardSelected = () => sendMove(findLegal((m) => m.type === "discard" && m.index === page.selected));
const hintColor = (c) => sendMove(findLegal((m) => m.type === "hint_color" && m.color === c));
const hintRank = (r) => sendMove(findLegal((m) => m.type === "hint_rank" && m.rank === r));

function sendInstruction(event) {
  event?.preventDefault();
  const box = $("#instruction");
  const text = box.value.trim();
  if (!text || !page.gameId) return;
  submitInstruction(text);
  box.value = "";
  updateCounter();
}

function submitInstruction(text) {
  page.sentInstruction = text;
  socket.emit("instruction", { game_id: page.gameId, text });
  $("#understanding").replaceChildren(
    h("p", { class: "small muted" }, "Instruction: ", h("q", { text })),
    h("p", { class: "muted", text: "Your partner is reading your instruction…" }));
  $("#clarify").hidden = true;
}

/** "Yes, that's it": the partner's reading, in its words, goes back as the next instruction. */
function confirmReading() {
  if (page.understanding?.summary) submitInstruction(page.understanding.summary);
}

function rephrase() {
  const box = $("#instruction");
  box.value = page.understanding?.text ?? "";
  updateCounter();
  box.focus();
  box.select();
}

function askWhy() {
  if (page.gameId && page.lastAgentMove) socket.emit("explain", { game_id: page.gameId, turn: page.lastAgentMove.turn });
}

function newGame() {
  if (page.state && !page.state.over && page.state.turn > 0
      && !window.confirm("Leave this game and start a new one?")) return;
  forgetGame(GAME);
  page.token = null;
  startGame();
}

/* ---------- receiving ---------- */

function onConnect() {
  setConnection(true);
  const gameId = page.gameId ?? saved?.game_id;
  const token = page.token ?? saved?.token;
  if (gameId && token) socket.emit("resume", { game_id: gameId, token });
  else startGame();
}

function onGameStarted(msg) {
  if (msg.game_id !== page.gameId) {
    $("#game-over").hidden = true;
    $("#explanation").hidden = true;
  }
  Object.assign(page, { gameId: msg.game_id, token: msg.resume_token, partner: msg.partner, seat: msg.seat });
  $("#acting-agent").textContent = msg.agent;
  saveGame(GAME, { game_id: page.gameId, token: page.token, partner: page.partner });
  showPartnerName(msg.partner);
}

function onState(msg) {
  if (msg.game_id !== page.gameId) return;
  page.state = msg;
  if (!myTurn()) page.selected = null;
  else if (page.selected === null) page.selected = 0;
  draw();
  if (msg.over) setTurn("Game over.", false);
  else if (myTurn()) setTurn("Your turn: play, discard or give a hint.", false);
  else setTurn("Your partner is thinking…", true);
}

function onAgentMove(msg) {
  if (msg.game_id !== page.gameId) return;
  page.lastAgentMove = msg;
  $("#agent-move").textContent = msg.text;
  $("#agent-move").classList.remove("muted");
  $("#explanation").hidden = true;
  $("#why").disabled = false;
  $("#acting-agent").textContent = msg.agent;
  const caption = $("#prior-caption");
  if (msg.prior) {
    caption.textContent = `What your instruction suggested for this move (λ = ${msg.lambda}${msg.lambda === 0 ? ": not used by this agent" : ""}):`;
  } else {
    caption.textContent = "No instruction yet: it played by its own policy.";
  }
  renderMoveBars($("#prior-bars"), msg.prior, msg.move.uid);
}

function onExplanation(msg) {
  if (msg.game_id !== page.gameId) return;
  const box = $("#explanation");
  box.hidden = false;
  const top = (msg.top ?? []).map((m) => h("li", {}, h("span", { text: m.move }),
    m.score !== undefined ? h("span", { class: "muted small", text: ` score ${m.score.toFixed(2)} (log π ${m.policy_logp.toFixed(2)}, prior ${m.prior_term.toFixed(2)})` })
      : h("span", { class: "muted small", text: m.rule ? ` rule: ${m.rule}` : "" })));
  box.replaceChildren(h("p", { text: msg.text }),
    top.length ? h("p", { class: "small muted", text: "Moves it weighed, best first:" }) : null,
    top.length ? h("ol", { class: "top-moves small" }, top) : null);
}

function onGameOver(msg) {
  if (msg.game_id !== page.gameId) return;
  setTurn("Game over.", false);
  $("#game-over").hidden = false;
  $("#final-score").textContent = `${msg.score} / ${msg.max_score}`;
  $("#final-detail").textContent = `${msg.reason[0].toUpperCase()}${msg.reason.slice(1)}. ${msg.turns} moves, ${msg.lives} ${msg.lives === 1 ? "life" : "lives"} left.`;
  $("#replay-link").href = `/static/replay.html?game=${encodeURIComponent(msg.game_id)}`;
  $("#play-again").focus();
}

function onUnderstanding(msg) {
  if (msg.game_id !== page.gameId) return;
  if (msg.text === page.sentInstruction) page.sentInstruction = null;
  page.understanding = msg;
  renderUnderstanding(msg);
  if (msg.adopted) $("#acting-agent").textContent = msg.agent;
}

function onError(err) {
  showNotice(err.message || `The server reported an error (${err.code}).`);
  if (err.event === "resume" && ["bad_token", "unknown_game"].includes(err.code)) {
    forgetGame(GAME);
    page.token = null;
    startGame();
  } else if (err.event === "instruction") {
    $("#instruction").value = page.sentInstruction ?? "";
    page.sentInstruction = null;
    updateCounter();
    if (page.understanding) renderUnderstanding(page.understanding);
  } else if (err.event === "move" && page.state) {
    onState(page.state);
  } else if (err.event === "start_game" && err.code === "unknown_partner") {
    setTurn("This partner is not available: choose another on the start page.", false);
  }
}

/* ---------- drawing ---------- */

function renderUnderstanding(u) {
  const items = (u.understood ?? []).map((c) => h("li", {},
    h("span", { text: c.description || c.convention }),
    h("span", { class: "weight", text: percent(c.weight), title: "weight of this reading" })));
  $("#understanding").replaceChildren(...[
    h("p", { class: "small muted" }, "Instruction: ", h("q", { text: u.text })),
    h("p", { class: "understood-summary", text: u.summary }),
    items.length ? h("ul", { class: "understood-list" }, items) : null,
    typeof u.confidence === "number" ? h("div", { class: "confidence small" },
      h("span", { text: "Confidence" }),
      h("meter", { min: "0", max: "1", value: String(u.confidence), "aria-label": "Confidence" }),
      h("span", { text: percent(u.confidence) })) : null,
    h("p", { class: "muted small", text: `Understood by: ${u.backend} · λ = ${u.lambda}` }),
    u.adopted ? null
      : h("p", { class: "not-adopted small", text: "Your partner keeps playing by your previous instruction until you confirm or rephrase." }),
  ].filter(Boolean));
  $("#clarify").hidden = !u.clarify;
  $("#clarify-question").textContent = u.question || "Is this what you meant?";
  $("#confirm-yes").hidden = !(u.understood ?? []).length;
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
  const mine = myTurn();
  renderHand($("#own-hand"), v.own_hand, (k, i) => ownCard(k, i, { selected: mine && page.selected === i, onSelect: select, disabled: !mine }));
  renderLog($("#log"), v.history);
  drawActions();
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
  } else {
    preview.textContent = mine && hasSelection ? `Card ${POSITIONS[page.selected]} selected: play or discard it, or give a hint.` : "";
  }
}

function select(index) {
  if (!myTurn() || index < 0 || index >= page.state.view.own_hand.length) return;
  page.selected = index;
  draw();
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

function setTurn(text, waiting) {
  const el = $("#turn-status");
  el.textContent = text;
  el.classList.toggle("waiting", waiting);
}

function updateCounter() {
  $("#instruction-count").textContent = String($("#instruction").value.length);
}

function setConnection(online) {
  const el = $("#connection");
  el.textContent = online ? "Connected" : "Reconnecting…";
  el.classList.toggle("offline", !online);
}

let noticeTimer;
function showNotice(text) {
  const notice = $("#notice");
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice.hidden = true; }, 10000);
}

async function showPartnerName(partnerId) {
  $("#partner-name").textContent = partnerId;
  try {
    const partner = (await fetchPartners(GAME)).find((p) => p.id === partnerId);
    if (partner) $("#partner-name").textContent = partner.name;
  } catch {
    /* the id stays: the name is only cosmetic */
  }
}

/* ---------- keyboard ---------- */

function onKeyDown(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement) {
    if (target.id !== "instruction") return;
    if (event.key === "Enter" && !event.shiftKey) sendInstruction(event);
    if (event.key === "Escape") target.blur();
    return;
  }
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
  else if (upper === "N") newGame();
  else if (upper === "I") {
    event.preventDefault();
    $("#instruction").focus();
  } else if (key === "Escape") {
    page.preview = null;
    drawActions();
  }
}

function main() {
  buildHintButtons();
  $("#play").addEventListener("click", playSelected);
  $("#discard").addEventListener("click", discardSelected);
  $("#why").addEventListener("click", askWhy);
  $("#instruction-form").addEventListener("submit", sendInstruction);
  $("#instruction").addEventListener("input", updateCounter);
  $("#new-game").addEventListener("click", newGame);
  $("#play-again").addEventListener("click", newGame);
  $("#confirm-yes").addEventListener("click", confirmReading);
  $("#confirm-rephrase").addEventListener("click", rephrase);
  document.addEventListener("keydown", onKeyDown);
  if (!page.partner) {
    location.replace("/");
    return;
  }
  try {
    socket = connect({ onConnect, onDisconnect: () => setConnection(false) });
  } catch (err) {
    setTurn(err.message, false);
    return;
  }
  socket.on("game_started", onGameStarted);
  socket.on("state", onState);
  socket.on("agent_move", onAgentMove);
  socket.on("explanation", onExplanation);
  socket.on("game_over", onGameOver);
  socket.on("understanding", onUnderstanding);
  socket.on("error", onError);
}

main();
