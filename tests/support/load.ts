/**
 * A bounded load generator on 127.0.0.1: `concurrency` loops, each sending `GET pathname` on a new connection (as
 * a new visitor would) one after the other, for a fixed time or until something settles, with a hard cap on the
 * duration. Counts every failed request (non-200, connection error, reset, timeout) and the latencies of all.
 */
import * as http from "http";
import * as https from "https";

export interface LoadResult {
    requests: number;
    failed: number;
    /** Failures by kind ("HTTP 502", "ECONNREFUSED", "timeout", ...). */
    failures: Record<string, number>;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    /** Wall time of the load, ms. */
    durationMs: number;
}

/**
 * One `GET` on a new connection to 127.0.0.1:`port`, with one deadline for the whole exchange (a reset after the
 * headers ends no response stream): "ok", "HTTP <status>", "timeout", "incomplete answer" or the socket error's code.
 * With `ca` (PEM) over HTTPS, the server's certificate verified against it. `host`: another address of this machine
 * or of a test host of our own (a swarm node's namespace).
 */
export function requestOutcome(
    port: number,
    pathname: string,
    timeoutMs: number,
    ca?: string,
    host = "127.0.0.1",
): Promise<string> {
    return new Promise((resolve) => {
        let settled = false;
        const done = (outcome: string) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            resolve(outcome);
        };
        const timer = setTimeout(() => {
            req.destroy();
            done("timeout");
        }, timeoutMs);
        const get = ca === undefined ? http.get : https.get;
        const req = get({ host, port, path: pathname, agent: false, ...(ca ? { ca } : {}) }, (res) => {
            const status = res.statusCode === 200 ? "ok" : `HTTP ${res.statusCode}`;
            res.on("error", (e) => done((e as NodeJS.ErrnoException).code ?? e.message));
            res.on("end", () => done(status));
            res.on("close", () => done(res.complete ? status : "incomplete answer"));
            res.resume();
        });
        req.on("error", (e) => done((e as NodeJS.ErrnoException).code ?? e.message));
    });
}

function percentile(sorted: number[], p: number): number {
    if (sorted.length === 0) return 0;
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Runs the load until `until` settles (or for `seconds` when `until` is a number), at most `maxSeconds`.
 * Returns the figures and `until`'s result.
 */
export async function loadWhile<T>(
    port: number,
    until: Promise<T> | number,
    opts: {
        concurrency?: number;
        pathname?: string;
        maxSeconds?: number;
        timeoutMs?: number;
        ca?: string;
        /** Pause of a loop after a failed request, ms: a refused connection otherwise repeats at CPU speed. @default 0 */
        failurePauseMs?: number;
        /** Called once per request when it ends: its outcome ("ok" or the failure) and when it started and ended (ms epoch). */
        onOutcome?: (outcome: string, startMs: number, endMs: number) => void;
        /** @default "127.0.0.1" */
        host?: string;
    } = {},
): Promise<{ result: T | undefined; load: LoadResult }> {
    const start = Date.now();
    const hardStop = start + (opts.maxSeconds ?? 600) * 1000;
    let stop = false;
    let result: T | undefined;
    let failure: unknown;
    let settled: Promise<void>;
    if (typeof until === "number") {
        settled = new Promise((r) => setTimeout(r, until * 1000)).then(() => {
            stop = true;
        });
    } else {
        settled = until.then(
            (r) => {
                result = r;
                stop = true;
            },
            (e) => {
                failure = e;
                stop = true;
            },
        );
    }
    const latencies: number[] = [];
    const load: LoadResult = { requests: 0, failed: 0, failures: {}, p50Ms: 0, p99Ms: 0, maxMs: 0, durationMs: 0 };
    const worker = async () => {
        while (!stop && Date.now() < hardStop) {
            const t = process.hrtime.bigint();
            const startMs = Date.now();
            const outcome = await requestOutcome(
                port,
                opts.pathname ?? "/",
                opts.timeoutMs ?? 5000,
                opts.ca,
                opts.host,
            );
            latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
            opts.onOutcome?.(outcome, startMs, Date.now());
            load.requests++;
            if (outcome !== "ok") {
                load.failed++;
                load.failures[outcome] = (load.failures[outcome] ?? 0) + 1;
                if (opts.failurePauseMs) await new Promise((r) => setTimeout(r, opts.failurePauseMs));
            }
        }
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
    await settled;
    latencies.sort((a, b) => a - b);
    load.p50Ms = Math.round(percentile(latencies, 50) * 10) / 10;
    load.p99Ms = Math.round(percentile(latencies, 99) * 10) / 10;
    load.maxMs = Math.round((latencies[latencies.length - 1] ?? 0) * 10) / 10;
    load.durationMs = Date.now() - start;
    if (failure !== undefined) throw Object.assign(new Error(String((failure as Error).message ?? failure)), { load });
    return { result, load };
}
