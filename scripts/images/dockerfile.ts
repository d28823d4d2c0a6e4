// A small Dockerfile and .dockerignore reader, for the checks on our two images
// (scripts/images/images.test.ts, test/integration/images.test.ts). It understands what those
// files use — line continuations, comments, global ARGs in FROM, COPY flags, exec and shell forms
// — and reports anything it cannot read as an error instead of guessing.

export interface Instruction {
  readonly keyword: string;
  /** The arguments after the keyword, continuations joined. */
  readonly args: string;
  /** 1-based line where the instruction starts. */
  readonly line: number;
}

export interface CopyInstruction {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly dest: string;
  readonly line: number;
}

export interface Stage {
  /** The FROM image with global ARGs substituted. */
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** Global ARGs (before the first FROM) and their defaults. */
  readonly args: ReadonlyMap<string, string | undefined>;
  readonly stages: readonly Stage[];
}

export class DockerfileError extends Error {}

/** Splits a Dockerfile into instructions: `\` continues a line, `#` lines are comments. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let buf = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '');
    const trimmed = raw.trim();
    if (buf === '' && (trimmed === '' || trimmed.startsWith('#'))) continue;
    // Comment lines inside a continuation are dropped, as the Docker parser does.
    if (buf !== '' && trimmed.startsWith('#')) continue;
    if (buf === '') start = i + 1;
    if (trimmed.endsWith('\\')) {
      buf += `${trimmed.slice(0, -1).trimEnd()} `;
      continue;
    }
    buf += trimmed;
    const m = /^([A-Za-z]+)\s*(.*)$/s.exec(buf);
    if (!m) throw new DockerfileError(`line ${start}: cannot read instruction ${JSON.stringify(buf.slice(0, 40))}`);
    out.push({ keyword: (m[1] as string).toUpperCase(), args: (m[2] as string).trim(), line: start });
    buf = '';
  }
  if (buf !== '') throw new DockerfileError(`line ${start}: the file ends inside a line continuation`);
  return out;
}

/** Substitutes `${NAME}` and `$NAME` from `vars`; an unknown name is an error (no silent empty string). */
export function substitute(value: string, vars: ReadonlyMap<string, string | undefined>, line: number): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_all, a: string, b: string) => {
    const name = a ?? b;
    const v = vars.get(name);
    if (v === undefined) throw new DockerfileError(`line ${line}: $${name} has no default value`);
    return v;
  });
}

export function parseDockerfile(text: string): Dockerfile {
  const args = new Map<string, string | undefined>();
  const stages: Array<{ image: string; name: string | undefined; instructions: Instruction[] }> = [];
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new DockerfileError(`line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ image: substitute(m[1] as string, args, ins.line), name: m[2], instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (ins.keyword !== 'ARG') throw new DockerfileError(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [name, ...rest] = ins.args.split('=');
      args.set((name as string).trim(), rest.length ? rest.join('=').trim() : undefined);
      continue;
    }
    stage.instructions.push(ins);
  }
  if (stages.length === 0) throw new DockerfileError('no FROM instruction');
  return { args, stages };
}

/** `["a","b"]` → the array; anything else (shell form) → undefined. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

export function parseCopy(ins: Instruction): CopyInstruction {
  let rest = ins.args;
  let from: string | undefined;
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest);
    if (!m) break;
    if (m[1] === 'from') from = m[2];
    rest = rest.slice(m[0].length);
  }
  const words = execForm(rest) ?? rest.split(/\s+/).filter(Boolean);
  if (words.length < 2) throw new DockerfileError(`line ${ins.line}: ${ins.keyword} needs a source and a destination`);
  return { from, sources: words.slice(0, -1), dest: words.at(-1) as string, line: ins.line };
}

/** The last instruction of `keyword` in a stage. */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** `ENV A=1 B=2` (and the legacy `ENV A 1`) → pairs. */
export function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    if (!ins.args.includes('=')) {
      const [k, ...v] = ins.args.split(/\s+/);
      env.set(k as string, v.join(' '));
      continue;
    }
    for (const pair of ins.args.match(/[A-Za-z_][A-Za-z0-9_]*=("[^"]*"|\S*)/g) ?? []) {
      const i = pair.indexOf('=');
      env.set(pair.slice(0, i), pair.slice(i + 1).replace(/^"|"$/g, ''));
    }
  }
  return env;
}

// ---------------------------------------------------------------- .dockerignore

interface IgnoreRule {
  readonly negate: boolean;
  readonly re: RegExp;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches any number of directories, including none.
      re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Reads a .dockerignore: one pattern a line, `!` re-includes, the last matching rule wins. */
export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      return { negate, re: globToRegExp(pattern) };
    });
}

/**
 * Whether a repository-relative file path is left out of the build context. A rule that matches
 * a parent directory applies to everything under it (as in Docker).
 */
export function isIgnored(rules: readonly IgnoreRule[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((c) => rule.re.test(c))) ignored = !rule.negate;
  }
  return ignored;
}
