import { createServer, request as httpRequest, Agent, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { FAULT_HANDLERS, forwardUnchanged, type FaultAction, type FaultContext } from './fault-actions.ts';

export type { FaultAction } from './fault-actions.ts';

/** Which requests a rule applies to; every given field must match. */
export interface FaultMatch {
  method?: string;
  /** Exact path (no query), or a pattern tested against it. */
  path?: string | RegExp;
}

/** A fault to inject into matching requests. */
export interface FaultRule {
  match: FaultMatch;
  /** Apply to the first N matching requests only; default: all of them. */
  times?: number;
  action: FaultAction;
}

/** One request the proxy answered; `ruleApplied` names the action when a rule fired. */
export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  ruleApplied?: FaultAction['type'];
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  readonly requests: ProxiedRequest[];
  addRule(rule: FaultRule): void;
  clearRules(): void;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy in front of `target` that forwards everything unchanged, except requests matching a
 * rule, which get the rule's fault. The first matching rule with uses left wins. The client's Host
 * header is forwarded, so the registry's upload Locations name the proxy and stay behind it.
 */
export async function startFaultProxy(options: { target: string }): Promise<FaultProxy> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true });
  const rules: Array<{ rule: FaultRule; used: number }> = [];
  const requests: ProxiedRequest[] = [];

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy.invalid').pathname;
    const method = req.method ?? 'GET';
    const entry = rules.find(({ rule, used }) => (rule.times === undefined || used < rule.times) && matches(rule.match, method, path));
    if (entry) entry.used++;
    const action = entry?.rule.action;
    res.once('close', () => {
      requests.push({ method, path, status: res.statusCode, ...(action ? { ruleApplied: action.type } : {}) });
    });
    const ctx: FaultContext = { req, res, forward: (edit) => forward(req, edit) };
    const handled = action ? (FAULT_HANDLERS[action.type] as (ctx: FaultContext, action: FaultAction) => Promise<void>)(ctx, action) : forwardUnchanged(ctx);
    handled.catch(() => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('fault proxy: upstream failed');
      else res.destroy();
    });
  });

  function forward(req: IncomingMessage, edit?: (headers: OutgoingHttpHeaders) => OutgoingHttpHeaders): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers = edit ? edit({ ...req.headers }) : req.headers;
      const upstream = httpRequest(
        { protocol: target.protocol, hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent },
        resolve,
      );
      upstream.once('error', reject);
      req.pipe(upstream);
    });
  }

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    addRule: (rule) => void rules.push({ rule, used: 0 }),
    clearRules: () => void rules.splice(0),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

function matches(match: FaultMatch, method: string, path: string): boolean {
  if (match.method && match.method.toUpperCase() !== method.toUpperCase()) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? match.path === path : match.path.test(path);
}
