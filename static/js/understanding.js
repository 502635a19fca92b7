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
  ];
  $("#understanding").replaceChildren(...parts.filter(Boolean));
  const clarify = $("#clarify");
  clarify.hidden = !u.clarify;
  $("#clarify-question").textContent = u.question || "Is this what you meant?";
}

/** After "Yes, that's it": the question goes away and the confirmation stays visible. */
export function renderConfirmed() {
  $("#clarify").hidden = true;
  $("#understanding").append(h("p", { class: "small", text: "You confirmed this reading." }));
}

const STATUS_WORDS = { training: "Bob is training for this instruction.", ready: "Bob is ready.", failed: "Bob's training failed." };

/** The server's words for the agent's status (first letter raised), or ours when it sent none. */
function statusText(status) {
  const text = status.message || STATUS_WORDS[status.status] || status.status;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function renderAgentStatus(status) {
  const box = $("#agent-status");
  box.hidden = false;
  box.classList.toggle("failed", status.status === "failed");
  const pct = status.status === "ready" ? 100 : Math.round((status.progress ?? 0) * 100);
  $("#agent-status-text").textContent = statusText(status);
  $("#agent-progress").style.width = `${pct}%`;
  $(".progress", box).setAttribute("aria-valuenow", String(pct));
}
