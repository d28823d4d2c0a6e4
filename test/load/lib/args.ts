// Command-line arguments of the benchmark scripts: names (benchmarks, or an ingress path) and
// numeric parameter overrides `--key=value`. Pure.

export type Overrides = Record<string, number>;

export type ParsedArgs<N extends string> = { names: N[]; overrides: Overrides } | { error: string };

/** `[name…] [--key=number…]`; no name means every known one. */
export function parseBenchArgs<N extends string>(argv: readonly string[], known: readonly N[]): ParsedArgs<N> {
  const names: N[] = [];
  const overrides: Overrides = {};
  for (const a of argv) {
    const opt = /^--(\w+)=(\d+(?:\.\d+)?)$/.exec(a);
    if (opt) overrides[opt[1] as string] = Number(opt[2]);
    else if ((known as readonly string[]).includes(a)) {
      if (!names.includes(a as N)) names.push(a as N);
    } else {
      return { error: `unknown argument ${JSON.stringify(a)}: expected one of ${known.join(', ')} or --name=<number>` };
    }
  }
  return { names: names.length > 0 ? names : [...known], overrides };
}
