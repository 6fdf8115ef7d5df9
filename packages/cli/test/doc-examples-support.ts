/**
 * Reads the command examples out of README.md, CONTRIBUTING.md and docs/*.md for doc-examples.test.ts: every `rampart …` and
 * `npm …` line in a shell code block, with the mark that says how the test runs it, and a check of every
 * `rampart …` mention (code blocks and inline code) against the CLI's real command tree.
 *
 * The mark (CONTRIBUTING.md, "Command examples in the docs") is an HTML comment directly above a code block,
 * invisible on GitHub:
 *
 *   <!-- example: manual (needs an SMTP server) -->        every example in the block
 *   <!-- example "rampart start": serve -->                 the examples starting with `rampart start`
 *   <!-- example "rampart whoami": exit 1 -->
 *
 * Modes: `manual (reason)` is not run (the reason is required); `serve` is a long-running server: started,
 * asked for /healthz, stopped with SIGTERM; `exit N` runs and expects exit code N. Unmarked examples run and
 * must exit 0.
 */
import type { Command } from 'commander';

export type Mode = { kind: 'run'; exit: number } | { kind: 'serve' } | { kind: 'manual'; reason: string };

export interface Example {
  file: string;
  /** 1-based line of the command's first line. */
  line: number;
  /** As written: prompt (`$ `) removed, continuation lines joined. */
  command: string;
  /** Each pipeline or `&&` segment with leading `VAR=value` assignments and `npx ` removed. */
  segments: string[];
  mode: Mode;
}

interface Mark {
  line: number;
  prefix: string | undefined;
  mode: Mode;
  used: boolean;
}

const SHELL_FENCES = new Set(['sh', 'bash', 'shell', 'console', 'zsh']);
const FENCE = /^\s*(```+|~~~+)\s*([\w-]*)/;
const MARK = /^\s*<!--\s*example\b(.*?)-->\s*$/;
const MARK_BODY = /^(?:\s+"([^"]+)")?\s*:\s*(.+?)\s*$/;
/** Leading `NAME=value` assignments of a simple shell command. */
const ASSIGNMENTS = /^(?:[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|'[^']*'|\S*)\s+)+/;
/** A segment that is one of our commands. */
const OURS = /^(?:rampart(?:\s|$)|npm\s+(?:run|test|start|ci|install)\b)/;

function parseMode(text: string): Mode | string {
  const manual = /^manual\s*\((.+)\)$/.exec(text);
  if (manual?.[1]?.trim()) return { kind: 'manual', reason: manual[1].trim() };
  if (/^manual\b/.test(text)) return 'a manual mark needs a reason in parentheses: manual (why)';
  if (text === 'serve') return { kind: 'serve' };
  const exit = /^exit\s+(\d{1,3})$/.exec(text);
  if (exit?.[1]) return { kind: 'run', exit: Number(exit[1]) };
  return `unknown mode "${text}" (use manual (reason), serve or exit N)`;
}

/** Splits a command line into its simple commands, normalised for matching marks. */
export function segmentsOf(command: string): string[] {
  return command
    .replace(/\s+#.*$/, '')
    .split(/\s*(?:\|\||&&|\||;)\s*/)
    .map((s) =>
      s
        .trim()
        .replace(ASSIGNMENTS, '')
        .replace(/^npx\s+/, ''),
    )
    .filter((s) => s !== '');
}

const startsWith = (segment: string, prefix: string) =>
  segment === prefix || segment.startsWith(`${prefix} `);

/**
 * The examples of one Markdown file, and the problems with its marks: malformed, not followed by a code block,
 * or matching no example of its block (a stale mark).
 */
export function extractExamples(file: string, text: string): { examples: Example[]; problems: string[] } {
  const lines = text.split('\n');
  const examples: Example[] = [];
  const problems: string[] = [];
  let pending: Mark[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const mark = MARK.exec(line);
    if (mark) {
      const body = MARK_BODY.exec(mark[1] ?? '');
      const mode = body?.[2]
        ? parseMode(body[2])
        : 'write <!-- example: mode --> or <!-- example "command": mode -->';
      if (typeof mode === 'string') problems.push(`${file}:${i + 1}: ${mode}`);
      else pending.push({ line: i + 1, prefix: body?.[1]?.trim(), mode, used: false });
      continue;
    }
    const fence = FENCE.exec(line);
    if (!fence) {
      if (line.trim() !== '' && pending.length > 0) {
        for (const m of pending)
          problems.push(`${file}:${m.line}: the example mark is not directly above a code block`);
        pending = [];
      }
      continue;
    }
    // A code block: find its end, then read its commands if it is a shell block.
    const close = fence[1] ?? '```';
    let end = i + 1;
    while (end < lines.length && !(lines[end] ?? '').trim().startsWith(close)) end++;
    const body = lines.slice(i + 1, end);
    const marks = pending;
    pending = [];
    if (SHELL_FENCES.has((fence[2] ?? '').toLowerCase())) {
      const prompted = body.some((l) => l.startsWith('$ '));
      for (let j = 0; j < body.length; j++) {
        let text = body[j] ?? '';
        const first = j;
        if (prompted) {
          if (!text.startsWith('$ ')) continue;
          text = text.slice(2);
        }
        if (text.trim() === '' || text.trim().startsWith('#')) continue;
        while (text.endsWith('\\') && j + 1 < body.length) {
          j++;
          text = `${text.slice(0, -1).trimEnd()} ${(body[j] ?? '').trim()}`;
        }
        const segments = segmentsOf(text);
        if (!segments.some((s) => OURS.test(s))) continue;
        // The longest matching prefix wins: `rampart agent ...` over `rampart agent`.
        const mark = marks
          .filter((m) => m.prefix !== undefined && segments.some((s) => startsWith(s, m.prefix ?? '')))
          .sort((a, b) => (b.prefix?.length ?? 0) - (a.prefix?.length ?? 0))[0];
        const blockMark = marks.find((m) => m.prefix === undefined);
        const chosen = mark ?? blockMark;
        if (chosen) chosen.used = true;
        examples.push({
          file,
          line: i + 2 + first,
          command: text.trim(),
          segments,
          mode: chosen?.mode ?? { kind: 'run', exit: 0 },
        });
      }
    }
    for (const m of marks)
      if (!m.used)
        problems.push(`${file}:${m.line}: the example mark matches no example in the code block below it`);
    i = end;
  }
  for (const m of pending)
    problems.push(`${file}:${m.line}: the example mark is not directly above a code block`);
  return { examples, problems };
}

