/**
 * What the Say-Select and Hanabi pages share: one game over the socket, started or resumed (the tab's
 * saved game id and resume token, after a reconnect or a reload) and New game; the header (the partner's
 * name, the connection); the turn line; the server's errors; the common keys (N, I, Enter and Esc in the
 * instruction box); and the instruction box with its "What ... understood" card.
 *
 * A page makes one GamePage with what differs (its game, its agent's name, hooks) and draws the rest
 * from the socket events it hands to `open`, which passes on only the events of the game being played.
 */
import { $, showNotice } from "./dom.js";
import { connect, forgetGame, saveGame, savedGame } from "./connection.js";
import { fetchPartners } from "./games.js";
import { keepGameKey } from "./research_access.js";
import { studyLink } from "./study_link.js";
import { renderNothingUnderstood, renderPending, renderUnderstanding, sendConfirmationsWith } from "./understanding.js";

/**
 * The turn line at the top of the table. `mode`: "yours" (the person is to move: highlighted),
 * "waiting" (the partner or the server works: a spinner), or null (starting, over, an error).
 */
export function setTurn(text, mode = null) {
  const el = $("#turn-status");
  el.textContent = text;
  el.classList.toggle("yours", mode === "yours");
  el.classList.toggle("waiting", mode === "waiting");
}

function setConnection(online) {
  const el = $("#connection");
  el.textContent = online ? "Connected" : "Reconnecting…";
  el.classList.toggle("offline", !online);
}

function updateCounter() {
  $("#instruction-count").textContent = String($("#instruction").value.length);
}

async function showPartnerName(game, partnerId) {
  $("#partner-name").textContent = partnerId;
  try {
    const partner = (await fetchPartners(game)).find((p) => p.id === partnerId);
    if (partner) $("#partner-name").textContent = partner.name;
  } catch {
    /* the id stays: the name is only cosmetic */
  }
}

export class GamePage {
  /**
   * `game`: "say-select" or "hanabi". `agent`: the partner as the page's sentences name it ("Bob",
   * "Your partner"). The hooks (each optional):
   *   startFields()          more start_game fields (seat, seed, instruction)
   *   onStarting()           a new game is being started: forget the one drawn
   *   onStarted(msg, isNew)  after game_started; isNew unless it is the game already shown (a reconnect)
   *   inProgress()           whether a game with moves is being played (New game asks before leaving it)
   *   redraw()               draw the last state again (after a refused move)
   *   onUnderstanding(msg, answered)  after the card is drawn; answered: msg answers the instruction sent
   *   onKey(event)           the page's own keys (not N or I, nor keys typed into a text box)
   *   savedFields()          more fields saved with the game in this tab
   */
  constructor({ game, agent, ...hooks }) {
    this.game = game;
    this.agent = agent;
    this.hooks = hooks;
    this.query = new URLSearchParams(location.search);
    this.study = studyLink(this.query);  // ?study=ID: the study's game at the participant's step (study_link.js)
    this.saved = this.study ? null : savedGame(game);  // the game this tab played last, or null
    this.partner = this.query.get("partner") ?? this.saved?.partner ?? null;
    this.participant = this.query.get("participant");
    this.gameId = null;
    this.token = null;
    this.understanding = null;     // the last `understanding` payload
    this.sentInstruction = null;   // the instruction sent and not answered yet
    this.socket = null;
  }

  /**
   * Wire the header, the instruction box and the keys, connect, and hand each event of `handlers`
   * ({event: handler}) to its handler when it is about this game. Without a partner, go to the start page.
   */
  open(handlers) {
    if (!this.partner && !this.study) {
      location.replace("/");
      return;
    }
    $("#instruction-form").addEventListener("submit", (event) => this.sendInstruction(event));
    $("#instruction").addEventListener("input", updateCounter);
    $("#new-game").addEventListener("click", () => this.newGame());
    $("#play-again").addEventListener("click", () => this.newGame());
    $("#confirm-yes").addEventListener("click", () => this.confirmReading());
    $("#confirm-rephrase").addEventListener("click", () => this.rephrase());
    document.addEventListener("keydown", (event) => this.onKeyDown(event));
    this.study?.attach();
    try {
      this.socket = connect({ onConnect: () => this.onConnect(), onDisconnect: () => setConnection(false) });
    } catch (err) {
      setTurn(err.message);
      return;
    }
    sendConfirmationsWith((payload) => this.send("confirm", payload));  // "Yes" and the reading buttons
    this.socket.on("game_started", (msg) => this.onGameStarted(msg));
    this.socket.on("error", (err) => this.onError(err));
    this.socket.on("game_over", (msg) => { if (this.study && msg.game_id === this.gameId) this.study.onGameOver(); });
    const all = { ...handlers, understanding: (msg) => this.onUnderstanding(msg) };
    for (const [event, handler] of Object.entries(all)) {
      this.socket.on(event, (msg) => { if (msg.game_id === this.gameId) handler(msg); });
    }
  }

