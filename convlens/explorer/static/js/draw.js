// Drawing arrays the server computed: images (one colour scale per layer), line plots, bars.
// Scaling values to colours is the only arithmetic here; no model computation happens in the page.

export function fmt(v, digits = 5) {
  if (v === null || v === undefined) return "–";
  if (v === 0) return "0";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return Number(v.toPrecision(digits)).toString();
}

// viridis-like ramp, from dark blue to yellow (t in [0, 1])
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
export function ramp(t) {
  const x = Math.min(Math.max(t, 0), 1) * (RAMP.length - 1);
  const i = Math.min(Math.floor(x), RAMP.length - 2), f = x - i;
  return RAMP[i].map((c, k) => Math.round(c + (RAMP[i + 1][k] - c) * f));
}

// red for negative, white for 0, blue for positive (gradients)
export function diverging(v, scale) {
  const t = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : 0;
  return t >= 0 ? [255 - 200 * t, 255 - 150 * t, 255] : [255, 255 + 200 * t, 255 + 200 * t];
}

// A 2-D array as a canvas, one pixel per value; `scale` maps each value to [r, g, b].
export function imageCanvas(rows, color, size = null) {
  const h = rows.length, w = rows[0].length;
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h; canvas.className = "map";
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const [r, g, b] = color(rows[i][j]);
    const k = 4 * (i * w + j);
    img.data[k] = r; img.data[k + 1] = g; img.data[k + 2] = b; img.data[k + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  if (size) {
    const scale = size / Math.max(w, h);
    canvas.style.width = `${Math.round(w * scale)}px`; canvas.style.height = `${Math.round(h * scale)}px`;
  }
  return canvas;
}

export function scaled(min, max) {
  const span = max - min || 1;
  return (v) => (v === null ? [255, 0, 255] : ramp((v - min) / span));
}

export const grey = (min, max) => (v) => {
  const g = Math.round(255 * Math.min(Math.max((v - min) / ((max - min) || 1), 0), 1));
  return [g, g, g];
};

// A 1-D signal (or several) as a line plot on a canvas.
export function lineCanvas(series, min, max, width = 160, height = 48, colors = null) {
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height; canvas.className = "map line";
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, width, height);
  const span = max - min || 1;
  const y = (v) => height - 3 - ((v - min) / span) * (height - 6);
  if (min < 0 && max > 0) { ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(0, y(0)); ctx.lineTo(width, y(0)); ctx.stroke(); }
  series.forEach((values, s) => {
    ctx.strokeStyle = colors ? colors[s % colors.length] : "#2f6fdf"; ctx.lineWidth = 1.2; ctx.beginPath();
    values.forEach((v, i) => {
      const x = values.length > 1 ? (i / (values.length - 1)) * (width - 2) + 1 : width / 2;
      if (i === 0) ctx.moveTo(x, y(v ?? 0)); else ctx.lineTo(x, y(v ?? 0));
    });
    ctx.stroke();
  });
  return canvas;
}

// A small table of numbers; `cls(i, j)` may give a class per cell.
export function numberTable(rows, cls = () => "") {
  const table = document.createElement("table");
  table.className = "numbers";
  const matrix = Array.isArray(rows[0]) ? rows : [rows];
  matrix.forEach((row, i) => {
    const tr = table.insertRow();
    row.forEach((v, j) => {
      const td = tr.insertCell();
      td.textContent = fmt(v, 4);
      td.dataset.value = v;
      const c = cls(i, j);
      if (c) td.className = c;
    });
  });
  return table;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// Probability bars: one row per class, the top class highlighted.
export function bars(container, classes, probabilities, onClick = null) {
  container.replaceChildren();
  const top = probabilities.indexOf(Math.max(...probabilities));
  probabilities.forEach((p, k) => {
    const row = el("div", { class: `bar${k === top ? " top" : ""}`, "data-class": k, "data-p": p },
      el("span", { class: "name", text: classes[k] ?? k }),
      el("span", { class: "track" }, el("span", { class: "fill" })),
      el("span", { class: "pct", text: `${(100 * p).toFixed(1)}%` }));
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(2)}%`;
    if (onClick) row.addEventListener("click", () => onClick(k));
    container.append(row);
  });
}
