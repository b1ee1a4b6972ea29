import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LineWriter } from './line-writer.js';

describe('LineWriter', () => {
  let dir: string;
  let file: string;
  let fd: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'micron-lines-'));
    file = join(dir, 'out.log');
    fd = openSync(file, 'w');
  });
  afterEach(() => {
    try {
      closeSync(fd);
    } catch {
      // closed by the test
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const lines = () => readFileSync(file, 'utf8').split('\n').filter((l) => l);

  it('writes every line, in order, once a batch fills, and the rest on flushSync', async () => {
    const w = new LineWriter(fd, { batchBytes: 1024, flushMs: 60_000 });
    for (let i = 0; i < 5000; i++) w.write(`{"i":${i},"s":"ünïcödé ${'x'.repeat(i % 50)}"}\n`);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines().length).toBeGreaterThan(0); // batches went out without a flush
    await w.drain();
    const got = lines().map((l) => JSON.parse(l) as { i: number; s: string });
    expect(got.map((x) => x.i)).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(got[7]!.s).toBe(`ünïcödé ${'x'.repeat(7)}`);
  });

  it('writes a lone line after flushMs, without a flush', async () => {
    const w = new LineWriter(fd, { flushMs: 20 });
    w.write('{"only":1}\n');
    expect(lines()).toEqual([]);
    await new Promise((r) => setTimeout(r, 200));
    expect(lines()).toEqual(['{"only":1}']);
  });

  it('keeps a line larger than its buffer whole, in order', async () => {
    const w = new LineWriter(fd);
    const big = `{"big":"${'y'.repeat(200_000)}"}\n`;
    w.write('{"a":1}\n');
    w.write(big);
    w.write('{"b":2}\n');
    w.flushSync(); // a write is in flight: the rest must follow it, not overtake it
    await w.drain();
    expect(lines()).toEqual(['{"a":1}', big.trim(), '{"b":2}']);
  });

  it('drops lines past maxQueuedBytes, counts them, and says so once it has caught up', async () => {
    const w = new LineWriter(fd, { batchBytes: 64 * 1024, flushMs: 10, maxQueuedBytes: 1000 });
    for (let i = 0; i < 50; i++) w.write(`{"i":${i},"pad":"${'p'.repeat(60)}"}\n`);
    expect(w.dropped).toBeGreaterThan(30);
    await new Promise((r) => setTimeout(r, 100));
    await w.drain();
    const got = lines();
    const kept = got.filter((l) => l.startsWith('{"i"'));
    expect(kept.length).toBe(50 - w.dropped);
    const report = got.find((l) => l.includes('log lines dropped'));
    expect(report && (JSON.parse(report) as { dropped: number }).dropped).toBe(w.dropped);
  });

  it('stops quietly when the descriptor is gone', async () => {
    const w = new LineWriter(fd, { batchBytes: 16, flushMs: 1 });
    closeSync(fd);
    expect(() => {
      for (let i = 0; i < 100; i++) w.write(`{"i":${i}}\n`);
    }).not.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => w.flushSync()).not.toThrow();
    await w.drain(); // resolves although nothing can be written
  });

  it('flushSync writes what is buffered when no write is in flight', () => {
    const w = new LineWriter(fd, { flushMs: 60_000 });
    w.write('{"x":1}\n');
    w.write('{"x":2}\n');
    w.flushSync();
    expect(lines()).toEqual(['{"x":1}', '{"x":2}']);
  });

  it('formats deferred lines with their batch, in order with plain lines, by drain and by flushSync', async () => {
    let formatted = 0;
    const fmt = { format: (v: { i: number }) => (formatted++, `{"deferred":${v.i}}\n`) };
    const w = new LineWriter(fd, { flushMs: 60_000 });
    w.defer({ i: 1 }, fmt);
    w.defer({ i: 2 }, fmt);
    expect(formatted).toBe(0); // nothing built on the caller's path
    w.write('{"plain":3}\n'); // a plain line goes after the deferred ones
    expect(formatted).toBe(2);
    w.defer({ i: 4 }, fmt);
    await w.drain();
    expect(lines()).toEqual(['{"deferred":1}', '{"deferred":2}', '{"plain":3}', '{"deferred":4}']);
    w.defer({ i: 5 }, fmt);
    w.flushSync();
    expect(lines().at(-1)).toBe('{"deferred":5}');
  });

  it('formats deferred lines once a batch of them waits, and after flushMs alone', async () => {
    let formatted = 0;
    const fmt = { format: (v: number) => (formatted++, `{"n":${v}}\n`) };
    const w = new LineWriter(fd, { flushMs: 20 });
    for (let i = 0; i < 64; i++) w.defer(i, fmt);
    expect(formatted).toBe(64); // the batch bound keeps at most 63 values waiting
    w.defer(64, fmt);
    expect(formatted).toBe(64);
    await new Promise((r) => setTimeout(r, 100));
    expect(formatted).toBe(65);
    expect(lines().map((l) => (JSON.parse(l) as { n: number }).n)).toEqual(Array.from({ length: 65 }, (_, i) => i));
  });

  it('counts every deferred line it drops, not every batch', async () => {
    const w = new LineWriter(fd, { flushMs: 60_000, batchBytes: 256, maxQueuedBytes: 1000 });
    const fmt = { format: (v: number) => `{"n":${v},"pad":"${'x'.repeat(80)}"}\n` };
    for (let i = 0; i < 40; i++) w.defer(i, fmt);
    await w.drain();
    const kept = lines().filter((l) => l.startsWith('{"n":')).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept + w.dropped).toBe(40);
  });
});
