/** Small DOM helpers shared by the pages. */

/** Create an element with attributes and children (strings become text, never HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) el.append(child);
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Format a probability as a whole percentage ("<1%" for tiny non-zero values). */
export function percent(p) {
  if (p > 0 && p < 0.005) return "<1%";
  return `${Math.round(p * 100)}%`;
}

/** Format a signed reward: +1, −1, 0 (a real minus sign, so it reads well and aligns). */
export function signed(n) {
  if (n > 0) return `+${n}`;
  if (n < 0) return `\u2212${Math.abs(n)}`;
  return "0";
}

let noticeTimer;

/** Show `text` in the page's notice (#notice); it hides itself after `hideAfterMs`, or stays when that is null. */
export function showNotice(text, hideAfterMs = 10000) {
  const notice = $("#notice");
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  if (hideAfterMs !== null) noticeTimer = setTimeout(() => { notice.hidden = true; }, hideAfterMs);
}
