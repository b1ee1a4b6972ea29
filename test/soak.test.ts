/**
 * A shortened soak (bench/soak.ts): a real `micron serve` under mixed traffic
 * at its maximum rate, hello, echo, stream, a trapping and a looping function
 * together. Every answer must be one the design calls for (200s, the trap's
 * 500, the loop's 504, 429 from admission control); the report is printed.
 */
import { describe, expect, it } from 'vitest';
import { runSoak } from '../bench/soak.js';

describe('a short soak of mixed traffic', () => {
  it('has no unintended errors', async () => {
    const report = await runSoak({ durationS: Number(process.env.MICRON_SOAK_SECONDS ?? 8), connections: 16, windowS: 2, warmupS: 1 });
    process.stdout.write(report.markdown);
    expect(report.samples).toEqual([]);
    expect(report.unintended).toBe(0);
    // Every kind of traffic was exercised and answered as designed.
    expect(report.statuses.hello['200']).toBeGreaterThan(0);
    expect(report.statuses.echo['200']).toBeGreaterThan(0);
    expect(report.statuses.stream['200']).toBeGreaterThan(0);
    expect(report.statuses.trap['500']).toBeGreaterThan(0);
    expect(report.statuses.loop['504']).toBeGreaterThan(0);
  }, 120_000);
});