/** Every `rampart …` mention: shell-block segments and inline code spans, with their line. */
export function rampartMentions(
  file: string,
  text: string,
): Array<{ where: string; command: string; inline: boolean }> {
  const out: Array<{ where: string; command: string; inline: boolean }> = [];
  const lines = text.split('\n');
  let inFence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const fence = FENCE.exec(line);
    if (fence) {
      if (inFence === undefined) inFence = fence[1];
      else if (line.trim().startsWith(inFence)) inFence = undefined;
      continue;
    }
    const where = `${file}:${i + 1}`;
    if (inFence !== undefined) {
      const text = line.replace(/^\$ /, '');
      for (const s of segmentsOf(text))
        if (/^rampart\s/.test(s)) out.push({ where, command: s, inline: false });
      continue;
    }
    for (const m of line.matchAll(/`((?:npx )?rampart [^`]+)`/g))
      out.push({ where, command: (m[1] ?? '').replace(/^npx /, ''), inline: true });
  }
  return out;
}

/**
 * Checks one `rampart …` mention against the command tree: each word up to the first option names a subcommand
 * (while there are subcommands), and each option exists on the command it reaches. Placeholders, `…` and
 * `[…]` brackets are fine; an inline mention whose first word is no command (`rampart CLI on …`) is prose.
 * Returns the problem, or undefined.
 */
export function checkAgainstTree(program: Command, command: string, inline: boolean): string | undefined {
  const words = command
    .replace(/\s+#.*$/, '')
    .split(/\s+/)
    .slice(1)
    .map((w) => w.replace(/^\[+|\]+$/g, '').replace(/(\.\.\.|…)$/, ''));
  let cmd = program;
  let k = 0;
  for (; k < words.length; k++) {
    const w = words[k] ?? '';
    if (cmd.commands.length === 0 || w === '' || w.startsWith('-')) break;
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!sub) {
      if (/^(\.\.\.|…)$/.test(words[k] ?? '') || w === '') break;
      if (inline && cmd === program) return undefined;
      return `no command "${[...pathOf(cmd), w].join(' ')}"`;
    }
    cmd = sub;
  }
  for (; k < words.length; k++) {
    const w = words[k] ?? '';
    if (/^[|<>;&]/.test(w)) break;
    if (!/^--?[A-Za-z]/.test(w)) continue;
    const flag = w.split('=')[0] ?? w;
    if (flag === '--help' || flag === '-h') continue;
    if (!cmd.options.some((o) => o.long === flag || o.short === flag))
      return `"${pathOf(cmd).join(' ')}" has no option ${flag}`;
  }
  return undefined;
}

function pathOf(cmd: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names;
}

/**
 * Every `npm run <script>` in a document, inline or in a block, with the workspace it names (`-w <name>`), so a
 * test can check that the script exists there.
 */
export function npmRunMentions(
  file: string,
  text: string,
): Array<{ where: string; script: string; workspace?: string }> {
  const out: Array<{ where: string; script: string; workspace?: string }> = [];
  text.split('\n').forEach((line, i) => {
    for (const m of line.matchAll(/\bnpm run ([\w:.-]+)((?:\s+(?:-w|--workspace)(?:\s+|=)[@\w/.-]+)*)/g)) {
      const workspaces = [...(m[2] ?? '').matchAll(/(?:-w|--workspace)(?:\s+|=)([@\w/.-]+)/g)].map(
        (w) => w[1],
      );
      const script = m[1] ?? '';
      if (workspaces.length === 0) out.push({ where: `${file}:${i + 1}`, script });
      for (const workspace of workspaces)
        out.push({ where: `${file}:${i + 1}`, script, ...(workspace ? { workspace } : {}) });
    }
  });
  return out;
}
