/**
 * The researcher dashboard (/research; server/research/routes.py). Behind the researcher's login, and live:
 * every few seconds it asks GET /research/api/overview and redraws what changed: each study's participants
 * by state and its conditions against their targets, the games in progress with their turn, the latest
 * finished games with their replays and hanab.live files. The coordination scores (tables and plots, the
 * same as `instructplay score`) are fetched again only when the overview says a game started or finished.
 * The CSV export and the HTML report are downloads. docs/RESEARCHERS.md describes every number.
 */
import { $, h, showNotice } from "./dom.js";
import { GAMES } from "./games.js";

const REFRESH_MS = 4000;
const STATES = [
  ["consented", "Consented", "agreed, on a tutorial, a questionnaire or before a game"],
  ["playing", "Playing", "a game of their step is being played"],
  ["finished", "Finished", "completed the study"],
  ["abandoned", "Abandoned", "left idle past the study's timeout"],
  ["declined", "Declined", "did not consent (nothing else is stored)"],
];
const METRIC_NAMES = {
  score: "Score", perfect: "Perfect games", bombed: "Bombed out", agent_top_share: "Agent follows its prior",
  person_adherence: "Person follows the convention", agent_response: "Agent answers the convention",
  median_move_s: "Median move (s)",
};

const view = { drawn: {}, open: {}, scoresVersion: null, scoresStudy: null, timer: null, loggedIn: false };

async function call(url, options = {}) {
  const response = await fetch(url, { credentials: "same-origin", ...options });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, ok: response.ok, body };
}

const gameName = (id) => GAMES.find((g) => g.id === id)?.name ?? id;

/** "12 s ago", "3 min ago", "2 h ago": from the server's clock, so a wrong clock here does not matter. */
function ago(time, now) {
  if (!time) return "–";
  const s = Math.max(0, (Date.parse(now) - Date.parse(time)) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

const IDLE_S = 600;  // a game nobody moved in for this long is marked idle (its player may have left)
const idleFor = (time, now) => (Date.parse(now) - Date.parse(time)) / 1000;
const when = (time) => (time ? new Date(time).toLocaleString() : "–");
const formatScore = (game, score) => (typeof score !== "number" ? "–" : game === "hanabi" ? `${score} / 25` : score.toFixed(2));
const studyCell = (g) => (g.study ? `${g.study} / ${g.condition ?? "–"}` : "free play");

/** A table: `columns` [[heading, class?]], `rows` of cells (strings or elements), `attrs(row index)` for each tr. */
function table(caption, columns, rows, rowAttrs = () => ({})) {
  // a wide table scrolls sideways: its box takes the keyboard focus (arrow keys scroll it) and is named
  return h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": caption }, h("table", { class: "data-table" },
    h("caption", { class: "visually-hidden", text: caption }),
    h("thead", {}, h("tr", {}, columns.map(([text, cls]) => h("th", { scope: "col", class: cls ?? null, text })))),
    h("tbody", {}, rows.map((cells, i) => h("tr", rowAttrs(i), cells.map((cell, j) => h("td", { class: columns[j][1] ?? null },
      typeof cell === "object" && cell !== null ? cell : String(cell ?? "–"))))))));
}

/** Redraw `box` with `draw()` only when `data` changed since the last time (no flicker, focus kept). */
function drawIfChanged(key, data, box, draw) {
  const text = JSON.stringify(data);
  if (view.drawn[key] === text) return;
  view.drawn[key] = text;
  box.replaceChildren(...[draw()].flat());
}

/* ---------- login ---------- */

function showOnly(id) {
  for (const section of ["#loading", "#off", "#login", "#dashboard"]) $(section).hidden = section !== id;
  $("#logout").hidden = id !== "#dashboard";
}

function showLogin(message = "") {
  view.loggedIn = false;
  clearTimeout(view.timer);
  showOnly("#login");
  $("#updated").textContent = "";
  $("#login-error").textContent = message;
  $("#password").focus();
}

