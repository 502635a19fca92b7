/**
 * The "What ... understood" card of a game page: what the agent read in an instruction (the
 * `understanding` event), what it did not understand, the question it asks when unsure with a button per
 * reading it hesitates between, a partner's note when it ignores instructions, and how far along a new
 * agent's training is (the `agent_status` event). `agent` is the agent as the page's sentences name it
 * ("Bob", "Your partner").
 *
 * Answers go back as the protocol's `confirm` event ({instruction_id, choice}: null for "Yes, that's it",
 * or the index of a reading): the page hands the card its sender once, `sendConfirmationsWith((payload) =>
 * page.send("confirm", payload))`. Until it does, a reading's button types that reading's words as a new
 * instruction, and "Yes" keeps the page's own behaviour.
 */
import { $, h, percent } from "./dom.js";

let confirmSender = null;  // (payload) => void, set by the page
let answering = null;      // the understanding the clarify buttons answer

/** Route the card's answers ("Yes" and the reading buttons) to `send({instruction_id, choice})`. */
export function sendConfirmationsWith(send) {
  confirmSender = send;
  // "Yes, that's it" confirms the reading by its id: caught before the page's own handler sees the click
  $("#clarify").addEventListener("click", (event) => {
    if (event.target.closest("#confirm-yes") && answering && confirmSender) {
      event.stopPropagation();
      answer(null);
    }
  }, true);
}

function answer(choice) {
  const u = answering;
  if (!u) return;
  if (confirmSender) {
    confirmSender({ instruction_id: u.instruction_id, choice });
  } else if (choice !== null) {  // no confirm wired: say the chosen reading in its own words
    $("#instruction").value = u.choices[choice].text;
    $("#instruction-form").requestSubmit();
  }
  $("#clarify").hidden = true;
}

/** A button per reading the agent hesitates between, with what adopting it means. */
function renderChoices(u) {
  let box = $("#clarify-choices");
  if (!box) {
    box = h("div", { id: "clarify-choices", class: "choices", role: "group", "aria-label": "Readings to choose from" });
    $("#clarify").insertBefore(box, $("#clarify .buttons"));
  }
  const choices = u.choices ?? [];
  box.replaceChildren(...choices.map((c, i) => h("div", { class: "choice" },
    h("button", { type: "button", class: "choice-button", onclick: () => answer(i) }, `${i + 1}. ${c.summary}`),
    c.means ? h("p", { class: "small muted", text: c.means }) : null)));
  box.hidden = !choices.length;
}

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
  const weak = understood.some((c) => c.weak);
  const readings = understood.length === 1 && !weak && (understood[0].description || understood[0].convention) === u.summary
    ? [] : understood;
  const items = readings.map((c) => h("li", {},
    h("span", { text: c.description || c.convention }),
    h("span", { class: "weight details", text: percent(c.weight), title: "weight of this reading" }),
    c.weak ? h("span", { class: "weak small", title: "measured in self-play, with the prior at this lambda",
      text: ` (followed only weakly: ${agent}'s moves agreed with it ${percent(c.agreement)} of the time)` }) : null));
  const parts = [
    h("p", { class: "small muted" }, "Instruction: ", h("q", { text: u.text })),
    h("p", { class: "understood-summary", text: u.summary }),
    items.length ? h("ul", { class: "understood-list" }, items) : null,
    typeof u.confidence === "number" ? h("div", { class: "confidence small details" },
      h("span", { text: "Confidence" }),
      h("meter", { min: "0", max: "1", value: String(u.confidence), "aria-label": "Confidence" }),
      h("span", { text: percent(u.confidence) })) : null,
    (u.not_understood ?? []).length ? h("div", { class: "not-understood small" },
      h("span", { text: "Not understood: " }),
      ...u.not_understood.map((clause, i) => [i ? "; " : "", h("q", { text: clause })])) : null,
    h("p", { class: "muted small details", text: `Understood by: ${u.backend}${u.lambda === undefined ? "" : ` · λ = ${u.lambda}`}`
      + (typeof u.reader_confidence === "number" ? ` · rules and learned reader agree (${percent(u.reader_confidence)})` : "") }),
    u.partner_note ? h("p", { class: "partner-note small", text: u.partner_note }) : null,
    u.adopted === false && u.follows_instructions !== false
      ? h("p", { class: "not-adopted small", text: `${agent} keeps playing by your previous instruction until you confirm, choose or rephrase.` })
      : null,
  ];
  $("#understanding").replaceChildren(...parts.filter(Boolean));
  answering = u.clarify ? u : null;
  $("#clarify").hidden = !u.clarify;
  $("#clarify-question").textContent = u.question || "Is this what you meant?";
  $("#confirm-yes").hidden = !understood.length; // nothing was read: there is nothing to confirm
  renderChoices(u);
}

/**
 * How long the training still takes at most, from the progress seen so far: `progress` is the share of the
 * longest training done, and a training usually stops well before its end (at its first perfect result), so
 * the time the rest would take at the rate seen is an honest upper bound.
 */
const training = { since: null, first: 0 };

function timeLeft(progress) {
  const now = performance.now();
  if (training.since === null || progress < training.first) {
    Object.assign(training, { since: now, first: progress });
    return null;
  }
  const rate = (progress - training.first) / (now - training.since);  // per millisecond
  if (!(rate > 0) || now - training.since < 300) return null;
  return Math.max(1, Math.ceil((1 - progress) / rate / 1000));
}

/** The agent's status in the page's words; a failure keeps the server's message, which says what to do. */
function statusText(status, agent) {
  if (status.status === "training") {
    const left = timeLeft(status.progress ?? 0);
    return left === null ? `${agent} is learning your instruction. You can keep playing.`
      : `${agent} is learning your instruction: at most ${left} s left, usually less. You can keep playing.`;
  }
  if (status.status === "queued") return status.message || `${agent} waits to learn your instruction.`;
  training.since = null;
  if (status.status === "ready") return `${agent} is ready.`;
  return `${agent}'s training failed: ${status.message || "start a new game or send another instruction"}`;
}

export function renderAgentStatus(status, agent) {
  const box = $("#agent-status");
  box.hidden = false;
  box.classList.toggle("failed", status.status === "failed");
  const pct = Math.round((status.progress ?? 0) * 100);
  $("#agent-status-text").textContent = statusText(status, agent);
  const bar = $(".progress", box);
  bar.hidden = status.status !== "training";
  bar.setAttribute("aria-valuenow", String(pct));
  $("#agent-progress").style.width = `${pct}%`;
}
