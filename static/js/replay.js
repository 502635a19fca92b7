/**
 * The replay page: a finished game stepped through move by move, rebuilt by the server from the
 * database alone (`GET /api/games/<id>/replay`), from the deal on. Without `?game=ID` it lists the
 * finished games.
 * Hanabi positions show both hands face up with what each player knew; Say-Select positions show the
 * balls, the instructions given and, for Bob's moves, his reason (and, behind Details, his prior and how he
 * weighed his moves). Keys: ←/→ step, Home/End jump to the first/last position.
 */
import { $, h, showNotice, signed } from "./dom.js";
import { setUpDetails } from "./details.js";
import { GAMES, fetchPartners } from "./games.js";
import {
  POSITIONS, cardFace, renderDiscards, renderFireworks, renderHand, renderLog, renderStats,
} from "./hanabi_view.js";
import { renderBars } from "./prior_bars.js";
import { keyHeaders, withKey } from "./research_access.js";
import { actionName } from "./say_select_view.js";

const query = new URLSearchParams(location.search);
const gameId = query.get("game");
const replay = { data: null, at: 0 };

async function getJson(url) {
  const response = await fetch(url, { headers: keyHeaders(gameId) });  // the player's key (or the researcher's login)
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `the server answered HTTP ${response.status}`);
  return body;
}

const gameName = (id) => GAMES.find((g) => g.id === id)?.name ?? id;

/** A final score as people read it: Hanabi's points out of 25, Say-Select's total reward ÷ k to 2 decimals. */
export function formatScore(game, score, maxScore = 25) {
  if (typeof score !== "number") return "–";
  return game === "hanabi" ? `${score} / ${maxScore}` : score.toFixed(2);
}

/** The partners' names by game and id ({game: {id: name}}), for the games listed. */
async function partnerNames(games) {
  const names = {};
  for (const game of new Set(games)) {
    const partners = await fetchPartners(game).catch(() => []);
    names[game] = Object.fromEntries(partners.map((p) => [p.id, p.name]));
  }
  return names;
}

/* ---------- the list of finished games ---------- */

async function listGames() {
  $("#games-box").hidden = false;
  const games = await getJson("/api/games?limit=100");
  if (!games.length) {
    $("#games").replaceChildren(h("p", { class: "muted", text: "No game has finished yet." }));
    return;
  }
  const names = await partnerNames(games.map((g) => g.game));
  const headings = [["Finished"], ["Game"], ["Partner"], ["Seed", "seed details"], ["Score", "num"], ["Moves", "moves num"], ["Replay"]];
  $("#games").replaceChildren(h("div", { class: "table-scroll" }, h("table", { class: "games-table" },
    h("caption", { class: "visually-hidden", text: "Finished games, newest first" }),
    h("thead", {}, h("tr", {}, headings.map(([t, cls]) => h("th", { scope: "col", class: cls ?? null, text: t })))),
    h("tbody", {}, games.map((g) => h("tr", {},
      h("td", { text: new Date(g.ended_at).toLocaleString() }),
      h("td", { text: gameName(g.game) }),
      h("td", { text: names[g.game]?.[g.partner] ?? g.partner }),
      h("td", { class: "num seed details", text: String(g.seed) }),
      h("td", { class: "num", text: formatScore(g.game, g.score) }),
      h("td", { class: "num moves", text: String(g.turns) }),
      h("td", {}, h("a", { href: `?${new URLSearchParams({ ...Object.fromEntries(query), game: g.game_id })}`,
        "aria-label": `Replay the ${gameName(g.game)} game that finished ${new Date(g.ended_at).toLocaleString()}`,
        text: "Replay" }))))))));
}

/* ---------- one game ---------- */

async function loadGame() {
  replay.data = await getJson(`/api/games/${encodeURIComponent(gameId)}/replay`);
  const d = replay.data;
  const partner = (await partnerNames([d.game]))[d.game]?.[d.partner] ?? d.partner;
  $("#replay").hidden = false;
  $("#replay-title").textContent = `Replay: ${gameName(d.game)} with ${partner}`;
  if (d.game === "hanabi") {
    const link = $("#download");
    link.hidden = false;
    link.href = withKey(`/api/games/${encodeURIComponent(d.game_id)}/hanablive.json`, d.game_id);
    link.setAttribute("download", `hanabi-${d.game_id}.json`);
  }
  const facts = [["Partner", partner], ["Who started", Number(d.seat) === 0 ? "You" : "Your partner"],
    ["Started", new Date(d.created_at).toLocaleString()], ["Finished", new Date(d.ended_at).toLocaleString()],
    ["Final score", formatScore(d.game, d.outcome.score, d.outcome.max_score)]];
  if (d.outcome.reason) facts.push(["Ended", d.outcome.reason]);
  const detailFacts = [["Game", d.game_id], ["Seed", String(d.seed)]];
  $("#facts").replaceChildren(...facts.flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })]),
    ...detailFacts.flatMap(([k, v]) => [h("dt", { class: "details", text: k }), h("dd", { class: "details", text: v })]));
  $("#scrub").max = String(d.frames.length - 1);
  go(0);  // from the deal on
}

