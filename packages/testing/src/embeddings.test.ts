import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EmbeddingStub,
  STUB_EMBEDDING_DIMS,
  startEmbeddingStub,
  stubEmbedding,
  stubStem,
} from './embeddings.js';

const norm = (v: readonly number[]) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
const cosine = (a: readonly number[], b: readonly number[]) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

describe('stubEmbedding', () => {
  it('is deterministic and L2-normalised, 256 dimensions by default', () => {
    const a = stubEmbedding('Can I return hiking boots after five weeks?');
    expect(a).toHaveLength(STUB_EMBEDDING_DIMS);
    expect(stubEmbedding('Can I return hiking boots after five weeks?')).toEqual(a);
    expect(norm(a)).toBeCloseTo(1, 12);
    const b = stubEmbedding('x', 64);
    expect(b).toHaveLength(64);
    expect(norm(b)).toBeCloseTo(1, 12);
  });

  it('pins its vectors: a change to the features changes every published RAG figure', () => {
    // The first components of one vector, fixed: the bench's numbers are only comparable while these hold.
    expect(stubEmbedding('The quick brown fox jumps', 8).map((x) => Number(x.toFixed(4)))).toEqual([
      0.8056, 0.3207, -0.0717, -0.3207, -0.3077, 0.1851, -0.0926, 0.0508,
    ]);
    const v = stubEmbedding('The quick brown fox jumps', 8);
    expect(stubEmbedding('the QUICK, brown fox: jumps!', 8)).toEqual(v);
  });

  it('ranks texts that share stemmed words and word pieces above unrelated ones', () => {
    const q = stubEmbedding('returning boots that are too small');
    const related = stubEmbedding('Returns of boots: you can return shoes that do not fit');
    const unrelated = stubEmbedding('We accept major credit cards, PayPal and Apple Pay');
    expect(cosine(q, related)).toBeGreaterThan(cosine(q, unrelated) + 0.1);
    expect(stubStem('returning')).toBe(stubStem('returns'));
    expect(stubStem('companies')).toBe('company');
  });

  it('maps a text without words to a unit vector, never a zero vector', () => {
    const v = stubEmbedding('?!', 16);
    expect(norm(v)).toBeCloseTo(1, 12);
    expect(v[0]).toBe(1);
    expect(() => stubEmbedding('x', 0)).toThrow(RangeError);
    expect(() => stubEmbedding('x', 1.5)).toThrow(RangeError);
  });
});

describe('startEmbeddingStub', () => {
  let stub: EmbeddingStub;
  let client: OpenAI;
  beforeAll(async () => {
    stub = await startEmbeddingStub({ apiKey: 'sk-stub-test' });
    client = new OpenAI({ apiKey: 'sk-stub-test', baseURL: stub.baseUrl, maxRetries: 0, timeout: 5_000 });
  });
  afterAll(() => stub.close());

  it('answers the official client with the stub vectors, in order, with usage (base64 by default)', async () => {
    const res = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['first text', 'second'],
    });
    expect(res.object).toBe('list');
    expect(res.model).toBe('text-embedding-3-small');
    expect(res.data.map((d) => d.index)).toEqual([0, 1]);
    // The SDK asked for base64 and decoded float32: equal to the stub vector at float32 precision.
    const last = stub.calls.at(-1);
    expect(last?.body).toMatchObject({ encoding_format: 'base64' });
    const want = stubEmbedding('second');
    expect(res.data[1]?.embedding).toHaveLength(STUB_EMBEDDING_DIMS);
    for (const [i, x] of (res.data[1]?.embedding ?? []).entries())
      expect(x).toBeCloseTo(want[i] ?? Number.NaN, 6);
    expect(res.usage.prompt_tokens).toBe(3);
    expect(res.usage.total_tokens).toBe(3);
  });

  it('takes a single string, dimensions and float encoding', async () => {
    const res = await client.embeddings.create({
      model: 'm',
      input: 'one text',
      dimensions: 32,
      encoding_format: 'float',
    });
    expect(res.data).toHaveLength(1);
    expect(res.data[0]?.embedding).toEqual(stubEmbedding('one text', 32));
  });

  it('refuses bad requests and wrong keys the way OpenAI does', async () => {
    await expect(client.embeddings.create({ model: 'm', input: [] })).rejects.toMatchObject({
      status: 400,
      error: { type: 'invalid_request_error', param: 'input' },
    });
    await expect(client.embeddings.create({ model: '', input: 'x' })).rejects.toMatchObject({ status: 400 });
    const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: stub.baseUrl, maxRetries: 0 });
    await expect(wrong.embeddings.create({ model: 'm', input: 'x' })).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });
    const res = await fetch(`${stub.origin}/v1/other`, { method: 'POST' });
    expect(res.status).toBe(404);
  });

  it('fails on demand: 503 for the next calls, or a closed connection, then recovers', async () => {
    const before = stub.embedded;
    stub.fail('503', 2);
    for (let i = 0; i < 2; i++)
      await expect(client.embeddings.create({ model: 'm', input: 'x' })).rejects.toMatchObject({
        status: 503,
      });
    await client.embeddings.create({ model: 'm', input: 'x' });
    stub.fail('close');
    await expect(client.embeddings.create({ model: 'm', input: 'x' })).rejects.toThrow(/Connection error/);
    expect(stub.calls.at(-1)?.status).toBe(0);
    stub.fail('none');
    await client.embeddings.create({ model: 'm', input: ['a', 'b'] });
    expect(stub.embedded).toBe(before + 3);
  });
});
