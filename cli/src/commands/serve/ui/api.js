// The viewer's access to the server: GET a JSON route, turning every failure into an
// Error whose message a person can act on (the server's own `detail` when it sent one).

/** GET `path` with the query `params` (an object or URLSearchParams); the parsed JSON. */
export async function getJSON(path, params) {
  const query = params ? new URLSearchParams(params).toString() : "";
  const url = query ? `${path}?${query}` : path;
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch (e) {
    throw new Error("The server cannot be reached: is `llm-trace serve` still running?");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) {
    let detail = body && (typeof body.detail === "string" ? body.detail : JSON.stringify(body));
    if (response.status === 401) {
      detail = "This server needs a token: open it once as /?token=YOUR_TOKEN.";
    }
    throw new Error(detail || `The server answered ${response.status}.`);
  }
  if (body === null) throw new Error("The server's answer is not JSON.");
  return body;
}
