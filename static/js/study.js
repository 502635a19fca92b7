/**
 * The study page, /s/<study-id>: what the participant sees between their recruitment link and their
 * completion code. The server decides every page (the participant's place is stored with their condition,
 * order and deals); this page shows it and sends what the person did: consent, a tutorial read, the answers
 * to a questionnaire. Games open in the game pages (?study=ID), which come back here when a game is over.
 *
 * The participant's key (their token) is kept in localStorage: a reload, a new tab, or coming back later
 * resumes the same place; on another device the id in the link (Prolific, MTurk) does. The tab being
 * hidden or shown is reported to the study.
 */
import { $, h, showNotice } from "./dom.js";
import { forgetPlace, report, savePlace, savedPlace } from "./study_link.js";

const REDIRECT_AFTER_MS = 5000;
const studyId = decodeURIComponent(location.pathname.split("/")[2] ?? "");
const params = Object.fromEntries(new URLSearchParams(location.search));
const root = $("#study");
const state = {
  token: savedPlace(studyId)?.token ?? null,
  typedId: null,          // the id typed into the form, sent again with the consent
  anonymous: false,       // the person chose to go on without an id
  descriptionHtml: "",    // the study's description, shown above the consent
};

async function call(route, body) {
  const response = await fetch(`/api/studies/${encodeURIComponent(studyId)}/${route}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = { error: `The server answered ${response.status}; try again in a moment.` };
  }
  return { ok: response.ok, status: response.status, data };
}

function prose(html) {
  const div = h("div", { class: "prose" });
  div.innerHTML = html;  // rendered by the server from the study's Markdown, with raw HTML turned off
  return div;
}

function draw(...children) {
  root.replaceChildren(...children);
  root.querySelector("h1, h2, button, a.button, input")?.focus?.({ preventScroll: true });
}

function button(text, onclick, primary = false) {
  return h("button", { type: "button", class: primary ? "primary" : null, onclick }, text);
}

/** Show the server's answer: a place (with a new token to keep) or a page for someone not in the study yet. */
function show({ ok, data }) {
  if (!ok) {
    showNotice(data.error || "Something went wrong; reload the page to try again.", null);
    return data;
  }
  if (data.token) {
    state.token = data.token;
    savePlace(studyId, { participant: data.participant, token: data.token });
  }
  $("#progress").textContent = Number.isInteger(data.steps) ? `Step ${data.step + 1} of ${data.steps}` : "";
  if (data.title) $("#study-title").textContent = data.title;
  const render = PAGES[data.page.kind] ?? renderMessage;
  render(data.page, data);
  return data;
}

async function busy(buttonEl, work) {
  buttonEl.disabled = true;
  try {
    await work();
  } finally {
    buttonEl.disabled = false;
  }
}

/* ---------- the pages ---------- */

function renderConsent(page) {
  const agree = button("I agree", (e) => busy(e.target, () => answerConsent(true)), true);
  const decline = button("I do not agree", (e) => busy(e.target, () => answerConsent(false)));
  draw(...(state.descriptionHtml ? [prose(state.descriptionHtml)] : []), prose(page.html),
    h("p", { class: "muted small" }, `Consent version ${page.version}`),
    h("div", { class: "study-actions" }, agree, decline));
}

async function answerConsent(agree) {
  show(await call("consent", {
    params, agree, ...(state.typedId ? { participant: state.typedId } : {}), ...(state.anonymous ? { anonymous: true } : {}),
  }));
}

function renderAskId(page) {
  const input = h("input", { type: "text", id: "participant-id", autocomplete: "off", maxlength: "64", required: true });
  const form = h("form", { class: "id-form" },
    h("div", {}, h("label", { for: "participant-id" }, "Participant ID"), input),
    h("button", { type: "submit", class: "primary" }, "Continue"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = input.value.trim();
    if (!id) return;
    state.typedId = id;
    show(await call("enter", { params, participant: id }));
  });
  const parts = [prose(page.html), form];
  if (page.anonymous) {
    parts.push(h("div", { class: "study-actions" }, button("Continue without an ID", async () => {
      state.anonymous = true;
      show(await call("enter", { params, anonymous: true }));
    })));
  }
  draw(...parts);
  input.focus();
}

function renderTutorial(page, place) {
  draw(prose(page.html), h("div", { class: "study-actions" },
    button("I have read this, continue", (e) => busy(e.target, async () => show(await call("next", { token: state.token, step: place.step }))), true)));
}

function renderGame(page) {
  const link = h("a", { class: "button primary", href: page.url, id: "to-game" },
    page.started ? "Continue your game" : "Start the game");
  draw(
    h("h2", {}, `Game ${page.number} of ${page.of}: ${page.name}`),
    h("p", {}, page.started
      ? "Your game is already open (perhaps in another tab). Continue it here; it is the same game."
      : "The game opens in this tab. When it is over, press Continue to come back here."),
    page.may_instruct ? null : h("p", { class: "muted" }, "In this game your partner has been told how to play; you cannot type instructions."),
    h("div", { class: "study-actions" }, link),
  );
}

function likert(item) {
  const points = item.labels.map((label, i) => h("label", {},
    h("input", { type: "radio", name: item.id, value: String(i + 1), required: item.required }),
    h("span", { class: "point" }, String(i + 1)), label ? h("span", {}, label) : null));
  return h("div", { class: "likert", role: "radiogroup" }, points);
}

function choices(item) {
  const type = item.multiple ? "checkbox" : "radio";
  return h("div", { class: "options" }, item.options.map((option) => h("label", {},
    h("input", { type, name: item.id, value: option }), h("span", {}, option))));
}

function question(item) {
  const field = item.type === "likert" ? likert(item) : item.type === "choice" ? choices(item)
    : h("textarea", { name: item.id, rows: "3", maxlength: String(item.max_chars) });
  return h("fieldset", { class: "question", "data-item": item.id },
    h("legend", {}, item.text, item.required ? h("span", { class: "required", "aria-label": "required" }, "*") : null),
    field, h("p", { class: "field-error", hidden: true }));
}

function collect(form, items) {
  const answers = {};
  for (const item of items) {
    if (item.type === "likert") {
      const picked = form.querySelector(`input[name="${item.id}"]:checked`);
      if (picked) answers[item.id] = Number(picked.value);
    } else if (item.type === "choice") {
      const picked = [...form.querySelectorAll(`input[name="${item.id}"]:checked`)].map((i) => i.value);
      if (picked.length) answers[item.id] = item.multiple ? picked : picked[0];
    } else {
      const text = form.querySelector(`textarea[name="${item.id}"]`).value.trim();
      if (text) answers[item.id] = text;
    }
  }
  return answers;
}

function renderQuestionnaire(page, place) {
  const form = h("form", { novalidate: true }, page.items.map(question),
    h("div", { class: "study-actions" }, h("button", { type: "submit", class: "primary" }, "Send my answers")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    await busy(submit, async () => {
      const answer = await call("next", { token: state.token, step: place.step, answers: collect(form, page.items) });
      if (answer.status === 422) {
        markErrors(form, answer.data.errors ?? {});
        return;
      }
      show(answer);
    });
  });
  draw(h("h2", {}, page.title), prose(page.html), h("p", { class: "muted small" }, "Questions marked * need an answer."), form);
}

function markErrors(form, errors) {
  let first = null;
  for (const box of form.querySelectorAll(".question")) {
    const error = errors[box.dataset.item];
    box.classList.toggle("invalid", Boolean(error));
    const line = box.querySelector(".field-error");
    line.hidden = !error;
    line.textContent = error ?? "";
    if (error && !first) first = box;
  }
  first?.scrollIntoView({ block: "center" });
  first?.querySelector("input, textarea")?.focus();
}

function renderDone(page) {
  const code = h("span", { class: "completion-code", id: "completion-code" }, page.code);
  const copy = button("Copy the code", () => navigator.clipboard?.writeText(page.code).then(
    () => showNotice("Copied.", 2000), () => showNotice("Select the code and copy it.", 4000)));
  const parts = [prose(page.html), h("p", {}, "Your completion code:"), h("p", {}, code, " ", copy)];
  if (page.redirect) {
    parts.push(h("p", { class: "muted" }, "Taking you back in a few seconds… ",
      h("a", { href: page.redirect, id: "redirect" }, "Go now")));
    setTimeout(() => location.assign(page.redirect), REDIRECT_AFTER_MS);
  }
  draw(...parts);
}

function renderMessage(page) {
  if (page.kind === "timed_out") forgetPlace(studyId);
  draw(prose(page.html ?? "<p>There is nothing to show here.</p>"));
}

const PAGES = {
  consent: renderConsent, ask_id: renderAskId, tutorial: renderTutorial, game: renderGame,
  questionnaire: renderQuestionnaire, done: renderDone,
};

/* ---------- start ---------- */

async function main() {
  const info = await fetch(`/api/studies/${encodeURIComponent(studyId)}`);
  const about = await info.json().catch(() => ({}));
  if (!info.ok) {
    renderMessage({ html: `<p>${info.status === 404 ? "There is no such study. Check the link you were given." : "The study cannot be reached right now; try again in a moment."}</p>` });
    return;
  }
  $("#study-title").textContent = about.title;
  state.descriptionHtml = about.description_html ?? "";
  document.title = `${about.title} · instructplay`;
  if (about.status === "unavailable") {
    renderMessage({ html: "<p>This study cannot run right now. Please try again later, or tell the researcher.</p>" });
    return;
  }
  show(await call("enter", { params, ...(state.token ? { token: state.token } : {}) }));
}

document.addEventListener("visibilitychange", () => {
  report(studyId, state.token, "visibility", { state: document.visibilityState }, "study");
});

main().catch((err) => showNotice(`The study page failed (${err.message}); reload it.`, null));
