// Why (Grad-CAM, saliency), Backward (one SGD step) and Training (a run's record).
import { bars, diverging, el, fmt, grey, imageCanvas, lineCanvas, ramp } from "./draw.js";
import { drawFilters } from "./network.js";
import { t } from "./i18n.js";

// The input in grey with the heat map laid over it (2-D), or both as lines (1-D).
export function showWhy(container, input, why) {
  const heat = why.heatmap, peak = why.max || 1;
  const parts = [el("p", {}, `${t("class")} `, el("b", { "data-testid": "why-class-shown", text: why.class_name }),
    why.layer ? ` · ${why.layer}` : "", ` · ${why.method}`)];
  if (Array.isArray(heat[0])) {
    const base = input.values[0];
    const lo = input.min, hi = input.max;
    const g = grey(lo, hi);
    const rows = base.map((row, i) => row.map((v, j) => [v, heat[i][j]]));
    const canvas = imageCanvas(rows, ([v, h]) => {
      const a = 0.6 * Math.min(h / peak, 1), [r1, g1, b1] = g(v), [r2, g2, b2] = ramp(h / peak);
      return [r1 * (1 - a) + r2 * a, g1 * (1 - a) + g2 * a, b1 * (1 - a) + b2 * a];
    }, 220);
    canvas.dataset.testid = "why-overlay";
    parts.push(canvas);
  } else {
    parts.push(lineCanvas([input.values[0]], input.min, input.max, 280, 80),
      lineCanvas([heat], 0, peak, 280, 60, ["#e07a2f"]));
  }
  for (const w of why.warnings) parts.push(el("p", { class: "warning", text: w }));
  container.replaceChildren(...parts);
}

function gradView(grad) {
  if (!grad) return el("span", { class: "muted", text: "–" });
  const scale = grad.abs_max;
  const color = (v) => diverging(v ?? 0, scale);
  const box = el("span", { class: "row" });
  if (grad.kind === "vector") box.append(lineCanvas([grad.values], -scale, scale, 120, 36, ["#c03030"]));
  else if (grad.kind === "signals") grad.values.slice(0, 4).forEach((s) => box.append(lineCanvas([s], -scale, scale, 80, 30, ["#c03030"])));
  else grad.values.forEach((rows) => box.append(imageCanvas(rows, color)));
  return box;
}

export function showBackward(container, step, classes) {
  const before = el("div", { class: "bars" }), after = el("div", { class: "bars" });
  bars(before, classes, step.probabilities_before);
  bars(after, classes, step.probabilities_after);
  const grads = step.layers.map((layer) => el("div", { class: "grad-row" },
    el("span", { class: "label", text: `${layer.name} ${layer.type} |max| ${fmt(layer.grad?.abs_max ?? 0, 3)}` }),
    gradView(layer.grad)));
  const table = el("table", { class: "updates" });
  const head = table.insertRow();
  for (const h of ["", t("grad"), t("before"), t("after"), t("max_change")]) head.append(el("th", { text: h }));
  for (const u of step.updates) {
    const tr = table.insertRow();
    tr.insertCell().textContent = `${u.name} (${u.shape.join("×")})`;
    tr.insertCell().textContent = u.grad.slice(0, 3).map((v) => fmt(v, 3)).join(", ") + " …";
    tr.insertCell().textContent = u.before.slice(0, 3).map((v) => fmt(v, 4)).join(", ") + " …";
    tr.insertCell().textContent = u.after.slice(0, 3).map((v) => fmt(v, 4)).join(", ") + " …";
    tr.insertCell().textContent = fmt(u.max_change, 3);
  }
  container.replaceChildren(
    el("p", {}, `${t("loss_value", { value: "" })}`, el("b", { "data-testid": "bw-loss", "data-value": step.loss, text: fmt(step.loss) }),
      ` → ${t("loss_after")}: `, el("b", { "data-testid": "bw-loss-after", text: fmt(step.loss_after) })),
    el("div", { class: "row" }, el("div", {}, el("h3", { text: t("before") }), before),
      el("div", {}, el("h3", { text: t("after") }), after)),
    el("h3", { text: `${t("dz")} = ${step.dlogits.map((v) => fmt(v, 3)).join(", ")}` }),
    el("h3", { text: t("grad_maps") }), el("div", { class: "scroll" }, ...grads),
    el("h3", { text: t("changes") }), el("div", { class: "scroll" }, table),
    el("h3", { text: t("explanation") }), el("pre", { class: "explanation", text: step.explanation }));
}

const CURVE_COLORS = ["#2f6fdf", "#e07a2f", "#2a9d5c", "#c03030"];

function curves(history) {
  const points = Math.max(0, ...Object.values(history).map((v) => (Array.isArray(v) ? v.length : 0)));
  const box = el("div", { "data-testid": "curves", "data-points": points });
  for (const keys of [["train_loss", "val_loss"], ["train_accuracy", "val_accuracy"]]) {
    const shown = keys.filter((k) => Array.isArray(history[k]) && history[k].length);
    if (!shown.length) continue;
    const all = shown.flatMap((k) => history[k]).filter((v) => v !== null);
    const legend = shown.map((k, i) => el("span", { text: ` ${k} ` })).map((span, i) => {
      span.style.color = CURVE_COLORS[i]; return span;
    });
    box.append(el("div", {}, ...legend),
      lineCanvas(shown.map((k) => history[k]), Math.min(...all), Math.max(...all), 360, 140, CURVE_COLORS));
  }
  return box;
}

function confusion(matrix, classes) {
  const table = el("table", { class: "confusion", "data-testid": "confusion" });
  const peak = Math.max(...matrix.flat(), 1);
  const head = table.insertRow();
  head.insertCell();
  classes.forEach((c) => { head.insertCell().textContent = c; });
  matrix.forEach((row, i) => {
    const tr = table.insertRow();
    tr.insertCell().textContent = classes[i] ?? i;
    row.forEach((v) => {
      const td = tr.insertCell();
      td.textContent = v;
      const [r, g, b] = ramp(v / peak);
      td.style.background = `rgb(${r},${g},${b})`;
      td.style.color = v / peak > 0.5 ? "#000" : "#fff";
    });
  });
  return table;
}

export function showTraining(container, record) {
  if (!record.run) {
    container.replaceChildren(el("p", { class: "muted", text: t("no_run") }));
    return;
  }
  const test = Object.entries(record.test).filter(([, v]) => typeof v === "number")
    .map(([k, v]) => `${k} ${fmt(v, 4)}`).join(" · ");
  const filters = el("div", { id: "run-filters" });
  drawFilters(filters, record.filters);
  container.replaceChildren(
    el("p", {}, `${t("status")}: `, el("b", { "data-testid": "run-status", text: record.status }),
      ` · ${t("epoch")} ${record.epochs_done} · ${test}`),
    el("p", { class: "muted", text: record.config.command || "" }),
    el("div", { class: "training-grid" },
      el("div", {}, el("h3", { text: t("curves") }), curves(record.history)),
      record.confusion_matrix ? el("div", {}, el("h3", { text: t("confusion") }), confusion(record.confusion_matrix, record.classes)) : null,
      el("div", {}, el("h3", { text: t("filters") }), filters)));
}
