/**
 * Drawing a Hanabi table: cards, hands, fireworks, discards, tokens and the move log. Shared by the
 * play page (hanabi.js) and the replay page (replay.js); it never talks to the server.
 *
 * Colours are the Okabe-Ito palette (safe for colour-blind players) and every colour is also shown as a
 * symbol and a letter, so nothing depends on colour alone. Positions A-E run from the oldest card (A)
 * to the newest, as the agents' explanations name them.
 */
import { h } from "./dom.js";

export const COLORS = ["R", "Y", "G", "W", "B"];
export const COLOR_INFO = {
  R: { name: "red", symbol: "\u25B2" },     // ▲
  Y: { name: "yellow", symbol: "\u2605" },  // ★
  G: { name: "green", symbol: "\u2663" },   // ♣
  W: { name: "white", symbol: "\u25CB" },   // ○
  B: { name: "blue", symbol: "\u25C6" },    // ◆
};
export const POSITIONS = "ABCDE";

export const cardName = (c) => `${COLOR_INFO[c.color].name} ${c.rank}`;

/** What the holder knows of a card from hints, in words ("told red; could be 1, 2 or 5"). */
export function knowledgeText(k) {
  const told = [k.hinted_color && COLOR_INFO[k.hinted_color].name, k.hinted_rank && `${k.hinted_rank}`].filter(Boolean);
  const colors = k.colors.length < 5 && !k.hinted_color ? k.colors.map((c) => COLOR_INFO[c].name).join("/") : "";
  const ranks = k.ranks.length < 5 && !k.hinted_rank ? k.ranks.join("/") : "";
  const parts = [];
  if (told.length) parts.push(`told ${told.join(" ")}`);
  if (colors || ranks) parts.push(`could be ${[colors, ranks].filter(Boolean).join(" ")}`);
  return parts.join("; ") || "nothing known";
}

/** Small marks under a card: the hinted colour/rank, and what is still possible when narrowed. */
function knowledgeMarks(k) {
  const narrowColors = !k.hinted_color && k.colors.length < 5;
  const narrowRanks = !k.hinted_rank && k.ranks.length < 5;
  return h("span", { class: "know", "aria-hidden": "true" },
    h("span", { class: "know-told" },
      k.hinted_color ? h("span", { class: `pip c-${k.hinted_color}`, text: COLOR_INFO[k.hinted_color].symbol }) : null,
      k.hinted_rank ? h("span", { class: "pip pip-rank", text: String(k.hinted_rank) }) : null),
    narrowColors || narrowRanks ? h("span", { class: "know-possible" },
      narrowColors ? k.colors.map((c) => h("span", { class: `mini c-${c}`, text: COLOR_INFO[c].symbol })) : null,
      narrowRanks ? h("span", { class: "mini-ranks", text: k.ranks.join("") }) : null) : null);
}

/** A face-up card (the partner's, a firework, a discard, or any card in a replay). */
export function cardFace(card, { small = false, touched = false, knowledge = null, label = null } = {}) {
  const info = COLOR_INFO[card.color];
  const words = `${label ? `${label}: ` : ""}${cardName(card)}${knowledge ? ` (they know: ${knowledgeText(knowledge)})` : ""}`;
  return h("div", {
    class: `hcard face c-${card.color}${small ? " small" : ""}${touched ? " touched" : ""}`,
    role: "img", "aria-label": words, title: words,
  },
  h("span", { class: "corner", "aria-hidden": "true", text: `${info.symbol} ${card.color}` }),
  h("span", { class: "rank", "aria-hidden": "true", text: String(card.rank) }),
  knowledge ? knowledgeMarks(knowledge) : null);
}

