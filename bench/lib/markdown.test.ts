import { describe, expect, it } from 'vitest';
import type { Machine } from './machine.js';
import { existingSections, renderDocument, renderSection } from './markdown.js';
import type { BenchSection } from './types.js';

const m: Machine = {
  cpu: 'Test CPU',
  cores: 2,
  memoryGb: 8,
  node: 'v20',
  platform: 'linux x64',
  date: '2026-11-24',
};
const section = (id: string, headline?: BenchSection['headline']): BenchSection => ({
  id,
  title: `Section ${id} -- with <angle> & dashes`,
  command: `npm run bench -- ${id}`,
  intro: 'Intro.',
  tables: [],
  notes: [],
  failures: [],
  ...(headline ? { headline } : {}),
});

describe('PERFORMANCE.md rendering', () => {
  it('builds the summary from each section’s stored headline, and keeps it when a partial run reuses the section text', () => {
    const fig = {
      figure: 'seal ops/s -- 64 B',
      ours: '1,000/s',
      peer: 'node:crypto --> 2,000/s',
      ratio: '0.5×',
      target: '–',
    };
    const a = renderSection(section('alpha', [fig]), m, 'full');
    const b = renderSection(section('beta'), m, 'quick');
    // The stored JSON never closes the comment early.
    expect(a.match(/<!--/g)?.length).toBe(a.match(/-->/g)?.length);
    const doc = renderDocument(
      m,
      new Map([
        ['alpha', a],
        ['beta', b],
      ]),
    );
    const summary = doc.slice(doc.indexOf('**Summary'), doc.indexOf('<!-- bench:alpha -->'));
    expect(summary).toContain('| seal ops/s -- 64 B');
    expect(summary).toContain('node:crypto --> 2,000/s');
    expect(summary).toContain('Test CPU, 2 cores, 2026-11-24, full');
    expect(summary).toContain('[alpha](#section-alpha----with-angle--dashes)');
    // A partial run re-reads the sections from the document: same summary.
    const again = renderDocument({ ...m, date: '2026-12-01' }, existingSections(doc));
    expect(again.slice(again.indexOf('**Summary'), again.indexOf('<!-- bench:alpha -->'))).toBe(summary);
  });

  it('has no summary table when no section has headline figures', () => {
    const doc = renderDocument(m, new Map([['beta', renderSection(section('beta'), m, 'quick')]]));
    expect(doc).not.toContain('**Summary');
  });
});