async function logIn(event) {
  event.preventDefault();
  const button = $("#login-button");
  button.disabled = true;
  const answer = await call("/research/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ password: $("#password").value }),
  }).catch((err) => ({ ok: false, status: 0, body: { error: `the server did not answer (${err.message})` } }));
  $("#password").value = "";
  if (answer.ok) {
    button.disabled = false;
    showDashboard();
    return;
  }
  $("#login-error").textContent = answer.body.error ?? `the server answered HTTP ${answer.status}`;
  // after too many failures the button waits as long as the server said; otherwise try again at once
  setTimeout(() => { button.disabled = false; }, answer.status === 429 ? (answer.body.retry_after ?? 60) * 1000 : 0);
  $("#password").focus();
}

async function logOut() {
  await call("/research/logout", { method: "POST" }).catch(() => null);
  view.drawn = {};
  view.scoresVersion = null;
  showLogin("You are logged out.");
}

/* ---------- the live overview ---------- */

function showDashboard() {
  view.loggedIn = true;
  showOnly("#dashboard");
  refresh();
}

async function refresh() {
  clearTimeout(view.timer);
  if (!view.loggedIn) return;
  try {
    const answer = await call("/research/api/overview");
    if (answer.status === 401) {
      showLogin("Your session has ended: log in again.");
      return;
    }
    if (!answer.ok) throw new Error(answer.body.error ?? `HTTP ${answer.status}`);
    draw(answer.body);
    $("#updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    if (answer.body.scores_version !== view.scoresVersion || $("#score-study").value !== view.scoresStudy) {
      await loadScores(answer.body.scores_version);
    }
  } catch (err) {
    $("#updated").textContent = `Could not refresh (${err.message}); trying again`;
  }
  if (view.loggedIn) view.timer = setTimeout(refresh, REFRESH_MS);
}

function draw(overview) {
  const { now } = overview;
  drawIfChanged("studies", overview.studies, $("#studies"), () => drawStudies(overview.studies));
  drawIfChanged("live", [overview.live, Math.floor(Date.parse(now) / 10000)], $("#live"), () => drawLive(overview.live, now));
  drawIfChanged("finished", overview.finished, $("#finished"), () => drawFinished(overview.finished));
  drawIfChanged("options", overview.studies.map((s) => s.id), $("#score-study"), () => studyOptions(overview.studies));
}

function drawStudies(studies) {
  if (!studies.length) {
    return h("p", { class: "muted", text: "No study is open. `instructplay study open FILE` opens one (docs/STUDIES.md)." });
  }
  return studies.map((study) => h("article", { class: "study", "data-study": study.id, "aria-labelledby": `study-${study.id}` },
    h("h2", { id: `study-${study.id}` }, `${study.title} `, h("span", { class: "muted small", text: `${study.id}, version ${study.version ?? "?"}` })),
    h("ul", { class: "states", "aria-label": "Participants by state" }, STATES.map(([key, name, meaning]) => h("li", {
      class: `state-count state-${key}`, "data-state": key, title: meaning },
    h("span", { class: "state-value", text: String(study.states[key] ?? 0) }),
    h("span", { class: "state-label", text: name })))),
    h("h3", { text: "Conditions against their targets" }),
    table(`Conditions of ${study.id}`, [["Condition"], ["Living / target", "num"], ["Progress"], ["Consented", "num"],
      ["Playing", "num"], ["Finished", "num"], ["Abandoned", "num"]],
    study.conditions.map((c) => [
      h("span", { title: c.description ?? "" }, c.id),
      `${c.living} / ${c.target ?? "–"}`,
      c.target ? h("progress", { max: String(c.target), value: String(Math.min(c.living, c.target)),
        "aria-label": `${c.id}: ${c.living} of ${c.target}` }) : "–",
      c.consented, c.playing, c.finished, c.abandoned]),
    (i) => ({ "data-condition": study.conditions[i].id })),
    h("details", { class: "participants", open: view.open[study.id] ?? study.total <= 40,
      ontoggle: (event) => { view.open[study.id] = event.target.open; } },
      h("summary", { text: `Participants (${study.total}${study.listed < study.total ? `, the ${study.listed} most recently active shown` : ""})` }),
      study.participants.length ? table(`Participants of ${study.id}`, [["Participant"], ["Condition"], ["State"], ["Step", "num"],
        ["On"], ["Last active"]],
      study.participants.map((p) => [p.participant, p.condition, h("span", { class: `state state-${p.state}`, text: p.state }),
        `${p.step + 1} / ${p.steps}`, p.page === "game" ? `${gameName(p.game)} game` : p.page ?? "–", when(p.last_active_at)]),
      (i) => ({ "data-participant": study.participants[i].participant, "data-state": study.participants[i].state }))
        : h("p", { class: "muted", text: "Nobody has consented yet." }))));
}

