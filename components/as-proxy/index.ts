import { Request, Response, Headers, fetch, jsonQuote } from "micron/sdk/assemblyscript";

/**
 * GET /?url=<absolute URL> → fetches it and relays the upstream status,
 * content-type and body. The body streams through as it arrives. The host
 * must allow the destination; a refused or failed fetch answers 502 with the
 * wasi:http error-code.
 */
export function handle(req: Request): Response {
  const url = req.queryParam("url");
  if (url == null || url.length == 0) {
    return Response.json('{"error":"missing ?url="}', 400);
  }
  const upstream = fetch(url);
  const error = upstream.error;
  if (error != null) {
    return Response.json('{"error":' + jsonQuote(error) + "}", 502);
  }
  // Relay only what describes the body; hop-by-hop headers stay behind.
  const headers = new Headers();
  const type = upstream.headers.get("content-type");
  if (type != null) headers.set("content-type", type);
  headers.set("x-proxied-from", url);
  upstream.headers = headers;
  return upstream;
}