  /** Send `event` about this game. */
  send(event, payload) {
    this.socket.emit(event, { game_id: this.gameId, ...payload });
  }

  /** Save this game in the tab, so a reload resumes it. */
  remember() {
    saveGame(this.game, { game_id: this.gameId, token: this.token, partner: this.partner, ...this.hooks.savedFields?.() });
  }

  startGame() {
    this.gameId = null;
    this.hooks.onStarting?.();
    setTurn("Starting a game…", "waiting");
    const payload = this.study ? { game: this.game, study: this.study.ref() }
      : { game: this.game, partner: this.partner, ...this.hooks.startFields?.() };
    if (this.participant && !this.study) payload.participant = this.participant;
    this.socket.emit("start_game", payload);
  }

  newGame() {
    if (this.study) {
      this.study.continue();  // a study has no new games: back to the study page once this one is over
      return;
    }
    if (this.hooks.inProgress?.() && !window.confirm("Leave this game and start a new one?")) return;
    forgetGame(this.game);
    this.token = null;
    this.startGame();
  }

  /* ---------- the instruction box ---------- */

  sendInstruction(event) {
    event?.preventDefault();
    const box = $("#instruction");
    const text = box.value.trim();
    if (!text || !this.gameId) return;
    this.submitInstruction(text);
    box.value = "";
    updateCounter();
  }

  submitInstruction(text) {
    this.sentInstruction = text;
    this.send("instruction", { text });
    renderPending(text, this.agent);
  }

  /**
   * "Yes, that's it": the protocol has no confirm message, so the page sends the agent's reading back,
   * in its words, as the person's next instruction. It is stored like any instruction, and read clearly.
   */
  confirmReading() {
    if (this.understanding?.summary) this.submitInstruction(this.understanding.summary);
  }

  rephrase() {
    const box = $("#instruction");
    box.value = this.understanding?.text ?? "";
    updateCounter();
    box.focus();
    box.select();
  }

  /* ---------- receiving ---------- */

  onConnect() {
    setConnection(true);
    this.study?.onConnect();
    const gameId = this.gameId ?? this.saved?.game_id;
    const token = this.token ?? this.saved?.token;
    if (gameId && token) this.socket.emit("resume", { game_id: gameId, token });
    else this.startGame();
  }

  onGameStarted(msg) {
    const isNew = msg.game_id !== this.gameId;
    this.gameId = msg.game_id;
    this.token = msg.resume_token;
    this.partner = msg.partner;
    this.remember();
    keepGameKey(msg.game_id, this.study?.token ?? msg.resume_token);  // opens this game's replay for its player
    this.study?.onStarted(msg);
    this.hooks.onStarted?.(msg, isNew);
    if (!this.study) showPartnerName(this.game, msg.partner);  // a study does not name the partner: it may tell the condition
  }

  onUnderstanding(msg) {
    const answered = msg.text === this.sentInstruction;
    if (answered) this.sentInstruction = null;
    this.understanding = msg;
    renderUnderstanding(msg, this.agent);
    this.hooks.onUnderstanding?.(msg, answered);
  }

  onError(err) {
    showNotice(err.message || `The server reported an error (${err.code}).`);
    if (err.event === "resume" && ["bad_token", "unknown_game"].includes(err.code)) {
      forgetGame(this.game);
      this.token = null;
      this.startGame();
    } else if (err.event === "instruction") {
      // the refused instruction goes back into the box to be changed; the card shows the last reading again
      $("#instruction").value = this.sentInstruction ?? "";
      this.sentInstruction = null;
      updateCounter();
      if (this.understanding) renderUnderstanding(this.understanding, this.agent);
      else renderNothingUnderstood();
    } else if (err.event === "move") {
      this.hooks.redraw?.();
    } else if (err.event === "start_game" && this.study) {
      this.study.onStartError(err);
    } else if (err.event === "start_game" && err.code === "unknown_partner") {
      setTurn("This partner is not available: choose another on the start page.");
    }
  }

  onKeyDown(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLTextAreaElement || target instanceof HTMLInputElement) {
      if (target.id !== "instruction") return;
      if (event.key === "Enter" && !event.shiftKey) this.sendInstruction(event);
      if (event.key === "Escape") target.blur();
      return;
    }
    if (event.key === "n" || event.key === "N") {
      this.newGame();
    } else if (event.key === "i" || event.key === "I") {
      event.preventDefault();
      $("#instruction").focus();
    } else {
      this.hooks.onKey?.(event);
    }
  }
}
