/**
 * The replay page: a finished game stepped through move by move, rebuilt by the server from the
 * database alone (`GET /api/games/<id>/replay`). Without `?game=ID` it lists the finished games.
 * Hanabi positions show both hands face up with what each player knew; Say-Select positions show the balls.
 * Keys: ←/→ step, Home/End jump to the first/last position.
 */
import { $, h, showNotice, signed } from "./dom.js";
import { fetchPartners } from "./games.js";
import {
  POSITIONS, cardFace, renderDiscards, renderFireworks, renderHand, renderLog, renderStats,
} from "./hanabi_view.js";

const gameId = new URLSearchParams(location.search).get("game");
const replay = { data: null, at: 0 };

async function getJson(url) {
  const response = await fetch(url);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `the server answered HTTP ${response.status}`);
  return body;
}

/* ---------- the list of finished games ---------- */

async function listGames() {
  $("#games-box").hidden = false;
  const games = await getJson("/api/games?limit=100");
  if (!games.length) {
    $("#games").replaceChildren(h("p", { class: "muted", text: "No game has finished yet." }));
    return;
  }
  $("#games").replaceChildren(h("table", { class: "games-table" },
    h("thead", {}, h("tr", {}, ["Finished", "Game", "Partner", "Seed", "Score", "Moves", ""].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, games.map((g) => h("tr", {},
      h("td", { text: new Date(g.ended_at).toLocaleString() }), h("td", { text: g.game }), h("td", { text: g.partner }),
      h("td", { class: "num", text: String(g.seed) }), h("td", { class: "num", text: String(g.score) }),
      h("td", { class: "num", text: String(g.turns) }),
      h("td", {}, h("a", { href: `?game=${encodeURIComponent(g.game_id)}`, text: "Replay" })))))));
}

/* ---------- one game ---------- */

async function loadGame() {
  replay.data = await getJson(`/api/games/${encodeURIComponent(gameId)}/replay`);
  const d = replay.data;
  const partner = (await fetchPartners(d.game).catch(() => [])).find((p) => p.id === d.partner)?.name ?? d.partner;
  $("#replay").hidden = false;
  $("#replay-title").textContent = `Replay: ${d.game === "hanabi" ? "Hanabi" : "Say-Select"} with ${partner}`;
  if (d.game === "hanabi") {
    const link = $("#download");
    link.hidden = false;
    link.href = `/api/games/${encodeURIComponent(d.game_id)}/hanablive.json`;
    link.setAttribute("download", `hanabi-${d.game_id}.json`);
  }
  const facts = [["Game", d.game_id], ["Partner", partner], ["Your seat", String(d.seat)], ["Seed", String(d.seed)],
    ["Started", new Date(d.created_at).toLocaleString()], ["Finished", new Date(d.ended_at).toLocaleString()],
    ["Final score", d.game === "hanabi" ? `${d.outcome.score} / ${d.outcome.max_score}` : String(d.outcome.score)]];
  if (d.outcome.reason) facts.push(["Ended", d.outcome.reason]);
  $("#facts").replaceChildren(...facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]));
  $("#scrub").max = String(d.frames.length - 1);
  go(d.frames.length - 1);
}

function go(index) {
  const frames = replay.data.frames;
  replay.at = Math.max(0, Math.min(frames.length - 1, index));
  $("#scrub").value = String(replay.at);
  $("#position").textContent = `Move ${replay.at} of ${frames.length - 1}`;
  $("#first").disabled = $("#back").disabled = replay.at === 0;
  $("#last").disabled = $("#forward").disabled = replay.at === frames.length - 1;
  const frame = frames[replay.at];
  if (replay.data.game === "hanabi") drawHanabi(frame);
  else drawSaySelect(frame);
}

