/**
 * Every command example in README.md, CONTRIBUTING.md and docs/*.md, run as a new user would run it: each
 * `rampart …` and `npm …` line of a shell code block goes through `sh -c` in a scratch folder (one per document,
 * so a document's examples build on each other in order), with `rampart` on PATH as the built CLI
 * (packages/cli/dist/bin.js; `npm test` builds it first) and a real server started here (PGlite). Placeholders
 * (`<url>`, `--org <id>`, `rk_...`) are replaced with that server's values; one that is left over fails the
 * example, so a new example either runs or is marked. Marks (doc-examples-support.ts, CONTRIBUTING.md):
 * `manual (reason)` examples are not run, `serve` ones are started, asked for /healthz and stopped. A comment
 * `# -> file` on an example names a file it writes, which must then exist.
 *
 * Also: every `rampart …` mention, inline or in a block, names real subcommands and options; and every command of
 * the CLI exits 2 on an unknown option (a usage error), never commander's 1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Account, api, BIN, cleanEnv, ROOT, signup } from '@rampart/testing';
import { migratedDataDir } from '@rampart/testing/datadir';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer } from '../../server/test/helpers.js';
import { buildProgram, run } from '../src/main.js';
import {
  checkAgainstTree,
  type Example,
  extractExamples,
  npmRunMentions,
  rampartMentions,
  segmentsOf,
} from './doc-examples-support.js';

const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`),
].filter((f) => f.endsWith('.md'));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const extracted = DOCS.map((file) => extractExamples(file, read(file)));
const EXAMPLES = extracted.flatMap((e) => e.examples);

const OLD_KEY = Buffer.alloc(32, 1).toString('base64');
const NEW_KEY = Buffer.alloc(32, 2).toString('base64');
const CODE_LINE = /enter code ([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})/;
const NO_STACK = /^\s+at .+:\d+:\d+\)?$/m;

interface Fixture {
  baseUrl: string;
  owner: Account;
  apiKey: string;
  runtimeToken: string;
  agentToken: string;
  connectionId: string;
}

/**
 * Placeholders as the docs write them, and what stands in for them. Order matters: the specific forms
 * (`--org <id>`) come before the general ones. A placeholder left after these fails the example.
 */