function drawLive(games, now) {
  if (!games.length) return h("p", { class: "muted", text: "No game is being played." });
  return table("Games in progress, most recently active first", [["Game"], ["Participant"], ["Study / condition"],
    ["Partner"], ["Moves", "num"], ["To move"], ["Last event"], ["Started"]],
  games.map((g) => [gameName(g.game), g.participant, studyCell(g), g.partner,
    h("span", { class: "moves", text: String(g.moves) }), g.to_act === "human" ? "the person" : "the agent",
    idleFor(g.last_event_at, now) > IDLE_S ? `${ago(g.last_event_at, now)} (idle)` : ago(g.last_event_at, now), when(g.started_at)]),
  (i) => ({ "data-game": games[i].game_id, "data-participant": games[i].participant }));
}

function drawFinished(games) {
  if (!games.length) return h("p", { class: "muted", text: "No game has finished yet." });
  return table("Finished games, newest first", [["Finished"], ["Game"], ["Participant"], ["Study / condition"],
    ["Partner"], ["Score", "num"], ["Moves", "num"], ["Replay"]],
  games.map((g) => [when(g.ended_at), gameName(g.game), g.participant, studyCell(g), g.partner,
    formatScore(g.game, g.score), g.turns,
    h("span", { class: "links" },
      h("a", { class: "replay-link", href: `/static/replay.html?game=${encodeURIComponent(g.game_id)}`, target: "_blank",
        rel: "noopener", "aria-label": `Replay the ${gameName(g.game)} game of ${g.participant}`, text: "Replay" }),
      g.game === "hanabi" ? h("a", { class: "hanablive-link", href: `/api/games/${encodeURIComponent(g.game_id)}/hanablive.json`,
        download: `hanabi-${g.game_id}.json`, "aria-label": `hanab.live file of the Hanabi game of ${g.participant}`,
        text: "hanab.live" }) : null)]),
  (i) => ({ "data-game": games[i].game_id, "data-participant": games[i].participant }));
}

function studyOptions(studies) {
  const chosen = $("#score-study").value;
  return [h("option", { value: "", text: "every study and free play" }),
    ...studies.map((s) => h("option", { value: s.id, selected: s.id === chosen, text: `study ${s.id}` }))];
}

/* ---------- scores and downloads ---------- */

function downloadLinks() {
  const study = $("#score-study").value;
  const params = new URLSearchParams(study ? { study } : {});
  const query = () => (params.toString() ? `?${params}` : "");
  $("#report-link").href = `/research/report.html${query()}`;
  if ($("#pseudonymise").checked) params.set("pseudonymise", "1");
  $("#export-link").href = `/research/export.zip${query()}`;
}

