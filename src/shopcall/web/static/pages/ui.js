// Small DOM helpers shared by the page scripts.
import { icons } from "/static/components/icons.js";

/** The element marked `data-el="name"`. @param {string} name */
export const el = (name) => document.querySelector(`[data-el="${name}"]`);

/** Seconds as m:ss (a call's duration, a position in a recording). @param {number} s */
export const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

/** A price in the shop's currency (EUR if none), in the browser's locale. */
export function money(amount, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "EUR" }).format(amount);
  } catch {
    return `${amount} ${currency || ""}`.trim(); // an unknown currency code
  }
}

/**
 * A short note in the page's `.sc-toast` stack, gone after `ms`.
 * @param {HTMLElement} stack the toasts container
 * @param {string} text
 * @param {{icon?: string, ms?: number, testid?: string}} [opts]
 */
export function showToast(stack, text, { icon = icons.check, ms = 3500, testid } = {}) {
  const t = document.createElement("div");
  t.className = "sc-toast";
  if (testid) t.dataset.testid = testid;
  t.innerHTML = `${icon}<span></span>`;
  t.querySelector("span").textContent = text;
  stack.append(t);
  setTimeout(() => {
    t.classList.add("is-leaving");
    setTimeout(() => t.remove(), 300); // after the leave transition
  }, ms);
}
