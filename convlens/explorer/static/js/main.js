// The explorer page: wires the input (drawing, upload, examples) to the API and the views.
import { ApiError, getJSON, modelPath, postJSON, upload } from "./api.js";
import { bars, el, grey, imageCanvas, lineCanvas } from "./draw.js";
import { outlineField, showCell, softmaxView } from "./detail.js";
import { lang, setLanguage, t } from "./i18n.js";
import { drawFilters, drawNetwork } from "./network.js";
import { showBackward, showTraining, showWhy } from "./panels.js";

const $ = (id) => document.getElementById(id);
const state = {
  models: [], model: null, net: null, payload: null, acts: null, pred: null, depth: null,
  roundTrips: [], inFlight: false, pending: false, poll: null,
  predictions: 0, predicting: 0, shownPayload: null,
};
window.explorer = state;          // for the browser tests and the curious

function showError(err) {
  const box = $("error");
  box.textContent = err instanceof ApiError ? err.message : `${err}`;
  box.hidden = false;
  setTimeout(() => { box.hidden = true; }, 6000);
}

function drawable(model) {
  return model.input_shape.length === 3 && [1, 3].includes(model.input_shape[0]);
}

// -- drawing -----------------------------------------------------------------------------
const canvas = $("draw-canvas");
const ctx = canvas.getContext("2d");

function clearCanvas() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

function canvasPayload() {
  return { image: canvas.toDataURL("image/png") };
}

let drawing = false;
let last = null;
canvas.addEventListener("pointerdown", (ev) => {
  drawing = true;
  last = [ev.offsetX, ev.offsetY];
  canvas.setPointerCapture(ev.pointerId);
});
canvas.addEventListener("pointermove", (ev) => {
  if (!drawing) return;
  ctx.strokeStyle = "#fff"; ctx.lineWidth = 20; ctx.lineCap = "round"; ctx.lineJoin = "round";
  ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(ev.offsetX, ev.offsetY); ctx.stroke();
  last = [ev.offsetX, ev.offsetY];
  livePredict();
});
canvas.addEventListener("pointerup", () => {
  if (!drawing) return;
  drawing = false;
  state.payload = canvasPayload();
  analyze();
});

// While drawing: one prediction in flight at a time, the newest stroke sent next.
async function livePredict() {
  if (state.inFlight) { state.pending = true; return; }
  state.inFlight = true;
  try {
    state.payload = canvasPayload();     // the newest stroke, read when it is sent
    await predict();
  } catch (err) {
    showError(err);
  } finally {
    state.inFlight = false;
    if (state.pending) { state.pending = false; livePredict(); }
  }
}

async function predict() {
  // Answers can arrive out of order (a live stroke's request may finish after the final
  // stroke's): only the newest request's answer is shown, never an older picture's.
  const number = ++state.predictions;
  const payload = state.payload;
  state.predicting += 1;
  try {
    const started = performance.now();
    const pred = await postJSON(modelPath(state.model.name, "predict"), payload);
    const ms = performance.now() - started;
    state.roundTrips.push(ms);
    if (number !== state.predictions) return;
    state.pred = pred;
    state.shownPayload = payload;
    bars($("bars"), pred.classes, pred.probabilities, showSoftmax);
    const sorted = [...state.roundTrips.slice(-50)].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    $("round-trip").textContent = `${t("round_trip", { ms: ms.toFixed(1) })} (median ${median.toFixed(1)} ms, n=${state.roundTrips.length})`;
    $("round-trip").dataset.ms = ms;
    $("why-class").value = "";
  } finally {
    state.predicting -= 1;
  }
}

// -- the whole picture of one input ---------------------------------------------------------
async function analyze() {
  if (!state.payload) return;
  try {
    const body = { ...state.payload, depth: state.depth };
    const [acts] = await Promise.all([postJSON(modelPath(state.model.name, "activations"), body), predict()]);
    state.acts = acts;
    showSeen(acts.input);
    $("steps").textContent = acts.steps.join(" · ");
    drawNetwork($("network"), state.net, acts, showCellOf);
  } catch (err) {
    showError(err);
  }
}

function showSeen(input) {
  const seen = $("seen");
  seen.replaceChildren();
  let view;
  if (input.kind === "signals") {
    view = lineCanvas(input.values, input.min, input.max, 280, 120);
  } else {
    const rows = input.values[0];
    view = imageCanvas(rows, grey(input.min, input.max));
    view.dataset.rows = rows.length; view.dataset.cols = rows[0].length;
  }
  if (input.kind === "signals") { view.dataset.rows = 1; view.dataset.cols = input.values[0].length; }
  seen.append(view);
  const slice = $("slice-control");
  slice.hidden = input.kind !== "slices";
  if (input.kind === "slices") {
    $("slice").max = input.depths - 1; $("slice").value = input.depth;
    $("slice-value").textContent = `${input.depth} / ${input.depths}`;
  }
}

