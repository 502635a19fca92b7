/**
 * The "What ... understood" card of a game page: what the agent read in an instruction (the
 * `understanding` event), the question it asks when unsure, and how far along a new agent's training is
 * (the `agent_status` event). `agent` is the agent as the page's sentences name it ("Bob", "Your partner").
 */
import { $, h, percent } from "./dom.js";

/** Show that an instruction was sent and is being read. */
export function renderPending(text, agent) {
  $("#understanding").replaceChildren(
    h("p", { class: "small muted" }, "Instruction: ", h("q", { text })),
    h("p", { class: "muted", text: `${agent} is reading your instruction…` }));
  $("#clarify").hidden = true;
}

/** The card before anything was understood (after the first instruction was refused). */
export function renderNothingUnderstood() {
  $("#understanding").replaceChildren(h("p", { class: "muted", text: "Nothing understood yet: rephrase and send again." }));
  $("#clarify").hidden = true;
}

/**
 * What the agent understood: the summary, each convention read with its weight (when there are several,
 * or the one reading says more than the summary), the confidence, the backend (and lambda where the
 * server sends one), whether the agent follows it, and the question when it is unsure.
 */
export function renderUnderstanding(u, agent) {
  const understood = u.understood ?? [];
  const readings = understood.length === 1 && (understood[0].description || understood[0].convention) === u.summary
    ? [] : understood;
  const items = readings.map((c) => h("li", {},
    h("span", { text: c.description || c.convention }),
    h("span", { class: "weight", text: percent(c.weight), title: "weight of this reading" })));
  const parts = [
    h("p", { class: "small muted" }, "Instruction: ", h("q", { text: u.text })),
    h("p", { class: "understood-summary", text: u.summary }),
    items.length ? h("ul", { class: "understood-list" }, items) : null,
    typeof u.confidence === "number" ? h("div", { class: "confidence small" },
      h("span", { text: "Confidence" }),
      h("meter", { min: "0", max: "1", value: String(u.confidence), "aria-label": "Confidence" }),
      h("span", { text: percent(u.confidence) })) : null,
    h("p", { class: "muted small", text: `Understood by: ${u.backend}${u.lambda === undefined ? "" : ` · λ = ${u.lambda}`}` }),
    u.adopted === false
      ? h("p", { class: "not-adopted small", text: `${agent} keeps playing by your previous instruction until you confirm or rephrase.` })
      : null,
  ];
  $("#understanding").replaceChildren(...parts.filter(Boolean));
  $("#clarify").hidden = !u.clarify;
  $("#clarify-question").textContent = u.question || "Is this what you meant?";
  $("#confirm-yes").hidden = !understood.length; // nothing was read: there is nothing to confirm
}

/** The agent's status in the page's words; a failure keeps the server's message, which says what to do. */
function statusText(status, pct, agent) {
  if (status.status === "training") return `${agent} is training: ${pct}%`;
  if (status.status === "ready") return `${agent} is ready.`;
  return `${agent}'s training failed: ${status.message || "start a new game or send another instruction"}`;
}

export function renderAgentStatus(status, agent) {
  const box = $("#agent-status");
  box.hidden = false;
  box.classList.toggle("failed", status.status === "failed");
  const pct = Math.round((status.progress ?? 0) * 100);
  $("#agent-status-text").textContent = statusText(status, pct, agent);
  const bar = $(".progress", box);
  bar.hidden = status.status !== "training";
  bar.setAttribute("aria-valuenow", String(pct));
  $("#agent-progress").style.width = `${pct}%`;
}
