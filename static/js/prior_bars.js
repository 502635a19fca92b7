/**
 * Drawing a prior: the agent's probabilities over its moves as labelled horizontal bars, and a prior
 * table (one row per observation, one column per move) as a grid of percentages. The words are the
 * caller's: these functions know nothing of balls or cards. Every bar carries its number as text, so
 * nothing is conveyed by length or colour alone.
 */
import { h, percent } from "./dom.js";

/**
 * Replace `list` (a <ul>) with one bar per label of `prior` ({labels, probs}). `chosen` is the index
 * of the move taken (-1: none); `name(label)` is the move in words for screen readers.
 */
export function renderBars(list, prior, { chosen = -1, name = (label) => label } = {}) {
  list.replaceChildren();
  if (!prior) return;
  prior.labels.forEach((label, i) => {
    const p = prior.probs[i] ?? 0;
    const isChosen = i === chosen;
    list.append(h("li", {
      class: isChosen ? "chosen" : null,
      "aria-label": `${name(label)}: ${percent(p)}${isChosen ? ", chosen" : ""}`,
    },
    h("span", { class: "bar-label", text: label }),
    h("span", { class: "bar-track", "aria-hidden": "true" },
      h("span", { class: "bar-fill", style: `width: ${(Math.max(0, Math.min(1, p)) * 100).toFixed(1)}%` })),
    h("span", { class: "bar-value", "aria-hidden": "true" }, percent(p),
      isChosen ? h("span", { class: "bar-chosen", text: "chosen" }) : null)));
  });
}

/** The row of a prior table ({labels, rows: {observation: probs}, backend}) for `observation`, as a prior, or null. */
export function tableRow(table, observation) {
  const probs = table?.rows?.[String(observation)];
  return probs ? { labels: table.labels, probs, backend: table.backend } : null;
}

/**
 * Replace `container` with the whole prior table. The caller's words: `rowTitle` heads the column of
 * observations, `column(label)` names a move's column, `caption` says what the table is (for screen
 * readers), and `note` (or null) is a line above the table.
 */
export function renderTable(container, table, { rowTitle, column, caption, note = null }) {
  container.replaceChildren();
  if (!table) return;
  const head = h("tr", {}, h("th", { scope: "col", text: rowTitle }),
    table.labels.map((label) => h("th", { scope: "col", text: column(label) })));
  const rows = Object.keys(table.rows).sort().map((observation) => h("tr", {},
    h("th", { scope: "row", text: observation }),
    table.rows[observation].map((p) => h("td", { text: percent(p), style: `background: rgba(52, 81, 178, ${(0.04 + 0.36 * p).toFixed(2)})` }))));
  if (note) container.append(h("p", { class: "small muted", text: note }));
  container.append(h("table", { class: "prior-table" },
    h("caption", { class: "visually-hidden", text: caption }),
    h("thead", {}, head), h("tbody", {}, rows)));
}
