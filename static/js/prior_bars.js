/**
 * Drawing a prior: the agent's probabilities over its moves as labelled horizontal bars, and the
 * Say-Select prior table (one row per number the person could say) as a grid of percentages.
 * Every bar carries its number as text, so nothing is conveyed by length or colour alone.
 */
import { h, percent } from "./dom.js";

/** Labels from the server ("1".."5", "quit") as words a reader understands. */
export function actionName(label) {
  return label === "quit" || label === "0" ? "quit" : `ball ${label}`;
}

/**
 * Replace `list` (a <ul>) with one bar per label. `chosen` is the label of the move taken, if any.
 */
export function renderBars(list, prior, chosen = null) {
  list.replaceChildren();
  if (!prior) return;
  prior.labels.forEach((label, i) => {
    const p = prior.probs[i] ?? 0;
    const isChosen = chosen !== null && String(chosen) === String(label);
    list.append(h("li", {
      class: isChosen ? "chosen" : null,
      "aria-label": `${actionName(label)}: ${percent(p)}${isChosen ? ", chosen" : ""}`,
    },
    h("span", { class: "bar-label", text: label }),
    h("span", { class: "bar-track", "aria-hidden": "true" },
      h("span", { class: "bar-fill", style: `width: ${(Math.max(0, Math.min(1, p)) * 100).toFixed(1)}%` })),
    h("span", { class: "bar-value", "aria-hidden": "true" }, percent(p),
      isChosen ? h("span", { class: "bar-chosen", text: "chosen" }) : null)));
  });
}

/** The row of a prior table for the number `said`, as a PRIOR (labels + probs), or null. */
export function tableRow(table, said) {
  const probs = table?.rows?.[String(said)];
  return probs ? { labels: table.labels, probs, backend: table.backend } : null;
}

/** Replace `container` with the whole prior table: rows are what the person says, columns Bob's moves. */
export function renderTable(container, table) {
  container.replaceChildren();
  if (!table) return;
  const head = h("tr", {}, h("th", { scope: "col", text: "You say" }),
    table.labels.map((label) => h("th", { scope: "col", text: label === "quit" ? "quit" : `pick ${label}` })));
  const rows = Object.keys(table.rows).sort().map((said) => h("tr", {},
    h("th", { scope: "row", text: said }),
    table.rows[said].map((p) => h("td", { text: percent(p), style: `background: rgba(52, 81, 178, ${(0.04 + 0.36 * p).toFixed(2)})` }))));
  const previous = table.previous === undefined ? null
    : h("p", { class: "small muted", text: `Given Bob's last pick: ${table.previous === "none" ? "none yet" : `ball ${table.previous}`}.` });
  if (previous) container.append(previous);
  container.append(h("table", { class: "prior-table" },
    h("caption", { class: "visually-hidden", text: "Bob's prior over his moves for each number you could say" }),
    h("thead", {}, head), h("tbody", {}, rows)));
}