function drawHanabi(frame) {
  const move = frame.move;
  $("#replay-move").textContent = move ? `${move.turn + 1}. ${move.text}` : "The deal.";
  const notes = [];
  if (frame.instructions?.length) notes.push(`Instruction before this move: ${frame.instructions.map((i) => `“${i.text}”${i.adopted ? "" : " (unclear, not adopted)"}`).join(", ")}`);
  if (move?.agent) notes.push(`${move.agent.label}, λ = ${move.lam}. ${move.explanation ?? ""}`);
  if (frame.over) notes.push(`Game over: ${frame.score} points.`);
  $("#replay-note").textContent = notes.join(" · ");

  const view = $("#table-view");
  if (!view.firstChild) {
    view.append(
      h("div", { class: "status-line" }, h("span", {}),
        h("div", { class: "scoreboard", "aria-label": "Score and tokens" },
          ["score", "hints", "lives", "deck"].map((k) => h("div", { class: "stat" },
            h("span", { class: "stat-label", text: k[0].toUpperCase() + k.slice(1) }), h("span", { class: "stat-value", id: `stat-${k}` }))))),
      h("div", { class: "zone" }, h("h2", { class: "zone-title", text: "Agent's hand" }), h("div", { class: "hand", id: "agent-hand" })),
      h("div", { class: "zone middle" },
        h("div", {}, h("h2", { class: "zone-title", text: "Fireworks" }), h("div", { class: "stacks", id: "fireworks" })),
        h("div", {}, h("h2", { class: "zone-title", text: "Discards" }), h("div", { class: "discards", id: "discards" }))),
      h("div", { class: "zone" }, h("h2", { class: "zone-title", text: "Person's hand" }), h("div", { class: "hand", id: "human-hand" })));
  }
  renderStats(document, { ...frame, max_score: 25, max_hints: 8, max_lives: 3 });
  const touched = (who) => (move && move.touched && move.actor !== who ? new Set(move.touched) : new Set());
  for (const who of ["agent", "human"]) {
    const marks = touched(who);
    renderHand($(`#${who}-hand`), frame.hands[who], (c, i) => cardFace(c, {
      knowledge: c, touched: marks.has(i), label: `${who === "agent" ? "Agent" : "Person"}'s card ${POSITIONS[i]}` }));
  }
  renderFireworks($("#fireworks"), frame.fireworks);
  renderDiscards($("#discards"), frame.discards);
  const history = replay.data.frames.slice(1).map((f) => f.move);
  renderLog($("#log"), history, move ? move.turn : -1);
}

function drawSaySelect(frame) {
  const move = frame.move;
  const words = !move ? "The deal." : move.move.say ? `You said ${move.move.say}.`
    : move.move.quit ? "Bob quit." : `Bob picked ball ${move.move.select}: ${signed(move.reward)}`;
  $("#replay-move").textContent = move ? `${frame.turn}. ${words}` : words;
  $("#replay-note").textContent = [move?.explanation, frame.over ? `Game over: score ${frame.score.toFixed(2)}.` : ""].filter(Boolean).join(" · ");
  $("#table-view").replaceChildren(h("div", { class: "balls-row" }, frame.view.balls.map((b, i) => h("div", {
    class: `ball ${b > 0 ? "plus" : "minus"}`, role: "img", "aria-label": `ball ${i + 1}: ${signed(b)}` },
  h("span", { class: "ball-symbol", "aria-hidden": "true", text: b > 0 ? "▲" : "▼" }),
  h("span", { class: "ball-value", "aria-hidden": "true", text: signed(b) })))));
  $("#log").replaceChildren(...frame.view.history.map((e, i) => h("li", {},
    h("span", { class: "step", text: `${i + 1}.` }),
    h("span", { text: e.move.say ? `You said ${e.move.say}` : e.move.quit ? "Bob quit" : `Bob picked ball ${e.move.select}: ${signed(e.reward)}` }))));
}

function onKeyDown(event) {
  if (!replay.data || event.ctrlKey || event.metaKey || event.altKey) return;
  const step = { ArrowLeft: replay.at - 1, ArrowRight: replay.at + 1, Home: 0, End: replay.data.frames.length - 1 }[event.key];
  if (step === undefined || event.target instanceof HTMLInputElement) return;
  event.preventDefault();
  go(step);
}

function main() {
  $("#first").addEventListener("click", () => go(0));
  $("#back").addEventListener("click", () => go(replay.at - 1));
  $("#forward").addEventListener("click", () => go(replay.at + 1));
  $("#last").addEventListener("click", () => go(replay.data.frames.length - 1));
  $("#scrub").addEventListener("input", (e) => go(Number(e.target.value)));
  document.addEventListener("keydown", onKeyDown);
  (gameId ? loadGame() : listGames()).catch((err) => showNotice(`Could not load ${gameId ? "this game" : "the games"}: ${err.message}`, null));
}

main();
