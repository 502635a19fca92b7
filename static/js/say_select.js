/**
 * The Say-Select page: the person plays Alice against an InstructRL Bob.
 *
 * This module owns the conversation with the server (docs/PROTOCOL.md): it starts or resumes a game,
 * sends the person's moves and instructions, and turns each server event into a redraw. The server is
 * authoritative, so the page keeps only the last state it was sent and never applies a move itself.
 * Keys: 1-5 say a number, I focuses the instruction box, Enter sends it, Esc leaves it, N starts a new game.
 */
import { $, h } from "./dom.js";
import { connect, forgetGame, saveGame, savedGame } from "./connection.js";
import { fetchPartners } from "./games.js";
import { actionName, renderBars, renderTable, tableRow } from "./prior_bars.js";
import {
  buildBalls, flipBall, renderBalls, renderBobBanner, renderGameOver, renderHistory, renderScore, renderTurn,
} from "./say_select_view.js";
import { renderAgentStatus, renderPending, renderUnderstanding } from "./understanding.js";

const GAME = "say-select";
const query = new URLSearchParams(location.search);
const saved = savedGame(GAME);

const page = {
  partner: query.get("partner") ?? saved?.partner ?? null,
  participant: query.get("participant"),
  gameId: null,
  token: null,
  state: null,             // the last `state` payload
  understanding: null,     // the last `understanding` payload
  instruction: saved?.instruction ?? null, // the person's last understood instruction, carried into a new game
  sentInstruction: null,   // the instruction sent and not answered yet
  movePrior: null,         // {prior, chosen} of Bob's last move, shown until Alice moves again
  preview: null,           // the number whose prior row is previewed (hover / focus on a say button)
};

let socket;

/* ---------- sending ---------- */

function startGame() {
  page.gameId = null;
  page.state = null;
  page.movePrior = null;
  renderTurn("Starting a game…", true);
  const payload = { game: GAME, partner: page.partner, seat: 0 };
  if (page.participant) payload.participant = page.participant;
  if (page.instruction) payload.instruction = page.instruction;
  socket.emit("start_game", payload);
}

function say(n) {
  const s = page.state;
  if (!s || s.over || s.to_act !== "human" || !s.legal.some((m) => m.say === n)) return;
  page.preview = null;
  page.movePrior = null;
  socket.emit("move", { game_id: page.gameId, move: { say: n } });
  renderTurn(`You said ${n}. Bob is choosing…`, true);
  disableSays();
}

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
  renderPending(text);
}

/**
 * "Yes, that's it": the protocol has no confirm message, so the page sends Bob's reading back, in his
 * words, as the person's next instruction. It is stored like any instruction, and read clearly.
 */
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

function newGame() {
  if (page.state && !page.state.over && page.state.view.step > 0
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
    renderBobBanner(null);
    renderGameOver(null);
  }
  page.gameId = msg.game_id;
  page.token = msg.resume_token;
  page.partner = msg.partner;
  remember();
  showPartnerName(msg.partner);
}

function onState(msg) {
  if (msg.game_id !== page.gameId) return;
  page.state = msg;
  const { view } = msg;
  renderBalls(view, msg.legal, msg.to_act === "human" && !msg.over);
  renderScore(view, msg.score);
  renderHistory(view.history);
  const last = view.history.at(-1);
  renderBobBanner(last?.actor === "agent" ? last.move : null, last?.reward);
  if (msg.over) {
    renderTurn("Game over.", false);
  } else if (msg.to_act === "human") {
    renderTurn(view.step === 0 ? "Your turn: say a number from 1 to 5." : "Your turn again: say a number.", false);
  } else {
    renderTurn("Bob is choosing…", true);
  }
  renderPrior();
}

function onAgentMove(msg) {
  if (msg.game_id !== page.gameId) return;
  page.movePrior = msg.prior ? { prior: msg.prior, chosen: msg.move.quit ? "quit" : String(msg.move.select) } : null;
  if (msg.move.select) flipBall(msg.move.select);
  renderBobBanner(msg.move, msg.reward);
  renderPrior();
}

function onGameOver(msg) {
  if (msg.game_id !== page.gameId) return;
  renderTurn("Game over.", false);
  renderGameOver(msg);
  disableSays();
  $("#play-again").focus();
}

function onUnderstanding(msg) {
  if (msg.game_id !== page.gameId) return;
  if (msg.text === page.sentInstruction) {
    page.sentInstruction = null;
    if (msg.adopted !== false) {
      page.instruction = msg.text;
      remember();
    }
  }
  showUnderstanding(msg);
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
    restoreUnderstanding();
  } else if (err.event === "move" && page.state) {
    onState(page.state);
  } else if (err.event === "start_game" && err.code === "unknown_partner") {
    renderTurn("This partner is not available: choose another on the start page.", false);
  }
}

