/**
 * The Say-Select page: the person plays Alice against an InstructRL Bob.
 *
 * The socket, the saved game, the instruction box and the understanding card are game_page.js's; this
 * module sends the person's numbers and turns each server event into a redraw. The server is
 * authoritative, so the page keeps only the last state it was sent and never applies a move itself.
 * Keys: 1-5 say a number, I focuses the instruction box, Enter sends it, Esc leaves it, N starts a new game.
 */
import { $ } from "./dom.js";
import { setUpDetails, withDetails } from "./details.js";
import { GamePage, setTurn } from "./game_page.js";
import { renderBars, renderTable, tableRow } from "./prior_bars.js";
import {
  actionName, buildBalls, flipBall, renderBalls, renderBobBanner, renderGameOver, renderHistory, renderScore,
} from "./say_select_view.js";
import { renderAgentStatus } from "./understanding.js";

const AGENT = "Bob";

const page = {
  state: null,             // the last `state` payload
  instruction: null,       // the person's last understood instruction, carried into a new game
  movePrior: null,         // {prior, chosen} of Bob's last move, shown until Alice moves again
  preview: null,           // the number whose prior row is previewed (hover / focus on a say button)
  reasons: {},             // Bob's reason for his move at each turn, from agent_move
  training: false,         // Bob is still learning the latest instruction
};

const session = new GamePage({
  game: "say-select",
  agent: AGENT,
  startFields: () => ({ seat: 0, ...(page.instruction ? { instruction: page.instruction } : {}) }),
  onStarting: () => {
    page.state = null;
    page.movePrior = null;
    page.reasons = {};
  },
  onStarted: (msg, isNew) => {
    if (isNew) {
      renderBobBanner(null);
      renderGameOver(null);
    }
  },
  inProgress: () => Boolean(page.state && !page.state.over && page.state.view.step > 0),
  redraw: () => { if (page.state) onState(page.state); },
  onUnderstanding: (msg, answered) => {
    if (answered && msg.adopted !== false) {
      page.instruction = msg.text;
      session.remember();
    }
    renderPrior();
  },
  onKey: (event) => { if (/^[1-5]$/.test(event.key)) say(Number(event.key)); },
  savedFields: () => ({ instruction: page.instruction }),
});
page.instruction = session.saved?.instruction ?? null;

/* ---------- sending ---------- */

function say(n) {
  const s = page.state;
  if (!s || s.over || s.to_act !== "human" || !s.legal.some((m) => m.say === n)) return;
  page.preview = null;
  page.movePrior = null;
  session.send("move", { move: { say: n } });
  setTurn(`You said ${n}. Bob is choosing…`, "waiting");
  disableSays();
}

/* ---------- receiving ---------- */

function onState(msg) {
  page.state = msg;
  const { view } = msg;
  renderBalls(view, msg.legal, msg.to_act === "human" && !msg.over);
  renderScore(view, msg.score);
  renderHistory(view.history);
  const last = view.history.at(-1);
  const bobMoved = last?.actor === "agent";
  renderBobBanner(bobMoved ? last.move : null, last?.reward, bobMoved ? page.reasons[view.history.length - 1] : null);
  showTurn();
  renderPrior();
}

/** The turn line: whose move it is, and whether Bob waits for his training. */
function showTurn() {
  const msg = page.state;
  if (!msg) return;
  if (msg.over) {
    setTurn("Game over.");
  } else if (msg.to_act === "human") {
    setTurn(msg.view.step === 0 ? "Your turn: say a number from 1 to 5." : "Your turn again: say a number.", "yours");
  } else if (page.training) {
    setTurn("Bob is still learning your instruction; he moves as soon as he is ready.", "waiting");
  } else {
    setTurn("Bob is choosing…", "waiting");
  }
}

function onAgentMove(msg) {
  page.reasons[msg.turn] = msg.explanation;
  page.movePrior = msg.prior ? { prior: msg.prior, chosen: msg.move.quit ? "quit" : String(msg.move.select) } : null;
  if (msg.move.select) flipBall(msg.move.select);
  renderBobBanner(msg.move, msg.reward, msg.explanation);
  renderPrior();
}

function onAgentStatus(msg) {
  page.training = msg.status === "training" || msg.status === "queued";
  renderAgentStatus(msg, AGENT);
  showTurn();
}

function onGameOver(msg) {
  setTurn("Game over.");
  renderGameOver(msg);
  disableSays();
  $("#replay-link").href = withDetails(`/static/replay.html?game=${encodeURIComponent(msg.game_id)}`);
  $("#play-again").focus();
}

/* ---------- drawing helpers ---------- */

/** The prior table for Alice's next number: from the state (it knows Bob's last pick), else the understanding. */
function currentTable() {
  return page.state?.prior_table ?? session.understanding?.prior ?? null;
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
  renderBars($("#prior-bars"), prior, { chosen: prior ? prior.labels.map(String).indexOf(chosen) : -1, name: actionName });
  $("#prior-backend").textContent = prior?.backend ?? table?.backend ?? "";
  renderTable($("#prior-table"), table, {
    rowTitle: "You say",
    column: (label) => (label === "quit" ? "quit" : `pick ${label}`),
    caption: "Bob's prior over his moves for each number you could say",
    note: table?.previous === undefined ? null
      : `Given Bob's last pick: ${table.previous === "none" ? "none yet" : `ball ${table.previous}`}.`,
  });
  $("#prior-table-box").hidden = !table;
}

function disableSays() {
  document.querySelectorAll(".say-button").forEach((b) => { b.disabled = true; });
}

/* ---------- pointer ---------- */

function previewRow(n) {
  page.preview = n;
  renderPrior();
}

function main() {
  setUpDetails(session.query, { before: $("#new-game") });
  buildBalls(say);
  for (let n = 1; n <= 5; n += 1) {
    const button = $(`#say-${n}`);
    for (const type of ["mouseenter", "focus"]) button.addEventListener(type, () => previewRow(n));
    for (const type of ["mouseleave", "blur"]) button.addEventListener(type, () => previewRow(null));
  }
  $("#prior-table-box").hidden = true;
  session.open({
    state: onState,
    agent_move: onAgentMove,
    game_over: onGameOver,
    agent_status: onAgentStatus,
  });
}

main();
