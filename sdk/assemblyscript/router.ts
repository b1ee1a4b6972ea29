/** {@link Router}: method + path-pattern dispatch with `:name` parameters. */
import { Request } from "./request";
import { Response } from "./response";
import { decodeComponent } from "./url";

/** A route's handler: a top-level function (AssemblyScript has no closures). */
export type RouteHandler = (req: Request, params: Params) => Response;

/** The values a route pattern captured (`/items/:id` → `id`; a final `*` → `*`). */
export class Params {
  /** @internal */ names: string[] = [];
  /** @internal */ values: string[] = [];

  /** The decoded value of parameter `name`, or null. */
  get(name: string): string | null {
    for (let i = 0; i < this.names.length; i++) if (unchecked(this.names[i]) == name) return unchecked(this.values[i]);
    return null;
  }

  /** The value of `name`, or "" when absent. */
  value(name: string): string {
    const v = this.get(name);
    return v != null ? v : "";
  }
}

class Route {
  constructor(public method: string, public segments: string[], public handler: RouteHandler) {}
}

function splitPath(path: string): string[] {
  const out: string[] = [];
  const parts = path.split("/");
  for (let i = 0; i < parts.length; i++) if (unchecked(parts[i]).length) out.push(unchecked(parts[i]));
  return out;
}

function notFound(req: Request, params: Params): Response {
  return Response.json('{"error":"not found"}', 404);
}

/**
 * Routes requests by method and path. Patterns are `/`-separated segments:
 * literal, `:name` (one segment, captured), or a final `*` (the rest).
 *
 * ```ts
 * const router = new Router()
 *   .get("/items/:id", getItem)
 *   .post("/items", createItem);
 * export function handle(req: Request): Response { return router.handle(req); }
 * ```
 *
 * A request no route matches (path or method) answers 404
 * `{"error":"not found"}`; change that with `notFound`. A `GET` route also
 * answers `HEAD`.
 */
export class Router {
  private routes: Route[] = [];
  private fallback: RouteHandler = notFound;

  /** Adds a route for `method` (`*` for any). */
  on(method: string, pattern: string, handler: RouteHandler): Router {
    this.routes.push(new Route(method, splitPath(pattern), handler));
    return this;
  }

  /** Adds a `GET` route. */
  get(pattern: string, handler: RouteHandler): Router { return this.on("GET", pattern, handler); }
  /** Adds a `POST` route. */
  post(pattern: string, handler: RouteHandler): Router { return this.on("POST", pattern, handler); }
  /** Adds a `PUT` route. */
  put(pattern: string, handler: RouteHandler): Router { return this.on("PUT", pattern, handler); }
  /** Adds a `PATCH` route. */
  patch(pattern: string, handler: RouteHandler): Router { return this.on("PATCH", pattern, handler); }
  /** Adds a `DELETE` route. */
  del(pattern: string, handler: RouteHandler): Router { return this.on("DELETE", pattern, handler); }
  /** Adds a route for every method. */
  all(pattern: string, handler: RouteHandler): Router { return this.on("*", pattern, handler); }

  /** Sets the handler for requests no route matches. */
  notFound(handler: RouteHandler): Router {
    this.fallback = handler;
    return this;
  }

  /** Dispatches `req` to the first matching route. */
  handle(req: Request): Response {
    const segments = splitPath(req.path);
    const method = req.method;
    for (let i = 0; i < this.routes.length; i++) {
      const route = unchecked(this.routes[i]);
      const m = route.method;
      if (m != "*" && m != method && !(method == "HEAD" && m == "GET")) continue;
      const params = match(route.segments, segments);
      if (params != null) return route.handler(req, params);
    }
    return this.fallback(req, new Params());
  }
}

function match(pattern: string[], segments: string[]): Params | null {
  const params = new Params();
  const n = pattern.length;
  for (let i = 0; i < n; i++) {
    const p = unchecked(pattern[i]);
    if (p == "*" && i == n - 1) {
      params.names.push("*");
      params.values.push(decodeComponent(segments.slice(i).join("/"), false));
      return params;
    }
    if (i >= segments.length) return null;
    const s = unchecked(segments[i]);
    if (p.length > 1 && p.charCodeAt(0) == 58) { // ':'
      params.names.push(p.substring(1));
      params.values.push(decodeComponent(s, false));
    } else if (p != s) return null;
  }
  return n == segments.length ? params : null;
}
