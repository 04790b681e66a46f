// The numbers behind one value (the /cell answer): window, kernel, products, bias, formula,
// pooling winner, ReLU's cut, softmax's exponentials; the receptive field outlined on the input.
import { el, fmt, numberTable } from "./draw.js";
import { t } from "./i18n.js";

const MAX_CHANNELS = 3;       // channels of a window written out; the rest are summed in the text
const MAX_TERMS = 12;         // largest products of a dense layer listed

function channels(array, dims) {
  // a window or kernel (C, *K): a list of 2-D tables (1-D kernels become one row)
  return array.map((c) => (dims === 1 ? [c] : dims === 3 ? c[Math.floor(c.length / 2)] : c));
}

function convView(d, dims) {
  const box = el("div");
  const windows = channels(d.window, dims), kernels = channels(d.kernel, dims), products = channels(d.products, dims);
  windows.slice(0, MAX_CHANNELS).forEach((w, c) => {
    box.append(el("div", { class: "row" },
      el("div", {}, el("div", { class: "muted", text: `${t("window")} c=${d.channels[0] + c}` }), numberTable(w)),
      el("div", {}, el("div", { class: "muted", text: t("kernel") }), numberTable(kernels[c])),
      el("div", {}, el("div", { class: "muted", text: t("products") }), numberTable(products[c]))));
  });
  if (windows.length > MAX_CHANNELS) box.append(el("p", { class: "muted", text: `… ${windows.length} channels` }));
  const bias = d.bias === null ? "" : ` + ${fmt(d.bias)}`;
  box.append(el("div", { class: "formula", "data-testid": "cell-sum", "data-value": d.sum,
    text: `${t("sum_bias")}: Σ ${t("products")}${bias} = ${fmt(d.sum, 7)}` }));
  return box;
}

function poolView(d, dims) {
  const box = el("div");
  const windows = channels([d.window], dims)[0];
  const win = d.winner ? (dims === 2 ? d.winner : dims === 1 ? [0, d.winner[0]] : d.winner.slice(1)) : null;
  box.append(numberTable(windows, (i, j) => (win && i === win[0] && j === win[1] ? "win" : "")));
  box.append(el("div", { class: "formula", text: `y = ${t(`pool_kind_${d.pool}`)}` }));
  if (d.winner_input) {
    box.append(el("div", { "data-testid": "pool-winner", text: `${t("winner")} (${d.winner_input.join(", ")})` }));
  }
  return box;
}

function linearView(d) {
  const order = d.products.map((p, i) => [Math.abs(p), i]).sort((a, b) => b[0] - a[0]).slice(0, MAX_TERMS);
  const rows = order.map(([, i]) => [i, d.inputs[i], d.weights[i], d.products[i]]);
  const table = numberTable(rows);
  const bias = d.bias === null ? "" : ` + ${fmt(d.bias)}`;
  return el("div", {},
    el("div", { class: "muted", text: `i, x_i, w_i, x_i·w_i (${order.length} / ${d.products.length})` }), table,
    el("div", { class: "formula", "data-testid": "cell-sum", "data-value": d.sum,
      text: `Σ_i x_i·w_i${bias} = ${fmt(d.sum, 7)}` }));
}

export function softmaxView(d, classes) {
  const rows = d.logits.map((z, k) => [z, d.exps[k], d.probabilities[k]]);
  const table = numberTable(rows);
  [...table.rows].forEach((tr, k) => tr.insertCell(0).append(String(classes?.[k] ?? k)));
  return el("div", { "data-testid": "softmax" },
    el("div", { class: "formula", text: t("softmax_formula") }),
    el("div", { class: "muted", text: `${t("logits")} | e^(z − ${fmt(d.max)}) | p` }), table,
    el("div", { class: "formula", text: `${t("sum")} Σ e^(z − max z) = ${fmt(d.sum, 7)}` }));
}