function go(index) {
  const frames = replay.data.frames;
  replay.at = Math.max(0, Math.min(frames.length - 1, index));
  $("#scrub").value = String(replay.at);
  $("#scrub").setAttribute("aria-valuetext", replay.at === 0 ? "the deal" : `move ${replay.at} of ${frames.length - 1}`);
  $("#position").textContent = `Move ${replay.at} of ${frames.length - 1}`;
  $("#first").disabled = $("#back").disabled = replay.at === 0;
  $("#last").disabled = $("#forward").disabled = replay.at === frames.length - 1;
  const frame = frames[replay.at];
  if (replay.data.game === "hanabi") drawHanabi(frame);
  else drawSaySelect(frame);
}

/** The instructions typed just before a move, in words. */
function instructionNote(frame) {
  if (!frame.instructions?.length) return null;
  return `Instruction before this move: ${frame.instructions.map((i) => `“${i.text}”${i.adopted ? "" : " (unclear, not followed)"}`
  ).join(", ")}`;
}

function drawHanabi(frame) {
  const move = frame.move;
  $("#replay-move").textContent = move ? `${move.turn + 1}. ${move.text}` : "The deal.";
  const notes = [instructionNote(frame)];
  if (move?.agent) {
    notes.push(`${move.explanation ?? ""}`);
    notes.push(h("span", { class: "details", text: `${move.agent.label}${move.agent.source ? ` (${move.agent.source.split("/").pop()})` : ""}, λ = ${move.lam}` }));
  }
  if (frame.over) notes.push(`Game over: ${frame.score} points.`);
  showNotes(notes);

  const view = $("#table-view");
  if (!view.querySelector("#agent-hand")) {
    view.replaceChildren(
      h("div", { class: "status-line" }, h("span", {}),
        h("div", { class: "scoreboard", "aria-label": "Score and tokens" },
          ["score", "hints", "lives", "deck"].map((k) => h("div", { class: "stat" },
            h("span", { class: "stat-label", text: k[0].toUpperCase() + k.slice(1) }), h("span", { class: "stat-value", id: `stat-${k}` }))))),
      h("div", { class: "zone" }, h("h2", { class: "zone-title", text: "Your partner's hand" }),
        h("div", { class: "hand", id: "agent-hand", role: "group", "aria-label": "Your partner's hand" })),
      h("div", { class: "zone middle" },
        h("div", {}, h("h2", { class: "zone-title", text: "Fireworks" }), h("div", { class: "stacks", id: "fireworks", role: "group", "aria-label": "Fireworks" })),
        h("div", {}, h("h2", { class: "zone-title", text: "Discards" }), h("div", { class: "discards", id: "discards" }))),
      h("div", { class: "zone" }, h("h2", { class: "zone-title", text: "Your hand" }),
        h("div", { class: "hand", id: "human-hand", role: "group", "aria-label": "Your hand" })));
  }
  renderStats(document, { ...frame, max_score: 25, max_hints: 8, max_lives: 3 });
  const touched = (who) => (move && move.touched && move.actor !== who ? new Set(move.touched) : new Set());
  for (const who of ["agent", "human"]) {
    const marks = touched(who);
    renderHand($(`#${who}-hand`), frame.hands[who], (c, i) => cardFace(c, {
      knowledge: c, touched: marks.has(i), label: `${who === "agent" ? "Your partner's" : "Your"} card ${POSITIONS[i]}` }));
  }
  renderFireworks($("#fireworks"), frame.fireworks);
  renderDiscards($("#discards"), frame.discards);
  const history = replay.data.frames.slice(1).map((f) => f.move);
  renderLog($("#log"), history, move ? move.turn : -1);
}

