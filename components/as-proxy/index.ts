// @ts-nocheck: AssemblyScript (compiled by asc; the host's tsc skips it).
import { Request, Response, fetch, jsonQuote } from "micron/sdk/assemblyscript";

/**
 * GET /?url=<absolute URL> → fetches it and relays the upstream status,
 * content-type and body (streamed). The host must allow the destination.
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
  const res = new Response(null, upstream.status);
  const type = upstream.headers.get("content-type");
  if (type != null) res.setHeader("content-type", type);
  res.setHeader("x-proxied-from", url);
  return res.setBody(upstream.bytes());
}
