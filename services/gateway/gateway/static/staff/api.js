// Talking to the gateway's API (API.md) with the signed-in member's token; errors come back as the
// contract's envelope, thrown as {status, code, message, details}.
const TOKEN_KEY = "clinic.staff.token";

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(value) { if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY); },
};

export async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw { status: 0, code: "network", message: "The clinic's server cannot be reached. Check the connection and try again." };
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || { code: "unknown", message: `The server answered ${response.status}.` };
    throw { status: response.status, retryAfter: response.headers.get("Retry-After"), ...error };
  }
  return data;
}

// Every item of a list that comes in pages (API.md, Conventions): follows `next_cursor` until it is null.
export async function allPages(path, key, request = api) {
  const items = [];
  let cursor = null;
  do {
    const page = await request(cursor ? `${path}${path.includes("?") ? "&" : "?"}cursor=${encodeURIComponent(cursor)}` : path);
    items.push(...page[key]);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// A problem as a sentence, with the fields it names.
export function problemText(problem) {
  const fields = (problem.details && problem.details.fields) || {};
  const parts = Object.entries(fields).map(([name, messages]) => `${name}: ${[].concat(messages).join(" ")}`);
  return [problem.message, ...parts].join(" ");
}