function showNotes(notes) {
  const parts = notes.filter(Boolean);
  $("#replay-note").replaceChildren(...parts.flatMap((part, i) => [i ? " · " : "", part]));
}

/** A Say-Select move in words, from Alice's side of the table. */
function saySelectWords(entry) {
  if (entry.move.say) return `You said ${entry.move.say}.`;
  if (entry.move.quit) return "Bob quit.";
  return `Bob picked ball ${entry.move.select}: ${signed(entry.reward)}.`;
}

function drawSaySelect(frame) {
  const move = frame.move;
  $("#replay-move").textContent = move ? `${frame.turn}. ${saySelectWords(move)}` : "The deal.";
  showNotes([instructionNote(frame),
    move?.explanation ? `Bob: “${move.explanation}”` : null,
    frame.over ? `Game over: score ${frame.score.toFixed(2)}.` : null]);

  const chosen = move?.actor === "agent" ? (move.move.quit ? "quit" : String(move.move.select)) : null;
  const bars = h("ul", { class: "bars", "aria-labelledby": "replay-prior-caption" });
  renderBars(bars, move?.prior ?? null, { chosen: move?.prior ? move.prior.labels.indexOf(chosen) : -1, name: actionName });
  const weighed = (move?.top ?? []).map((t) => h("li", { text:
    `${t.move.quit ? "quit" : `ball ${t.move.select}`}: Q ${num(t.q)} + λ·log p (${num(t.log_prior)}) = ${num(t.value)}` }));
  const picked = move?.move.select ?? null;
  $("#table-view").replaceChildren(
    h("div", { class: "balls-row", role: "group", "aria-label": "The five balls" }, frame.view.balls.map((b, i) => {
      const taken = frame.view.initial[i] > 0 && b <= 0;
      return h("div", { class: "ball-slot" },
        h("div", {
          class: `ball ${b > 0 ? "plus" : "minus"}${picked === i + 1 ? " last-pick" : ""}`, role: "img",
          "aria-label": `ball ${i + 1}: ${signed(b)}${taken ? ", was +1, taken" : ""}${picked === i + 1 ? ", just picked" : ""}` },
        h("span", { class: "ball-symbol", "aria-hidden": "true", text: b > 0 ? "▲" : "▼" }),
        h("span", { class: "ball-value", "aria-hidden": "true", text: signed(b) })),
        h("span", { class: "ball-note", "aria-hidden": "true", text: taken ? "was +1, taken" : "" }));
    })),
    h("div", { class: "replay-say-select" },
      h("p", { class: "small", text: frame.following ? `Bob follows: “${frame.following}”` : "Bob follows no instruction yet." }),
      move?.prior ? h("div", { class: "details" },
        h("p", { class: "small muted", id: "replay-prior-caption",
          text: `Bob's prior for this move${move.lam === undefined || move.lam === null ? "" : ` (λ = ${move.lam})`}; he chose ${actionName(chosen)}:` }),
        bars,
        weighed.length ? h("ol", { class: "top-moves small", "aria-label": "How Bob weighed his moves, best first" }, weighed) : null) : null));
  const history = replay.data.frames.at(-1).view.history;  // the whole game, this position's move marked
  $("#log").replaceChildren(...history.map((e, i) => h("li", { class: i === frame.turn - 1 ? "current" : null },
    h("span", { class: "step", text: `${i + 1}.` }),
    h("span", { text: saySelectWords(e) }))));
}

const num = (x) => (typeof x === "number" ? x.toFixed(2) : "−∞");

function onKeyDown(event) {
  if (!replay.data || event.ctrlKey || event.metaKey || event.altKey) return;
  const step = { ArrowLeft: replay.at - 1, ArrowRight: replay.at + 1, Home: 0, End: replay.data.frames.length - 1 }[event.key];
  if (step === undefined || event.target instanceof HTMLInputElement) return;
  event.preventDefault();
  go(step);
}

function main() {
  setUpDetails(query);
  $("#first").addEventListener("click", () => go(0));
  $("#back").addEventListener("click", () => go(replay.at - 1));
  $("#forward").addEventListener("click", () => go(replay.at + 1));
  $("#last").addEventListener("click", () => go(replay.data.frames.length - 1));
  $("#scrub").addEventListener("input", (e) => go(Number(e.target.value)));
  document.addEventListener("keydown", onKeyDown);
  (gameId ? loadGame() : listGames()).catch((err) => showNotice(`Could not load ${gameId ? "this game" : "the games"}: ${err.message}`, null));
}

main();