const substitutions = (f: Fixture, work: string): Array<[RegExp, string]> => [
  [/--org <id>/g, `--org ${f.owner.orgId}`],
  [/--connection <id>/g, `--connection ${f.connectionId}`],
  [/<url>|https:\/\/rampart\.example\.com/g, f.baseUrl],
  // The agent connects to its database only when a query comes: nothing needs to listen here.
  [/<local url>/g, 'postgres://reader@127.0.0.1:9/sales'],
  [/\brk_(?:live_)?(?:\.\.\.|…)/g, f.apiKey],
  [/\brt_(?:live_)?(?:\.\.\.|…)/g, f.runtimeToken],
  [/\bag_(?:\.\.\.|…)/g, f.agentToken],
  [/<new>/g, NEW_KEY],
  [/<old>/g, OLD_KEY],
  [/\/run\/user\/1000\//g, `${work}/run/`],
];
/** What is still a placeholder after substitution: `<thing>`, `...`/`…` as a word, an example.com address. */
const LEFTOVER = /<[A-Za-z][^<>]*>|(?:^|\s)(?:\.\.\.|…)(?:\s|$)|[\w.-]+\.example\.com|\b\w+_(?:\.\.\.|…)/;

/** Files the examples read, as a user would have them (a skill folder, a saved browser state, a script). */
function seedWork(work: string): void {
  const skill = (dir: string, name: string, version: number) => {
    mkdirSync(join(work, dir, 'steps'), { recursive: true });
    writeFileSync(join(work, dir, 'skill.json'), JSON.stringify({ name, version }));
    writeFileSync(
      join(work, dir, 'steps/main.json'),
      JSON.stringify({ steps: [{ goto: 'https://example.com/' }] }),
    );
  };
  skill('my-skill', 'my-skill', 3);
  skill('invoices', 'invoices', 7);
  mkdirSync(join(work, 'run'));
  const state = JSON.stringify({
    cookies: [{ name: 'sid', value: 'doc-example-cookie', domain: 'crm.example.com' }],
    origins: [],
  });
  writeFileSync(join(work, 'state.json'), state);
  writeFileSync(join(work, 'login.js'), `process.stdout.write(${JSON.stringify(state)});\n`);
  writeFileSync(
    join(work, 'run-skill.js'),
    'let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => { JSON.parse(s); });\n',
  );
  writeFileSync(join(work, 'conn.txt'), 'postgres://reader:doc-example@db.internal.example:5432/sales\n');
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Result {
  /** The command as run, placeholders filled. */
  command: string;
  /** A placeholder left unfilled: the example was not run. */
  leftover?: string;
  outcome?: Outcome;
  /** The step after the example (registering a key) failed. */
  afterError?: string;
  /** The test itself broke (fixture, spawn). */
  error?: string;
}

describe('command examples in README.md, CONTRIBUTING.md and docs/*.md', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  const scratch = mkdtempSync(join(tmpdir(), 'rampart-doc-examples-'));
  const binDir = join(scratch, 'bin');
  const dataDir = join(scratch, 'data');
  const children = new Set<ChildProcess>();
  /** Each document gets its own account, org, credentials and scratch folder: its examples build on each other. */
  const docs = new Map<string, Promise<{ fixture: Fixture; work: string }>>();

  beforeAll(async () => {
    mkdirSync(binDir);
    writeFileSync(join(binDir, 'rampart'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, {
      mode: 0o755,
    });
    // The examples' embedded database starts migrated, as after a first `rampart start`: the README's chain would
    // otherwise wait ~5 s on PGlite's initdb (a first start in an empty directory is packages/cli/test/cli.test.ts').
    migratedDataDir(dataDir);
    srv = await startTestServer('pglite');
  });
  afterAll(async () => {
    for (const c of children) if (c.pid) process.kill(-c.pid, 'SIGKILL');
    await srv?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  async function makeDoc(file: string): Promise<{ fixture: Fixture; work: string }> {
    const owner = await signup(srv.baseUrl, { orgName: `Docs ${file}` });
    const a = api(srv.baseUrl, owner.token);
    const o = `/api/orgs/${owner.orgId}`;
    const apiKey = (await a.post<{ key: string }>(`${o}/api-keys`, { name: 'docs' })).body.key;
    const runtimeToken = (await a.post<{ token: string }>(`${o}/runtime-tokens`, { name: 'docs' })).body
      .token;
    const agent = await a.post<{ id: string; agentToken: string }>(`${o}/connections`, {
      name: 'docs',
      mode: 'agent',
    });
    if (agent.status !== 201) throw new Error(`creating the agent connection: ${agent.status} ${agent.text}`);
    const work = join(scratch, file.replace(/[^A-Za-z0-9]+/g, '-'));
    mkdirSync(join(work, '.config'), { recursive: true });
    seedWork(work);
    const fixture = {
      baseUrl: srv.baseUrl,
      owner,
      apiKey,
      runtimeToken,
      agentToken: agent.body.agentToken,
      connectionId: agent.body.id,
    };
    return { fixture, work };
  }
  const docFor = (file: string) => {
    let d = docs.get(file);
    if (!d) {
      d = makeDoc(file);
      docs.set(file, d);
    }
    return d;
  };

  /** Runs one command line under sh in the document's scratch folder; plays the user where one is needed. */
  function shell(ex: Example, command: string, f: Fixture, work: string, serve: boolean): Promise<Outcome> {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: work,
      env: cleanEnv({
        PATH: `${binDir}:${process.env.PATH ?? ''}`,
        RAMPART_CONFIG_DIR: join(work, '.config'),
        RAMPART_DATA_DIR: dataDir,
        RAMPART_MASTER_KEYS: `k1:${OLD_KEY}`,
        NODE_ENV: 'development',
        PORT: '0',
        // The shell variables docs/SKILLS.md's walk-through uses.
        RAMPART: f.baseUrl,
        ORG: f.owner.orgId,
        SESSION: f.owner.token,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a server or agent under sh is stopped together with the shell.
      detached: true,
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let acted = false;
    const signal = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const act = async () => {
      const all = stdout + stderr;
      // `rampart login` waits for someone to approve its code in the dashboard: the document's owner does.
      const code = CODE_LINE.exec(stderr)?.[1];
      if (code && ex.segments.some((s) => s.startsWith('rampart login'))) {
        acted = true;
        const r = await api(f.baseUrl, f.owner.token).post('/api/auth/device/approve', { userCode: code });
        if (r.status !== 200) stderr += `\n[test] approving the code failed: ${r.status} ${r.text}`;
        return;
      }
      if (!serve) return;
      // A server: once it listens, ask it for /healthz. An agent: once it is connected. Then stop it.
      const url = /Rampart listening on (http:\/\/[\d.:]+)/.exec(all)?.[1];
      if (url) {
        acted = true;
        const res = await fetch(`${url}/healthz`);
        stdout += `\n[test] GET /healthz: ${res.status} ${await res.text()}\n`;
        signal('SIGTERM');
      } else if (/connected to Rampart/.test(all)) {
        acted = true;
        stdout += '\n[test] connected\n';
        // The agent installs its SIGTERM handler before it connects: stopping it at once must exit cleanly.
        signal('SIGTERM');
      }
    };
    const onOutput = () => {
      if (!acted)
        act().catch((err: Error) => {
          stderr += `\n[test] ${err.message}`;
          signal('SIGKILL');
        });
    };
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      onOutput();
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      onOutput();
    });
    const timer = setTimeout(() => {
      stderr += '\n[test] timed out';
      signal('SIGKILL');
    }, 45_000);
    return new Promise((resolve) =>
      child.once('close', (code) => {
        clearTimeout(timer);
        children.delete(child);
        resolve({ code, stdout, stderr });
      }),
    );
  }

  /** What the doc says to do by hand after an example (its curl line), done through the API. */
  async function after(ex: Example, f: Fixture, work: string): Promise<{ afterError?: string }> {
    // A comment `# -> file` says what the example writes: it must be there (pack --version once wrote nothing).
    const writes = /#\s*->\s*([\w.-]+[\w])/.exec(ex.command)?.[1];
    if (writes && !existsSync(join(work, writes)))
      return { afterError: `the doc says this writes ${writes}; there is no such file` };
    const keys = ex.segments.map((s) => /^rampart keys generate --out (\S+)/.exec(s)?.[1]).find(Boolean);
    if (keys) {
      const r = await api(f.baseUrl, f.owner.token).post(`/api/orgs/${f.owner.orgId}/signing-keys`, {
        name: 'docs',
        publicKey: readFileSync(join(work, `${keys}.pub`), 'utf8'),
      });
      if (r.status !== 201) return { afterError: `registering ${keys}.pub: ${r.status} ${r.text}` };
    }
    return {};
  }

  it('the marks are well formed, each above a code block and matching an example in it', () => {
    expect(extracted.flatMap((e) => e.problems)).toEqual([]);
  });

  it('finds the examples (the extraction itself works)', () => {
    const commands = EXAMPLES.map((e) => e.command);
    expect(commands).toContain('npx rampart --help');
    expect(commands.some((c) => c.startsWith('rampart pack ./invoices'))).toBe(true);
    expect(EXAMPLES.filter((e) => e.mode.kind !== 'manual').length).toBeGreaterThan(20);
  });

  /**
   * Runs one example: fills its placeholders, runs it, does what the doc says to do by hand after it. Never
   * rejects: what went wrong is in the result, for the example's own test to report.
   */
  async function execute(ex: Example): Promise<Result> {
    let command = ex.command.replace(/\bnpx rampart\b/g, 'rampart');
    try {
      const { fixture, work } = await docFor(ex.file);
      for (const [from, to] of substitutions(fixture, work)) command = command.replace(from, to);
      const leftover = LEFTOVER.exec(command.replace(/\s+#.*$/, ''))?.[0];
      if (leftover) return { command, leftover };
      const serve = ex.mode.kind === 'serve';
      // A long-running example is one simple command: `exec env` makes it the process that gets SIGTERM.
      if (serve) command = `exec env ${command}`;
      const outcome = await shell(ex, command, fixture, work, serve);
      const expected = ex.mode.kind === 'run' ? ex.mode.exit : 0;
      return { command, outcome, ...(outcome.code === expected ? await after(ex, fixture, work) : {}) };
    } catch (err) {
      return { command, error: (err as Error).stack ?? String(err) };
    }
  }

  /**
   * Documents run side by side, each document's examples one after another in order (they build on each other):
   * started once the server is up, awaited by each example's test.
   */
  const results = new Map<Example, Promise<Result>>();
  beforeAll(() => {
    const chains = new Map<string, Promise<unknown>>();
    for (const ex of EXAMPLES) {
      if (ex.mode.kind === 'manual') continue;
      const result = (chains.get(ex.file) ?? Promise.resolve()).then(() => execute(ex));
      chains.set(ex.file, result);
      results.set(ex, result);
    }
  });
  afterAll(async () => {
    await Promise.allSettled(results.values());
  });

  for (const ex of EXAMPLES) {
    const title = `${ex.file}:${ex.line} ${ex.command}`;
    if (ex.mode.kind === 'manual') {
      it.skip(`${title} (manual: ${ex.mode.reason})`, () => {});
      continue;
    }
    const mode = ex.mode;
    it(title, async () => {
      const r = await results.get(ex);
      if (!r) throw new Error('not scheduled');
      expect(r.error, title).toBeUndefined();
      expect(
        r.leftover,
        `${title}: "${r.leftover}" is a placeholder this test cannot fill: add it to substitutions() in ` +
          'doc-examples.test.ts, or mark the example <!-- example "…": manual (why) --> (CONTRIBUTING.md)',
      ).toBeUndefined();
      const o = r.outcome;
      const detail = `${title}\nran: ${r.command}\nstdout:\n${o?.stdout}\nstderr:\n${o?.stderr}`;
      expect(o?.code, detail).toBe(mode.kind === 'serve' ? 0 : mode.exit);
      if (mode.kind === 'serve')
        expect(o?.stdout, detail).toMatch(/\[test\] (GET \/healthz: 200 \{"ok":true\}|connected)/);
      expect(o?.stderr, detail).not.toMatch(NO_STACK);
      expect(r.afterError, title).toBeUndefined();
    }, 300_000);
  }
});

describe('every `rampart …` mention names real commands and options', () => {
  const program = buildProgram();
  const mentions = DOCS.flatMap((file) => rampartMentions(file, read(file)));

  it('finds the mentions', () => {
    expect(mentions.length).toBeGreaterThan(50);
  });

  it('each mention resolves in the command tree', () => {
    const problems = mentions
      .map((m) => {
        const p = checkAgainstTree(program, m.command, m.inline);
        return p && `${m.where}: ${m.command}: ${p}`;
      })
      .filter(Boolean);
    expect(problems).toEqual([]);
  });
});

describe('every `npm run …` names a script that exists', () => {
  const scriptsOf = (dir: string): string[] =>
    Object.keys(
      (JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { scripts?: object }).scripts ??
        {},
    );
  const workspaces = new Map(
    readdirSync(join(ROOT, 'packages')).map((d) => {
      const pkg = JSON.parse(readFileSync(join(ROOT, 'packages', d, 'package.json'), 'utf8')) as {
        name: string;
      };
      return [pkg.name, `packages/${d}`] as const;
    }),
  );
  const mentions = DOCS.flatMap((file) => npmRunMentions(file, read(file)));

  it('finds them', () => {
    expect(mentions.length).toBeGreaterThan(10);
    expect(mentions).toContainEqual(
      expect.objectContaining({ script: 'build', workspace: '@rampart/widget' }),
    );
  });

  it('each names a script of the root package.json or of the workspace it gives', () => {
    const problems = mentions
      .map(({ where, script, workspace }) => {
        const dir = workspace === undefined ? '.' : workspaces.get(workspace);
        if (dir === undefined) return `${where}: no workspace ${workspace}`;
        return scriptsOf(dir).includes(script)
          ? undefined
          : `${where}: no script "${script}" in ${dir}/package.json`;
      })
      .filter(Boolean);
    expect(problems).toEqual([]);
  });
});

describe('the checks fail on a broken doc', () => {
  const program = buildProgram();

  it('an unmarked example with a placeholder the test cannot fill is caught', () => {
    const doc = '```sh\nrampart agent --server <url> --token ag_... --database-url <local url>\n```\n';
    const { examples } = extractExamples('x.md', doc);
    expect(examples).toHaveLength(1);
    expect(examples[0]?.mode).toEqual({ kind: 'run', exit: 0 });
    expect(LEFTOVER.exec(examples[0]?.command.replace('<url>', 'http://127.0.0.1:1') ?? '')?.[0]).toBe(
      'ag_...',
    );
  });

  it('marks: per block, per command, exit codes; malformed, misplaced and stale marks are reported', () => {
    const doc = [
      '<!-- example "rampart start": serve -->',
      '<!-- example "npm test": manual (the whole suite) -->',
      '```sh',
      '$ npx rampart start',
      'listening…',
      '$ npm test',
      '$ RAMPART_API_KEY=rk_1 rampart whoami',
      '```',
      '<!-- example: exit 1 -->',
      '',
      '```bash',
      'node login.js | rampart runtime session save \\',
      '  --name crm',
      '```',
      '<!-- example: manual -->',
      '<!-- example: sometimes -->',
      '```sh',
      'rampart --help',
      '```',
      '<!-- example "rampart pack": manual (nothing to pack) -->',
      '```sh',
      'rampart --help',
      '```',
      '<!-- example: serve -->',
      'prose',
    ].join('\n');
    const { examples, problems } = extractExamples('x.md', doc);
    expect(examples.map((e) => [e.line, e.command, e.mode])).toEqual([
      [4, 'npx rampart start', { kind: 'serve' }],
      [6, 'npm test', { kind: 'manual', reason: 'the whole suite' }],
      [7, 'RAMPART_API_KEY=rk_1 rampart whoami', { kind: 'run', exit: 0 }],
      [12, 'node login.js | rampart runtime session save --name crm', { kind: 'run', exit: 1 }],
      [18, 'rampart --help', { kind: 'run', exit: 0 }],
      [22, 'rampart --help', { kind: 'run', exit: 0 }],
    ]);
    expect(problems).toEqual([
      'x.md:15: a manual mark needs a reason in parentheses: manual (why)',
      'x.md:16: unknown mode "sometimes" (use manual (reason), serve or exit N)',
      'x.md:20: the example mark matches no example in the code block below it',
      'x.md:24: the example mark is not directly above a code block',
    ]);
    expect(segmentsOf('A=1 B="x y" npx rampart pack . && npm run lint # note')).toEqual([
      'rampart pack .',
      'npm run lint',
    ]);
  });

  it('npm run mentions: the script and each workspace are read', () => {
    expect(
      npmRunMentions('x.md', 'run `npm run build -w @rampart/a -w @rampart/b` then `npm run tset`'),
    ).toEqual([
      { where: 'x.md:1', script: 'build', workspace: '@rampart/a' },
      { where: 'x.md:1', script: 'build', workspace: '@rampart/b' },
      { where: 'x.md:1', script: 'tset' },
    ]);
  });

  it('an unknown subcommand or option is caught; prose and placeholders are not', () => {
    expect(checkAgainstTree(program, 'rampart pack ./skill --name invoice-export --version 3', false)).toBe(
      undefined,
    );
    expect(checkAgainstTree(program, 'rampart pack ./skill --bogus', false)).toBe(
      '"rampart pack" has no option --bogus',
    );
    expect(checkAgainstTree(program, 'rampart admin audit frobnicate', true)).toBe(
      'no command "rampart admin audit frobnicate"',
    );
    expect(checkAgainstTree(program, 'rampart packk ./skill', false)).toBe('no command "rampart packk"');
    expect(checkAgainstTree(program, 'rampart CLI on <user agent>', true)).toBe(undefined);
    expect(
      checkAgainstTree(program, 'rampart admin mail list [--status failed] [--limit N] [--json]', true),
    ).toBe(undefined);
    expect(checkAgainstTree(program, 'rampart admin …', true)).toBe(undefined);
  });
});

describe('usage errors exit 2 in every command', () => {
  const commands: Command[] = [];
  const walk = (cmd: Command) => {
    commands.push(cmd);
    for (const sub of cmd.commands) walk(sub);
  };
  walk(buildProgram());
  const pathOf = (cmd: Command) => {
    const names: string[] = [];
    for (let c = cmd; c.parent; c = c.parent) names.unshift(c.name());
    return names;
  };

  it('covers the whole tree', () => {
    expect(commands.length).toBeGreaterThan(25);
    expect(commands.map(pathOf)).toContainEqual(['runtime', 'session', 'load']);
  });

  it('an unknown option exits 2 with commander’s message and no stack, in each of them', async () => {
    const failures: string[] = [];
    for (const cmd of commands) {
      // Required options are given, so the unknown one is the only problem.
      const required = cmd.options.filter((o) => o.mandatory).flatMap((o) => [o.long ?? '', 'x']);
      const args = [...pathOf(cmd), ...required, '--no-such-option'];
      let stderr = '';
      const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        stderr += String(chunk);
        return true;
      });
      let code: number;
      try {
        code = await run(['node', 'rampart', ...args]);
      } finally {
        write.mockRestore();
      }
      if (code !== 2 || !stderr.includes("unknown option '--no-such-option'") || NO_STACK.test(stderr))
        failures.push(`rampart ${args.join(' ')}: exit ${code}, ${stderr.trim()}`);
    }
    expect(failures).toEqual([]);
  });
});
