/**
 * A function's `invokeAuth` policy, checked on the public listener after the
 * function is resolved: `public` (the default) lets every request through;
 * `{ "bearer": [...] }` answers 401 `unauthorized` unless the request sends
 * `authorization: Bearer <one of the tokens>` (compared in constant time).
 */
import type { FunctionConfig } from '../registry/store.js';
import { tokenMatches } from './admin.js';

/** Why a request is refused 401 (the public listener answers it with a request id); undefined when the policy lets it through. */
export function invokeDenied(config: FunctionConfig, authorization: string | null | undefined): string | undefined {
  const auth = config.invokeAuth;
  if (auth === undefined || auth === 'public') return undefined;
  const m = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  if (m) {
    let ok = false;
    // Every token is compared, so the time taken does not tell which one (or whether any) matched.
    for (const t of auth.bearer) ok = tokenMatches(m[1]!, t) || ok;
    if (ok) return undefined;
  }
  return 'this function requires a bearer token (send "authorization: Bearer <token>")';
}
