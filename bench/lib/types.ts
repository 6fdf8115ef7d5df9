/** What every bench module exports as `run`; `bench/run.ts` discovers modules by this shape. */
export type BenchRun = (opts: BenchOptions) => Promise<BenchSection>;

export interface BenchOptions {
  /** Longer runs (bigger inputs, more iterations) for numbers worth publishing; quick mode stays under a minute. */
  readonly full: boolean;
}

export interface Table {
  readonly caption?: string;
  readonly header: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
}

/** One section of docs/PERFORMANCE.md. */
export interface BenchSection {
  /** Stable id: the module's file name (`redact`), used for the section markers in the docs. */
  readonly id: string;
  readonly title: string;
  /** The shell command that reproduces the section on its own. */
  readonly command: string;
  /** Markdown paragraphs shown before the tables. */
  readonly intro: string;
  readonly tables: readonly Table[];
  /** Markdown bullet points shown after the tables. */
  readonly notes: readonly string[];
  /** Broken budgets or wrong results: each one fails the bench run (exit code 1) with its message. */
  readonly failures: readonly string[];
  /**
   * The section's key figures for the summary table at the top of docs/PERFORMANCE.md (each with the peer or
   * baseline of the same run and the ratio). Stored in the section's markdown, so a partial run keeps them.
   */
  readonly headline?: readonly Figure[];
}

/** A measured figure against the peer or baseline measured in the same run. */
export interface Figure {
  readonly figure: string;
  readonly ours: string;
  readonly peer: string;
  readonly ratio: string;
  readonly target: string;
}

export function figureTable(caption: string, figures: readonly Figure[]): Table {
  return {
    caption,
    header: ['Figure', 'Rampart', 'Peer / baseline (same run)', 'Ratio', 'Target'],
    rows: figures.map((f) => [f.figure, f.ours, f.peer, f.ratio, f.target]),
  };
}
