/**
 * A bounded HTTP probe loop against a published port while something runs (a `pulumi up`): how many requests
 * failed and the longest stretch without a good answer. Each request is a new connection, as a new visitor's.
 */
import { requestOutcome } from "./load";

export interface ProbeResult {
    requests: number;
    failed: number;
    /** Longest time from a failed request's start to the next good answer's start, in ms (0: never down). */
    longestOutageMs: number;
    /** Statuses or errors of the failed requests, counted. */
    failures: Record<string, number>;
}

/**
 * Probes `GET pathname` every `everyMs` until `during` settles, at most `maxRequests` times; returns the probe's
 * figures with `during`'s result.
 */
export async function probeWhile<T>(
    port: number,
    during: Promise<T>,
    opts: { pathname?: string; everyMs?: number; maxRequests?: number } = {},
): Promise<{ result: T; probe: ProbeResult }> {
    let done = false;
    const settled = during.finally(() => (done = true));
    const probe: ProbeResult = { requests: 0, failed: 0, longestOutageMs: 0, failures: {} };
    let downSince: number | undefined;
    const max = opts.maxRequests ?? 20000;
    while (!done && probe.requests < max) {
        const start = Date.now();
        const outcome = await requestOutcome(port, opts.pathname ?? "/", 2000);
        probe.requests++;
        if (outcome === "ok") {
            if (downSince !== undefined) probe.longestOutageMs = Math.max(probe.longestOutageMs, start - downSince);
            downSince = undefined;
        } else {
            probe.failed++;
            probe.failures[outcome] = (probe.failures[outcome] ?? 0) + 1;
            downSince ??= start;
        }
        await new Promise((r) => setTimeout(r, opts.everyMs ?? 20));
    }
    const result = await settled;
    if (downSince !== undefined) probe.longestOutageMs = Math.max(probe.longestOutageMs, Date.now() - downSince);
    return { result, probe };
}
