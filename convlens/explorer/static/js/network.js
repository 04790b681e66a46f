// The network as columns. Each node is one layer call; `inputs` name the nodes it reads (-1: the
// model's input). A node's column is one more than the furthest of its inputs, so a Sequential
// becomes one column per layer, and a graph (residual branches, concatenations) stacks the
// nodes that run side by side in one column, with its edges drawn between them.
import { el, fmt, imageCanvas, lineCanvas, scaled } from "./draw.js";
import { t } from "./i18n.js";

export function layoutColumns(nodes) {
  const depth = new Map([[-1, 0]]);
  for (const node of nodes) {   // nodes come in the order they ran: inputs first
    depth.set(node.index, 1 + Math.max(...node.inputs.map((i) => depth.get(i) ?? 0), 0));
  }
  const columns = [];
  for (const node of nodes) {
    const d = depth.get(node.index);
    (columns[d - 1] ||= []).push(node);
  }
  return columns.filter(Boolean);
}

function mapSize(h, w) {
  return Math.max(36, Math.min(64, Math.max(h, w) * 3));
}

// The canvases of one layer's output; onCell(index) gets the clicked value's index.
export function mapViews(entry, onCell) {
  const box = el("div", { class: "maps" });
  const { kind, values, min, max } = entry;
  const color = scaled(min ?? 0, max ?? 1);
  if (kind === "maps" || kind === "slices") {
    values.forEach((rows, c) => {
      const canvas = imageCanvas(rows, color, mapSize(rows.length, rows[0].length));
      canvas.dataset.channel = c;
      canvas.title = `map ${c}`;
      canvas.addEventListener("click", (ev) => {
        const i = Math.floor((ev.offsetY / canvas.clientHeight) * rows.length);
        const j = Math.floor((ev.offsetX / canvas.clientWidth) * rows[0].length);
        onCell(kind === "slices" ? [c, entry.depth, i, j] : [c, i, j]);
      });
      box.append(canvas);
    });
  } else if (kind === "signals") {
    values.forEach((series, c) => {
      const canvas = lineCanvas([series], min, max, 120, 36);
      canvas.dataset.channel = c;
      canvas.addEventListener("click", (ev) => {
        onCell([c, Math.min(series.length - 1, Math.floor((ev.offsetX / canvas.clientWidth) * series.length))]);
      });
      box.append(canvas);
    });
  } else if (kind === "vector") {
    const column = values.map((v) => [v]);
    const canvas = imageCanvas(column, color);
    const cell = Math.max(1, Math.min(12, 320 / values.length));   // at most 320 px tall
    canvas.style.width = "14px"; canvas.style.height = `${Math.round(cell * values.length)}px`;
    canvas.dataset.channel = 0;
    canvas.addEventListener("click", (ev) => {
      onCell([Math.min(values.length - 1, Math.floor((ev.offsetY / canvas.clientHeight) * values.length))]);
    });
    box.append(canvas);
  }
  const total = entry.shape[0];
  if (entry.shown !== undefined && entry.shown < total && kind !== "vector") {
    box.append(el("span", { class: "more", text: `${entry.shown} / ${total}` }));
  }
  return box;
}

function head(node) {
  const rf = node.receptive_field === null ? "–"
    : node.whole_input ? t("whole_input") : node.receptive_field.join("×");
  return el("div", { class: "head", title: node.description },
    el("b", { text: `${node.name} ${node.type}` }),
    el("span", { text: `(${node.output_shape.join(", ")})` }), el("br"),
    el("span", { text: `${fmt(node.params)} ${t("params")}` }), el("br"),
    el("span", { text: `${t("rf")} ${rf}` }));
}

// Draws the whole network into `container`. `acts` is the /activations answer (or null).
export function drawNetwork(container, net, acts, onCell) {
  container.replaceChildren();
  const row = el("div", { class: "columns" });
  const inputCol = el("div", { class: "column", "data-node": -1 },
    el("div", { class: "head" }, el("b", { text: t("input") }), el("span", { text: `(${net.input_shape.join(", ")})` })));
  if (acts) inputCol.append(mapViews(acts.input, () => {}));
  row.append(inputCol);
  for (const [c, column] of layoutColumns(net.nodes).entries()) {
    const col = el("div", { class: "column graph-stack", "data-column": c });
    for (const node of column) {
      const block = el("div", { class: "column", "data-node": node.index, "data-testid": `node-${node.index}` }, head(node));
      const entry = acts?.layers[node.index];
      if (entry) block.append(mapViews(entry, (index) => onCell(node.index, index)));
      col.append(block);
    }
    row.append(col);
  }
  container.append(row);
  drawEdges(container, row, net.nodes);
}

function drawEdges(container, row, nodes) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "edges");
  svg.setAttribute("width", row.scrollWidth); svg.setAttribute("height", row.scrollHeight);
  const base = row.getBoundingClientRect();
  const box = (index) => row.querySelector(`[data-node="${index}"] > .head`)?.getBoundingClientRect();
  for (const node of nodes) {
    const to = box(node.index);
    for (const input of node.inputs) {
      const from = box(input);
      if (!from || !to) continue;
      const path = document.createElementNS(ns, "path");
      const skip = to.left - from.right > 40;          // jumps over columns: an arc above them
      if (skip) {
        const x1 = from.left + from.width / 2 - base.left, y1 = from.top - base.top;
        const x2 = to.left + to.width / 2 - base.left, y2 = to.top - base.top;
        const lift = Math.min(y1, y2) - 18;
        path.setAttribute("d", `M${x1},${y1} C${x1},${lift} ${x2},${lift} ${x2},${y2}`);
      } else {
        const x1 = from.right - base.left, y1 = from.top + from.height / 2 - base.top;
        const x2 = to.left - base.left, y2 = to.top + to.height / 2 - base.top;
        const mid = (x1 + x2) / 2;
        path.setAttribute("d", `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`);
      }
      path.setAttribute("stroke", skip ? "#e07a2f" : "#9aa3b5");
      path.setAttribute("fill", "none"); path.setAttribute("stroke-width", "1.5");
      svg.append(path);
    }
  }
  row.append(svg);          // over the columns, so that no header hides an edge
}

// The first convolution's kernels, each on its own scale.
export function drawFilters(container, filters) {
  container.replaceChildren();
  if (!filters) return;
  for (const [o, kernel] of filters.weights.entries()) {
    const first = kernel[0];          // the first input channel's kernel
    if (Array.isArray(first[0]) && !Array.isArray(first[0][0])) {
      const flat = first.flat();
      const canvas = imageCanvas(first, scaled(Math.min(...flat), Math.max(...flat)));
      canvas.title = `filter ${o}`;
      container.append(canvas);
    } else if (!Array.isArray(first[0])) {
      container.append(lineCanvas([first], Math.min(...first), Math.max(...first), 60, 30));
    } else {           // 3-D kernel: its middle depth slice
      const mid = first[Math.floor(first.length / 2)];
      const flat = mid.flat();
      container.append(imageCanvas(mid, scaled(Math.min(...flat), Math.max(...flat))));
    }
  }
}
