// The RAG bench's parameters, shared by the run (bench/rag.ts) and its report (bench/rag/report.ts).

import { RETRIEVED_CHUNKS } from '../../packages/server/src/widget/chat.js';
import type { BenchOptions } from '../lib/types.js';

/** Chunks the widget puts in the model's context: recall is measured at this cut-off. */
export const K = RETRIEVED_CHUNKS;
/** Depth of each ranked list: MRR is MRR@10 (a relevant passage below rank 10 scores 0). */
export const DEPTH = 10;
/** The server's reciprocal rank fusion (widget/retrieval.ts): Σ 1 / (60 + rank), 40 candidates from each list. */
export const RRF_K = 60;
export const FUSE_DEPTH = 40;
/** Visitor messages sent in quick mode (the first questions of the set); `--full` sends every question 3 times. */
export const QUICK_MESSAGES = 100;
export const WARMUP = (opts: BenchOptions) => (opts.full ? 60 : 10);
/** Reference for the vector mode: HNSW at pgvector's default candidate list (40); the server asks for 100. */
export const EF_SEARCH = 40;
