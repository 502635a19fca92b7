/**
 * What the agent understood from an instruction (the `understanding` event) and how far along a new
 * agent's training is (the `agent_status` event), drawn in the "What Bob understood" card.
 */
import { $, h, percent } from "./dom.js";

/** Show that an instruction was sent and is being read. */
export function renderPending(text) {
  $("#understanding").replaceChildren(
    h("p", { class: "small muted" }, "Instruction: ", h("q", { text })),
    h("p", { class: "muted", text: "Bob is reading your instruction…" }));
  $("#clarify").hidden = true;
}

export function renderUnderstanding(u) {
  const items = (u.understood ?? []).map((c) => h("li", {},
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
    h("p", { class: "muted small", text: `Understood by: ${u.backend}` }),
    u.adopted === false
      ? h("p", { class: "not-adopted small", text: "Bob keeps playing by your previous instruction until you confirm or rephrase." })
      : null,
  ];
  $("#understanding").replaceChildren(...parts.filter(Boolean));
  $("#clarify").hidden = !u.clarify;
  $("#clarify-question").textContent = u.question || "Is this what you meant?";
  $("#confirm-yes").hidden = !(u.understood ?? []).length; // nothing was read: there is nothing to confirm
}

/** The agent's status in the page's words; a failure keeps the server's message, which says what to do. */
function statusText(status, pct) {
  if (status.status === "training") return `Bob is training: ${pct}%`;
  if (status.status === "ready") return "Bob is ready.";
  return `Bob's training failed: ${status.message || "start a new game or send another instruction"}`;
}

export function renderAgentStatus(status) {
  const box = $("#agent-status");
  box.hidden = false;
  box.classList.toggle("failed", status.status === "failed");
  const pct = Math.round((status.progress ?? 0) * 100);
  $("#agent-status-text").textContent = statusText(status, pct);
  const bar = $(".progress", box);
  bar.hidden = status.status !== "training";
  bar.setAttribute("aria-valuenow", String(pct));
  $("#agent-progress").style.width = `${pct}%`;
}