async function showCellOf(layer, index) {
  try {
    const cell = await postJSON(modelPath(state.model.name, "cell"), { ...state.payload, layer, index });
    showCell($("cell"), cell);
    outlineField($("seen"), cell.receptive_box);
  } catch (err) {
    showError(err);
  }
}

async function showSoftmax() {
  try {
    const detail = await postJSON(modelPath(state.model.name, "softmax"), state.payload);
    $("cell").replaceChildren(softmaxView(detail, state.model.classes));
  } catch (err) {
    showError(err);
  }
}

// -- inputs other than drawing -------------------------------------------------------------
async function useExample(index) {
  const ex = await getJSON(modelPath(state.model.name, `examples/${index}`));
  state.payload = { input: ex.input };
  $("example-index").max = ex.count - 1;
  $("bw-label").value = ex.label;
  await analyze();
}

$("example").addEventListener("click", () => useExample(Number($("example-index").value) || 0).catch(showError));
$("clear").addEventListener("click", () => { clearCanvas(); state.payload = canvasPayload(); analyze(); });
$("upload").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  try {
    const seen = await upload(modelPath(state.model.name, "input"), file);
    state.payload = { input: seen.input };
    await analyze();
    $("steps").textContent = seen.steps.join(" · ");     // what was done to the file
  } catch (err) {
    showError(err);
  }
  ev.target.value = "";
});
$("slice").addEventListener("change", (ev) => { state.depth = Number(ev.target.value); analyze(); });

// -- why, backward, training ----------------------------------------------------------------
$("why-show").addEventListener("click", async () => {
  try {
    const target = $("why-class").value === "" ? null : Number($("why-class").value);
    const why = await postJSON(modelPath(state.model.name, "explain"),
      { ...state.payload, method: $("why-method").value, target });
    showWhy($("why"), state.acts.input, why);
  } catch (err) {
    showError(err);
  }
});

$("bw-run").addEventListener("click", async () => {
  try {
    const step = await postJSON(modelPath(state.model.name, "backward"),
      { ...state.payload, label: Number($("bw-label").value), lr: Number($("bw-lr").value), lang });
    showBackward($("backward"), step, state.model.classes);
  } catch (err) {
    showError(err);
  }
});

async function refreshTraining() {
  const record = await getJSON(modelPath(state.model.name, "run"));
  showTraining($("training"), record);
  if (record.weights_updated) {
    state.net = await getJSON(modelPath(state.model.name, "network"));
    drawFilters($("filters"), record.filters);
  }
  clearTimeout(state.poll);
  if (record.run && record.status === "training") {
    state.poll = setTimeout(() => refreshTraining().catch(showError), 3000);
  }
}

// -- models and language --------------------------------------------------------------------
function fillClasses(select, classes, blank) {
  select.replaceChildren(...(blank ? [el("option", { value: "", text: t("predicted") })] : []),
    ...classes.map((c, k) => el("option", { value: k, text: c })));
}

async function openModel(name) {
  state.model = state.models.find((m) => m.name === name);
  state.acts = null; state.depth = null;
  state.net = await getJSON(modelPath(name, "network"));
  $("model-info").textContent = `${state.model.kind} · input (${state.model.input_shape.join(", ")}) · ` +
    `${state.net.total_params.toLocaleString()} ${t("params")}`;
  drawNetwork($("network"), state.net, null, showCellOf);
  drawFilters($("filters"), state.net.filters);
  fillClasses($("why-class"), state.model.classes, true);
  fillClasses($("bw-label"), state.model.classes, false);
  $("draw-area").hidden = !drawable(state.model);
  $("cell").replaceChildren(el("p", { class: "muted", text: t("click_hint") }));
  $("why").replaceChildren(); $("backward").replaceChildren();
  await refreshTraining();
  if (drawable(state.model)) {
    clearCanvas();
    state.payload = canvasPayload();
    await analyze();
  } else if (state.model.dataset) {
    await useExample(0);
  }
}

$("model-picker").addEventListener("change", (ev) => openModel(ev.target.value).catch(showError));
$("lang-switch").addEventListener("click", async () => {
  await setLanguage(lang === "en" ? "ko" : "en");
  if (state.net) drawNetwork($("network"), state.net, state.acts, showCellOf);
  if (state.pred) await predict();
});

async function start() {
  await setLanguage("en");
  state.models = (await getJSON("/api/models")).models;
  $("model-picker").replaceChildren(...state.models.map((m) => el("option", { value: m.name, text: m.name })));
  await openModel(state.models[0].name);
  document.body.dataset.ready = "1";
}

start().catch(showError);
