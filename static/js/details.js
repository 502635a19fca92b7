/**
 * The participant view and the researcher view of the same page. Participants see plain words; what a
 * researcher reads (lambda, priors and scores as numbers, backends, checkpoint files) carries the class
 * `details` and shows only while the "Details" switch in the header is on.
 *
 * `?details=off` (a study's link sets it when its participants must not see them) removes the switch, and
 * the details stay hidden; `?details=on` opens the page with them shown. Otherwise the switch starts off and
 * remembers the last choice in this browser.
 */
import { h } from "./dom.js";

const STORAGE_KEY = "instructplay.details";

/** `url` (a page of this site) with this page's `details` choice, so that a study's `details=off` follows the
 * participant to the pages they open from here. */
export function withDetails(url, query = new URLSearchParams(location.search)) {
  const wanted = query.get("details");
  if (!wanted) return url;
  const target = new URL(url, location.href);
  target.searchParams.set("details", wanted);
  return `${target.pathname}${target.search}${target.hash}`;
}

/** The query parameters a page passes on to the pages it links to (the study's choices). */
export function carriedParams(query = new URLSearchParams(location.search)) {
  const carried = new URLSearchParams();
  for (const name of ["details", "participant"]) {
    if (query.get(name)) carried.set(name, query.get(name));
  }
  return carried;
}

function remembered() {
  try {
    return localStorage.getItem(STORAGE_KEY) === "on";
  } catch {
    return false;
  }
}

function remember(on) {
  try {
    localStorage.setItem(STORAGE_KEY, on ? "on" : "off");
  } catch {
    /* private browsing: the choice lasts as long as the page */
  }
}

function show(on, button) {
  document.body.classList.toggle("show-details", on);
  button?.setAttribute("aria-checked", on ? "true" : "false");
}

/**
 * Put the switch at the end of the header (before `before`, when given) and apply the page's choice.
 * Returns whether details are shown.
 */
export function setUpDetails(query = new URLSearchParams(location.search), { before = null } = {}) {
  const wanted = query.get("details");
  for (const link of document.querySelectorAll('a[href^="/"]')) link.setAttribute("href", withDetails(link.getAttribute("href"), query));
  if (wanted === "off") {
    show(false, null);
    return false;
  }
  const on = wanted === "on" || (wanted === null && remembered());
  const button = h("button", {
    type: "button", id: "details-switch", class: "details-switch", role: "switch", "aria-checked": "false",
    title: "Show the numbers behind the partner's choices (for researchers)",
  }, "Details");
  button.addEventListener("click", () => {
    const next = button.getAttribute("aria-checked") !== "true";
    remember(next);
    show(next, button);
  });
  const bar = document.querySelector(".topbar");
  if (before && before.parentElement === bar) bar.insertBefore(button, before);
  else bar.append(button);
  show(on, button);
  return on;
}