/* ---------- drawing helpers ---------- */

/** Put back what Bob last understood (or the empty card) after an instruction was refused. */
function restoreUnderstanding() {
  if (page.understanding) renderUnderstanding(page.understanding);
  else $("#understanding").replaceChildren(h("p", { class: "muted", text: "Nothing understood yet: rephrase and send again." }));
}

function showUnderstanding(u) {
  page.understanding = u;
  renderUnderstanding(u);
  renderPrior();
}

/** The prior table for Alice's next number: from the state (it knows Bob's last pick), else the understanding. */
function currentTable() {
  return page.state?.prior_table ?? page.understanding?.prior ?? null;
}

/**
 * The bars show, in order of preference: the row of the prior table for the number the person is
 * pointing at; the prior Bob used for his last move (with his choice marked) until Alice moves again;
 * the prior the server sent with the state for Bob's current turn.
 */
function renderPrior() {
  const caption = $("#prior-caption");
  const state = page.state;
  const table = currentTable();
  let prior = null;
  let chosen = null;
  if (page.preview && table) {
    prior = tableRow(table, page.preview);
    caption.textContent = `If you say ${page.preview}, Bob's prior over his moves is:`;
  } else if (page.movePrior) {
    ({ prior, chosen } = page.movePrior);
    caption.textContent = `Bob's prior for his last move; he chose ${actionName(chosen)}:`;
  } else if (state?.prior) {
    prior = state.prior;
    caption.textContent = "Bob's prior for the move he is choosing now:";
  } else {
    caption.textContent = table
      ? "Point at a number (hover, or Tab to a Say button) to see what Bob expects it to mean."
      : "Bob's prior appears here once he has read an instruction.";
  }
  renderBars($("#prior-bars"), prior, chosen);
  $("#prior-backend").textContent = prior?.backend ?? table?.backend ?? "";
  renderTable($("#prior-table"), table);
  $("#prior-table-box").hidden = !table;
}

function disableSays() {
  document.querySelectorAll(".say-button").forEach((b) => { b.disabled = true; });
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

function remember() {
  saveGame(GAME, { game_id: page.gameId, token: page.token, partner: page.partner, instruction: page.instruction });
}

/* ---------- keyboard and pointer ---------- */

function isTyping(target) {
  return target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement;
}

function onKeyDown(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTyping(event.target)) {
    if (event.target.id !== "instruction") return;
    if (event.key === "Enter" && !event.shiftKey) sendInstruction(event);
    if (event.key === "Escape") event.target.blur();
    return;
  }
  if (/^[1-5]$/.test(event.key)) {
    say(Number(event.key));
  } else if (event.key === "n" || event.key === "N") {
    newGame();
  } else if (event.key === "i" || event.key === "I") {
    event.preventDefault();
    $("#instruction").focus();
  }
}

function previewRow(n) {
  page.preview = n;
  renderPrior();
}

function wireControls() {
  buildBalls(say);
  for (let n = 1; n <= 5; n += 1) {
    const button = $(`#say-${n}`);
    for (const type of ["mouseenter", "focus"]) button.addEventListener(type, () => previewRow(n));
    for (const type of ["mouseleave", "blur"]) button.addEventListener(type, () => previewRow(null));
  }
  $("#instruction-form").addEventListener("submit", sendInstruction);
  $("#instruction").addEventListener("input", updateCounter);
  $("#new-game").addEventListener("click", newGame);
  $("#play-again").addEventListener("click", newGame);
  $("#confirm-yes").addEventListener("click", confirmReading);
  $("#confirm-rephrase").addEventListener("click", rephrase);
  document.addEventListener("keydown", onKeyDown);
}

function main() {
  wireControls();
  $("#prior-table-box").hidden = true;
  if (!page.partner) {
    location.replace("/");
    return;
  }
  try {
    socket = connect({ onConnect, onDisconnect: () => setConnection(false) });
  } catch (err) {
    renderTurn(err.message, false);
    return;
  }
  socket.on("game_started", onGameStarted);
  socket.on("state", onState);
  socket.on("agent_move", onAgentMove);
  socket.on("game_over", onGameOver);
  socket.on("understanding", onUnderstanding);
  socket.on("agent_status", (msg) => { if (msg.game_id === page.gameId) renderAgentStatus(msg); });
  socket.on("error", onError);
}

main();
