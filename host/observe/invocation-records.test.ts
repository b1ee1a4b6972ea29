import { describe, expect, it } from 'vitest';
import { billedGbS, recordJsonFields, type InvocationRecord } from './invocation-record.js';
import { InvocationRecords } from './invocation-records.js';

function rec(fn: string, i: number, lines: string[] = []): InvocationRecord {
  return {
    seq: 0,
    startedAt: 1_000_000 + i,
    requestId: `r${i}`,
    function: fn,
    version: 'v1',
    status: 200,
    outcome: 'ok',
    totalUs: 100,
    loadUs: 0,
    instantiateUs: 10,
    guestUs: 50,
    cold: false,
    memoryPages: 1,
    bytesIn: 0,
    bytesOut: 0,
    billedGbS: 0,
    logs: lines.map((line) => ({ stream: 'stdout' as const, line })),
    logDropped: 0,
  };
}

describe('InvocationRecords', () => {
  it('keeps at most `capacity` records per function, the newest, numbered by seq', () => {
    const r = new InvocationRecords({ capacity: 3, logBytes: 1 << 20 });
    for (let i = 1; i <= 10; i++) r.add(rec('a', i));
    r.add(rec('b', 1));
    expect(r.query('a', { limit: 100 }).records.map((x) => [x.seq, x.requestId])).toEqual([
      [8, 'r8'],
      [9, 'r9'],
      [10, 'r10'],
    ]);
    expect(r.query('b', { limit: 100 }).records.map((x) => x.seq)).toEqual([1]);
  });

  it('drops the oldest records when their guest output is over the byte budget', () => {
    const r = new InvocationRecords({ capacity: 100, logBytes: 25 });
    for (let i = 1; i <= 5; i++) r.add(rec('a', i, ['0123456789'])); // 11 bytes each
    expect(r.query('a', { limit: 100 }).records.map((x) => x.seq)).toEqual([4, 5]);
    // A record larger than the whole budget is still kept, alone.
    r.add(rec('a', 6, ['x'.repeat(100)]));
    expect(r.query('a', { limit: 100 }).records.map((x) => x.seq)).toEqual([6]);
  });

  it('keeps the byte budget right when records leave by capacity around the ring', () => {
    const r = new InvocationRecords({ capacity: 3, logBytes: 25 });
    // 11-byte records and silent ones, many times around a 3-slot ring.
    for (let i = 1; i <= 20; i++) r.add(rec('a', i, i % 2 === 0 ? ['0123456789'] : []));
    expect(r.query('a', { limit: 100 }).records.map((x) => x.seq)).toEqual([18, 19, 20]);
    // Two 11-byte records are kept (22 bytes); a third would go over 25 and pushes out the oldest one.
    r.add(rec('a', 21, ['0123456789']));
    expect(r.query('a', { limit: 100 }).records.map((x) => x.seq)).toEqual([19, 20, 21]);
    r.add(rec('a', 22, ['0123456789']));
    expect(r.query('a', { limit: 100 }).records.map((x) => x.seq)).toEqual([21, 22]);
  });

  it('answers the newest `limit` without since, and the oldest after a cursor or a time with it', () => {
    const r = new InvocationRecords({ capacity: 50, logBytes: 1 << 20 });
    for (let i = 1; i <= 10; i++) r.add(rec('a', i));
    expect(r.query('a', { limit: 2 })).toEqual({ records: [expect.objectContaining({ seq: 9 }), expect.objectContaining({ seq: 10 })], cursor: 10 });
    expect(r.query('a', { limit: 2, sinceSeq: 4 }).records.map((x) => x.seq)).toEqual([5, 6]);
    expect(r.query('a', { limit: 100, sinceSeq: 10 })).toEqual({ records: [], cursor: 10 });
    expect(r.query('a', { limit: 100, sinceTime: 1_000_008 }).records.map((x) => x.seq)).toEqual([8, 9, 10]);
    expect(r.query('nope', { limit: 5 })).toEqual({ records: [], cursor: 0 });
  });

  it('pushes new records to subscribers until they unsubscribe, and ends them when the function is dropped', () => {
    const r = new InvocationRecords({ capacity: 5, logBytes: 1 << 20 });
    const got: number[] = [];
    let ended = 0;
    const unsubscribe = r.subscribe('a', { push: (x) => got.push(x.seq), end: () => ended++ });
    r.add(rec('a', 1));
    r.add(rec('b', 1));
    unsubscribe();
    r.add(rec('a', 2));
    expect(got).toEqual([1]);
    r.subscribe('a', { push: () => undefined, end: () => ended++ });
    r.drop('a');
    expect(ended).toBe(1);
    expect(r.query('a', { limit: 5 }).records).toEqual([]);
  });
});

describe('billedGbS', () => {
  it('is memory in GB times the duration rounded up to whole milliseconds', () => {
    // 16 pages = 1 MiB = 1/1024 GB; 2.3 ms bills 3 ms.
    expect(billedGbS(16, 2300)).toBeCloseTo((1 / 1024) * 0.003, 15);
    expect(billedGbS(16, 3000)).toBeCloseTo((1 / 1024) * 0.003, 15);
    // Under a millisecond bills one.
    expect(billedGbS(16384, 10)).toBeCloseTo(0.001, 15);
  });
});

describe('recordJsonFields', () => {
  it('is the JSON of the record, guest output and detail escaped', () => {
    const r = { ...rec('a', 1, ['quote " backslash \\ newline \n tab \t nul \u0000 é 😀']), billedGbS: 1e-21, detail: 'trap: "x"\n' };
    expect(JSON.parse(`{${recordJsonFields(r)}}`)).toEqual(JSON.parse(JSON.stringify(r)));
    const plain = rec('b', 2);
    expect(JSON.parse(`{${recordJsonFields(plain)}}`)).toEqual(JSON.parse(JSON.stringify(plain)));
  });
});