function mergeView(d, value) {
  // each input tensor's value at this cell, then the operation that joins them
  const rows = d.inputs.map((x) => el("tr", { "data-testid": "merge-input", "data-value": x.value ?? "" },
    el("td", { text: x.name }), el("td", { class: "muted", text: `(${x.shape.join("×")})` }),
    el("td", { text: x.value === null ? "—" : `[${x.index.join(", ")}] = ${fmt(x.value, 7)}` })));
  const known = d.inputs.filter((x) => x.value !== null).map((x) => fmt(x.value, 7));
  const infix = ["+", "−", "×", "÷"].includes(d.operation);
  const text = d.operation === "concat" ? `${t("merge_concat")}: ${known.join("")} = ${fmt(value, 7)}`
    : infix ? `${known.join(` ${d.operation} `)} = ${fmt(value, 7)}`
    : `${d.operation}(${known.join(", ")}) = ${fmt(value, 7)}`;
  return el("div", { "data-testid": "merge" },
    el("div", { class: "muted", text: t("merge_inputs") }), el("table", { class: "numbers" }, ...rows),
    el("div", { class: "formula", "data-testid": "merge-formula", "data-operation": d.operation, text }));
}

function elementwiseView(d, value) {
  if (d.kind === "relu") {
    return el("div", { "data-testid": "relu" },
      el("div", { class: "formula", text: `${t("relu_formula")}: max(0, ${fmt(d.x, 7)}) = ${fmt(value, 7)}` }),
      el("p", { text: d.cut ? t("cut") : t("kept") }),
      d.cut_in_map !== undefined ? el("p", { class: "muted", text: t("cut_count", { count: d.cut_in_map, total: d.map_size }) }) : null);
  }
  if (d.kind === "batchnorm") {
    return el("div", { class: "formula",
      text: `(${fmt(d.x, 7)} − ${fmt(d.mean)}) / √(${fmt(d.var)} + ${fmt(d.eps)}) · ${fmt(d.gamma)} + ${fmt(d.beta)} = ${fmt(value, 7)}` });
  }
  return el("div", { class: "formula", text: `${d.formula ? `${d.formula}: ` : ""}${fmt(d.x, 7)} → ${fmt(value, 7)}` });
}

export function showCell(container, cell) {
  const d = cell.detail;
  const dims = cell.input_shape.length - 1;
  const parts = [
    el("p", { class: "value-line" }, `${cell.name} ${cell.type} [${cell.index.join(", ")}] = `,
      el("b", { "data-testid": "cell-value", "data-value": cell.value, "data-layer": cell.layer,
        "data-index": JSON.stringify(cell.index), text: fmt(cell.value, 7) })),
  ];
  if (d.kind === "conv") parts.push(convView(d, dims));
  else if (d.kind === "pool") parts.push(poolView(d, dims));
  else if (d.kind === "linear") parts.push(linearView(d));
  else if (d.kind === "softmax") parts.push(softmaxView(d));
  else if (d.kind === "merge") parts.push(mergeView(d, cell.value));
  else parts.push(elementwiseView(d, cell.value));
  if (d.formula && Array.isArray(d.formula)) {
    parts.push(el("h3", { text: t("formula_size") }));
    for (const f of d.formula) parts.push(el("div", { class: "formula", "data-testid": "size-formula", text: f.text }));
  }
  if (cell.receptive_box) {
    parts.push(el("p", { class: "muted", text: `${t("rf")}: ${cell.receptive_box.map(([a, b]) => `${a}…${b}`).join(" × ")}` }));
  }
  container.replaceChildren(el("div", { class: "scroll" }, ...parts));
}

// Outline the input region a value sees on the input picture (2-D: a box, 1-D: a band).
export function outlineField(seen, box) {
  seen.querySelectorAll(".rf-box").forEach((b) => b.remove());
  const canvas = seen.querySelector("canvas");
  if (!box || !canvas) return;
  const h = Number(canvas.dataset.rows), w = Number(canvas.dataset.cols);
  const [rows, cols] = box.length === 1 ? [[0, h - 1], box[0]] : box.slice(-2);
  const div = el("div", { class: "rf-box", "data-testid": "rf-box" });
  Object.assign(div.style, {
    left: `${(100 * cols[0]) / w}%`, width: `${(100 * (cols[1] - cols[0] + 1)) / w}%`,
    top: `${(100 * rows[0]) / h}%`, height: `${(100 * (rows[1] - rows[0] + 1)) / h}%`,
  });
  seen.append(div);
}