async function loadScores(version) {
  const study = $("#score-study").value;
  view.scoresStudy = study;
  view.scoresVersion = version;
  $("#scores-note").textContent = "Scoring…";
  const answer = await call(`/research/api/scores${study ? `?study=${encodeURIComponent(study)}` : ""}`);
  if (!answer.ok) {
    view.scoresVersion = null;  // try again at the next refresh
    $("#scores-note").textContent = `Could not score the games: ${answer.body.error ?? `HTTP ${answer.status}`}`;
    return;
  }
  const s = answer.body;
  $("#scores-note").textContent = `${s.games} games (${s.finished} finished) of ${s.participants} participant${s.participants === 1 ? "" : "s"}. Means over `
    + `participants with 95% intervals; differences with bootstrap intervals and permutation p (${s.resamples} resamples, `
    + `seed ${s.seed}). Definitions: docs/SCORING.md.${s.skipped.length ? ` ${s.skipped.length} games could not be scored.` : ""}`;
  const metrics = s.headline_metrics;
  $("#scores").replaceChildren(
    h("h3", { text: "By condition" }),
    s.headline.length ? table("Coordination by game and condition", [["Game"], ["Condition"], ["Participants", "num"],
      ["Games", "num"], ...metrics.map((m) => [METRIC_NAMES[m] ?? m, "num"])],
    s.headline.map((r) => [gameName(r.game), r.group, r.participants, r.games, ...metrics.map((m) => r[m] ?? "–")]))
      : h("p", { class: "muted", text: "No finished game yet." }),
    h("h3", { text: "Differences between conditions" }),
    s.differences.length ? table("Differences between conditions", [["Game"], ["Metric"], ["Conditions"],
      ["Difference [95% CI]", "num"], ["Permutation p", "num"]],
    s.differences.map((d) => [gameName(d.game), METRIC_NAMES[d.metric] ?? d.metric, `${d.group_a} − ${d.group_b}`,
      interval(d.difference, d.ci_low, d.ci_high), d.p_permutation === null ? "–" : d.p_permutation.toFixed(4)]))
      : h("p", { class: "muted", text: "Needs two conditions of a game with two participants each." }),
    h("h3", { text: "Learning across a participant's games" }),
    s.learning.length ? table("Learning: score per game", [["Game"], ["Condition"], ["Participants with 2+ games", "num"],
      ["Score per game [95% CI]", "num"]],
    s.learning.map((r) => [gameName(r.game), r.group, r.participants_with_2_games, interval(r.slope_per_game, r.ci_low, r.ci_high)]))
      : h("p", { class: "muted", text: "No finished game yet." }));
  const query = new URLSearchParams({ ...(study ? { study } : {}), v: s.version });
  $("#plots").replaceChildren(...s.plots.map((name) => h("figure", {},
    h("img", { src: `/research/plots/${name}?${query}`, alt: name.replace(".png", "").replaceAll("_", " "), loading: "lazy" }),
    h("figcaption", { class: "small muted", text: name.replace(".png", "").replaceAll("_", " ") }))));
}

function interval(value, low, high) {
  if (value === null || value === undefined) return "–";
  const f = (x) => x.toFixed(3);
  return low === null || low === undefined ? f(value) : `${f(value)} [${f(low)}, ${f(high)}]`;
}

/* ---------- start ---------- */

async function main() {
  $("#login-form").addEventListener("submit", logIn);
  $("#logout").addEventListener("click", logOut);
  $("#score-study").addEventListener("change", () => { downloadLinks(); refresh(); });
  $("#pseudonymise").addEventListener("change", downloadLinks);
  $("#open-game").addEventListener("submit", (event) => {
    event.preventDefault();
    window.open(`/static/replay.html?game=${encodeURIComponent($("#game-id").value.trim())}`, "_blank", "noopener");
  });
  downloadLinks();
  const answer = await call("/research/api/session").catch((err) => ({ ok: false, body: { error: err.message } }));
  if (!answer.ok) {
    showOnly("#loading");
    showNotice(`The server did not answer: ${answer.body.error ?? "try again"}`, null);
  } else if (!answer.body.enabled) {
    showOnly("#off");
    $("#off-message").textContent = answer.body.message;
  } else if (answer.body.logged_in) {
    showDashboard();
  } else {
    showLogin();
  }
}

main();
