/**
 * Drawing the Say-Select table from Alice's view: the balls, the say buttons, the scoreboard, Bob's last
 * move, the history in words and the game-over panel. Pure rendering: no socket, no game logic.
 */
import { $, h, signed } from "./dom.js";

const BALLS = [1, 2, 3, 4, 5];

/** One of Bob's moves as the server labels it ("1".."5", "quit") in words: "ball 3", "quit". */
export function actionName(label) {
  return label === "quit" || label === "0" ? "quit" : `ball ${label}`;
}

/** A move as words, from Alice's side of the table. */
export function describeMove(entry) {
  const { actor, move, reward } = entry;
  if (actor === "human") return { text: `You said ${move.say}.` };
  if (move.quit) return { text: "Bob quit. The game ends." };
  const tone = reward > 0 ? "plus" : reward < 0 ? "minus" : null;
  return { text: `Bob picked ball ${move.select}: `, reward: signed(reward), tone };
}

/** Build the five ball slots, each with its say button; `onSay(n)` runs when one is pressed. */
export function buildBalls(onSay) {
  const box = $("#balls");
  box.replaceChildren(...BALLS.map((n) => h("div", { class: "ball-slot" },
    h("span", { class: "ball-index", text: `Ball ${n}` }),
    h("div", { class: "ball", id: `ball-${n}`, role: "img", "aria-label": `Ball ${n}` },
      h("span", { class: "ball-symbol", "aria-hidden": "true" }),
      h("span", { class: "ball-value", "aria-hidden": "true" })),
    h("span", { class: "ball-note", id: `ball-note-${n}` }),
    h("button", {
      type: "button", class: "say-button", id: `say-${n}`, disabled: true,
      "aria-keyshortcuts": String(n), "aria-label": `Say ${n}`, onclick: () => onSay(n),
    }, h("span", { class: "say-word", text: "Say " }), String(n), h("kbd", { "aria-hidden": "true", text: String(n) })))));
}

/** How many times Bob picked each ball, from the history. */
function pickCounts(history) {
  const count = { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 };
  for (const entry of history) {
    if (entry.actor === "agent" && entry.move.select) count[entry.move.select] += 1;
  }
  return count;
}

export function renderBalls(view, legal, sayEnabled) {
  const count = pickCounts(view.history);
  const lastAgent = [...view.history].reverse().find((e) => e.actor === "agent");
  const pendingSay = view.history.length && view.history.at(-1).actor === "human" ? view.history.at(-1).move.say : null;
  const legalSays = new Set(legal.filter((m) => m.say !== undefined).map((m) => m.say));
  for (const n of BALLS) {
    const value = view.balls[n - 1];
    const ball = $(`#ball-${n}`);
    ball.classList.toggle("plus", value > 0);
    ball.classList.toggle("minus", value <= 0);
    ball.classList.toggle("last-pick", lastAgent?.move.select === n);
    $(".ball-symbol", ball).textContent = value > 0 ? "▲" : "▼";
    $(".ball-value", ball).textContent = signed(value);
    const taken = view.initial[n - 1] > 0 && value <= 0;
    ball.setAttribute("aria-label", `Ball ${n}: ${signed(value)}${taken ? ", was +1, already taken" : ""}${count[n] ? `, picked ${count[n]} time${count[n] > 1 ? "s" : ""}` : ""}`);
    $(`#ball-note-${n}`).textContent = taken ? "was +1, taken" : count[n] ? `picked ×${count[n]}` : "";
    const button = $(`#say-${n}`);
    button.disabled = !(sayEnabled && legalSays.has(n));
    button.classList.toggle("said", pendingSay === n);
  }
}

/** Flip ball `n` to show Bob picking it (restarting the animation if it is already running). */
export function flipBall(n) {
  const ball = $(`#ball-${n}`);
  ball.classList.remove("flip");
  void ball.offsetWidth;
  ball.classList.add("flip");
  ball.addEventListener("animationend", () => ball.classList.remove("flip"), { once: true });
}

export function renderScore(view, score) {
  $("#stat-step").textContent = `${view.step} / ${view.max_steps}`;
  $("#stat-reward").textContent = signed(view.total_reward);
  $("#stat-k").textContent = String(view.k);
  $("#stat-score").textContent = formatScore(score);
}

export function formatScore(score) {
  return typeof score === "number" ? score.toFixed(2) : "–";
}

/** The history in words, numbered by step (each say and each pick is a step, as in the paper). */
export function renderHistory(history) {
  const list = $("#history");
  list.replaceChildren(...history.map((entry, i) => {
    const { text, reward, tone } = describeMove(entry);
    return h("li", {},
      h("span", { class: "step", text: `Step ${i + 1}` }),
      h("span", {}, text, reward && h("span", { class: tone, text: reward })));
  }));
}

/**
 * Bob's last move, in words, and his reason in one sentence (when the page has it), in the live region
 * under the balls (screen readers announce it).
 */
export function renderBobBanner(move, reward, reason = null) {
  const banner = $("#bob-banner");
  banner.classList.toggle("quit", Boolean(move?.quit));
  if (!move) {
    banner.replaceChildren();
    return;
  }
  const what = move.quit ? "Bob quit. The game is over." : `Bob picked ball ${move.select}: ${signed(reward)}.`;
  banner.replaceChildren(...[h("span", { text: what }),
    reason ? h("span", { class: "bob-reason", text: `Bob: “${reason}”` }) : null].filter(Boolean));
}

export function renderGameOver(result) {
  const panel = $("#game-over");
  panel.hidden = !result;
  if (!result) return;
  $("#final-score").textContent = formatScore(result.score);
  const k = result.k === undefined || result.k === null ? "" : ` out of a possible ${result.k} (k)`;
  $("#final-detail").textContent = `Total reward ${signed(result.total_reward)}${k} · ${result.turns} steps`;
}
