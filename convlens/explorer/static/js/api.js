// Calls to the explorer's API. Every number the page shows comes from these answers.

export class ApiError extends Error {}

async function answer(response) {
  const body = await response.json().catch(() => ({ detail: response.statusText }));
  if (!response.ok) throw new ApiError(body.detail || `HTTP ${response.status}`);
  return body;
}

export async function getJSON(path) {
  return answer(await fetch(path));
}

export async function postJSON(path, body) {
  return answer(await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  }));
}

export async function upload(path, file) {
  const type = file.type || (/\.(csv|txt)$/i.test(file.name) ? "text/csv" : "application/octet-stream");
  return answer(await fetch(path, { method: "POST", headers: { "Content-Type": type }, body: file }));
}

export const modelPath = (name, what) => `/api/models/${encodeURIComponent(name)}/${what}`;
