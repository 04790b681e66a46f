// The page's words: fetched from /api/labels/{lang} (the same Korean as `convlens explain --lang ko`).
import { getJSON } from "./api.js";

let words = {};
export let lang = "en";

export async function setLanguage(next) {
  words = await getJSON(`/api/labels/${next}`);
  lang = next;
  document.documentElement.lang = next;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const text = words[el.dataset.i18n];
    if (text !== undefined) el.textContent = text;
  }
}

// t("round_trip", {ms: 3}) -> "round trip 3 ms"
export function t(key, values = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)(:[^}]*)?\}/g, (_, name) => (name in values ? values[name] : `{${name}}`));
}
