/**
 * A study's side of the game pages (say_select.html, hanabi.html opened with ?study=ID from /s/ID): the
 * participant's key to the study (kept in localStorage by the study page: every tab of this browser shares
 * it), the study reference sent with start_game (the server starts the game of the participant's step, or
 * joins the one already open), no New game, "Continue" back to the study page once the game is over,
 * no instruction box when the condition gives the partner its instruction, and the page's events (tab
 * hidden / shown, socket reconnects) reported to the study.
 */

const storageKey = (studyId) => `instructplay.study.${studyId}`;

/** The saved {participant, token} of this browser in study `studyId`, or null. */
export function savedPlace(studyId) {
  try {
    return JSON.parse(localStorage.getItem(storageKey(studyId)));
  } catch {
    return null;
  }
}

export function savePlace(studyId, record) {
  localStorage.setItem(storageKey(studyId), JSON.stringify(record));
}

export function forgetPlace(studyId) {
  localStorage.removeItem(storageKey(studyId));
}

/** Report a page event to the study (sendBeacon, so that it is sent even while the page closes). */
export function report(studyId, token, type, data, page) {
  if (!token) return;
  const body = JSON.stringify({ token, type, data, page });
  const url = `/api/studies/${encodeURIComponent(studyId)}/events`;
  if (!navigator.sendBeacon?.(url, new Blob([body], { type: "text/plain" }))) {
    fetch(url, { method: "POST", body, keepalive: true }).catch(() => {});
  }
}

/** The study link of a game page whose URL has ?study=ID, or null for a free game. */
export function studyLink(query) {
  const id = query.get("study");
  return id ? new StudyLink(id) : null;
}

class StudyLink {
  constructor(id) {
    this.id = id;
    this.token = savedPlace(id)?.token ?? null;
    this.over = false;
    this.connections = 0;
  }

  get studyPage() {
    return `/s/${encodeURIComponent(this.id)}`;
  }

  /** The start_game field that names the study's game slot. */
  ref() {
    return { id: this.id, token: this.token };
  }

  /** Set the page up for a study: no New game, Continue instead of Play again, events reported. */
  attach() {
    for (const away of document.querySelectorAll('#new-game, .topbar a[href="/static/replay.html"]')) away.hidden = true;
    const next = document.querySelector("#play-again");
    if (next) next.innerHTML = "Continue <kbd>N</kbd>";
    if (!this.token) {
      location.replace(this.studyPage);  // no key to the study in this browser: the study page asks
      return;
    }
    document.addEventListener("visibilitychange", () => {
      report(this.id, this.token, "visibility", { state: document.visibilityState }, "game");
    });
  }

  onConnect() {
    this.connections += 1;
    if (this.connections > 1) report(this.id, this.token, "reconnect", { attempt: this.connections - 1 }, "game");
  }

  onStarted(msg) {
    if (msg.may_instruct === false) {
      const box = document.querySelector("#instruction-form")?.closest("section");
      if (box) box.hidden = true;
      const clarify = document.querySelector("#clarify");
      if (clarify) clarify.style.display = "none";  // nothing to confirm or rephrase: the study gave the instruction
    }
  }

  onGameOver() {
    this.over = true;
  }

  /** New game / Play again / N in a study: back to the study page once the game is over. */
  continue() {
    if (this.over) location.assign(this.studyPage);
  }

  /** A refused start: the study page knows where the participant is. */
  onStartError(err) {
    const turn = document.querySelector("#turn-status");
    if (turn) {
      turn.textContent = "";
      turn.append(`${err.message} `);
      const back = document.createElement("a");
      back.href = this.studyPage;
      back.textContent = "Back to the study";
      turn.append(back);
    }
  }
}