/** One of the person's own cards: only what hints told them, as a button to select it. */
export function ownCard(k, index, { selected = false, touched = false, onSelect = null, disabled = true } = {}) {
  const color = k.hinted_color;
  const words = `Your card ${POSITIONS[index]}: ${knowledgeText(k)}${selected ? ", selected" : ""}`;
  return h("button", {
    type: "button", class: `hcard back${color ? ` c-${color} hinted-color` : ""}${selected ? " selected" : ""}${touched ? " touched" : ""}`,
    "aria-label": words, title: words, "aria-pressed": selected ? "true" : "false", disabled,
    "data-index": String(index), onclick: onSelect ? () => onSelect(index) : null,
    // chosen as the finger or the mouse goes down: a redraw before it lifts cannot lose the choice
    onpointerdown: onSelect ? (event) => { if (event.button === 0) onSelect(index); } : null,
  },
  h("span", { class: "corner", "aria-hidden": "true", text: color ? `${COLOR_INFO[color].symbol} ${color}` : "" }),
  h("span", { class: "rank", "aria-hidden": "true", text: k.hinted_rank ? String(k.hinted_rank) : "?" }),
  knowledgeMarks(k));
}

/** A hand: each card over its position letter. `make(card, i)` draws the card. */
export function renderHand(container, cards, make) {
  container.replaceChildren(...cards.map((card, i) => h("div", { class: "slot" },
    make(card, i), h("span", { class: "slot-label", text: POSITIONS[i] }))));
}

export function renderFireworks(container, fireworks) {
  container.replaceChildren(...COLORS.map((c) => {
    const height = fireworks[c] ?? 0;
    const words = `${COLOR_INFO[c].name} firework: ${height} of 5`;
    return h("div", { class: "stack" },
      height ? cardFace({ color: c, rank: height }, { label: `${COLOR_INFO[c].name} firework` })
        : h("div", { class: `hcard empty c-${c}`, role: "img", "aria-label": words, title: words },
          h("span", { class: "corner", "aria-hidden": "true", text: `${COLOR_INFO[c].symbol} ${c}` }),
          h("span", { class: "rank", "aria-hidden": "true", text: "0" })));
  }));
}

/** The discard pile: a row per colour, one card per rank with how many copies are gone, so what is lost reads at a glance. */
export function renderDiscards(container, discards) {
  if (!discards.length) {
    container.replaceChildren(h("p", { class: "muted small", text: "No discards yet." }));
    return;
  }
  const count = (color, rank) => discards.filter((d) => d.color === color && d.rank === rank).length;
  container.replaceChildren(...COLORS.filter((c) => discards.some((d) => d.color === c)).map((c) => h("div", { class: "discard-row" },
    [1, 2, 3, 4, 5].filter((r) => count(c, r)).map((r) => {
      const n = count(c, r);
      return h("div", { class: "discard" },
        cardFace({ color: c, rank: r }, { small: true, label: n > 1 ? `${n} discarded` : "discarded" }),
        n > 1 ? h("span", { class: "discard-count", "aria-hidden": "true", text: `×${n}` }) : null);
    }))));
}

/** Hint and life tokens as filled / empty dots with their numbers. */
export function tokenDots(count, max, kind) {
  return h("span", { class: `tokens ${kind}`, "aria-hidden": "true" },
    Array.from({ length: max }, (_, i) => h("span", { class: i < count ? "dot on" : "dot" })));
}

export function renderStats(root, view) {
  const set = (id, value, dots) => {
    const el = root.querySelector(id);
    el.replaceChildren(h("span", { text: value }), dots ?? "");
  };
  set("#stat-score", `${view.score}/${view.max_score ?? 25}`);
  set("#stat-hints", `${view.hints}`, tokenDots(view.hints, view.max_hints ?? 8, "hint"));
  set("#stat-lives", `${view.lives}`, tokenDots(view.lives, view.max_lives ?? 3, "life"));
  set("#stat-deck", `${view.deck}`);
}

/**
 * The move log, newest last; `current` marks one entry (the replay's position; -1 for none). The list
 * scrolls itself to the newest (or the current) entry; the page does not move.
 */
export function renderLog(list, history, current = null) {
  list.replaceChildren(...history.map((entry) => h("li", {
    class: `${entry.actor}${entry.card && !entry.scored && entry.move.type === "play" ? " misplay" : ""}${current === entry.turn ? " current" : ""}`,
  },
  h("span", { class: "step", text: `${entry.turn + 1}.` }),
  h("span", { class: "what", text: entry.text }))));
  const shown = current === null ? list.lastElementChild : list.querySelector("li.current");
  list.scrollTop = shown ? shown.offsetTop - (list.clientHeight - shown.offsetHeight) / 2 : 0;
}
