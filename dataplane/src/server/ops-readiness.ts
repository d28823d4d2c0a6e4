// Readiness as a list of named checks (STANDARDS F7): config loaded, listeners up, not
// draining now; store reachability checks slot in later with `add`. Each check is bounded
// by a timeout (F1), so a hung store makes the node unready instead of hanging the probe.

export type ReadinessOutcome = { ok: true } | { ok: false; reason: string };

export interface ReadinessCheck {
  name: string;
  check: () => ReadinessOutcome | Promise<ReadinessOutcome>;
  /** Default 2000 ms. */
  timeoutMs?: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, ReadinessOutcome>;
}

export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();

  /** Adds (or replaces) a check by name. */
  add(check: ReadinessCheck): this {
    this.#checks.set(check.name, check);
    return this;
  }

  remove(name: string): void {
    this.#checks.delete(name);
  }

  async evaluate(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.#checks.values()].map(async (c): Promise<[string, ReadinessOutcome]> => [c.name, await runCheck(c)]),
    );
    const checks = Object.fromEntries(entries);
    return { ready: entries.every(([, o]) => o.ok), checks };
  }
}

async function runCheck(c: ReadinessCheck): Promise<ReadinessOutcome> {
  const timeoutMs = c.timeoutMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadinessOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `check timed out after ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(c.check), timeout]);
  } catch (err) {
    return { ok: false, reason: `check failed: ${(err as Error)?.message ?? String(err)}`.slice(0, 200) };
  } finally {
    clearTimeout(timer);
  }
}

/** A check from a boolean condition and the reason to give when it is false. */
export function condition(name: string, isOk: () => boolean, reason: string): ReadinessCheck {
  return { name, check: () => (isOk() ? { ok: true } : { ok: false, reason }) };
}
