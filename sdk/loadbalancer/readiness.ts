/**
 * `HttpReadiness`: a tracked resource whose create (and update) returns only once every URL answers 2xx, polled
 * from the machine running `pulumi up` every 100 ms. It lets `pulumi up` wait for a cluster to serve end to end
 * without a Docker health check running every fraction of a second for the container's whole life (each check
 * is an exec costing dockerd and containerd CPU: measured at 12% of a core for one check every 250 ms).
 *
 * Its provider is a gate (sdk/container/gate.ts) with `require` inside its functions, so it serializes cleanly.
 */
import * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "../../provider";
import { gateProvider } from "../container";

export interface HttpReadinessInputs {
    urls: string[];
    timeoutSeconds: number;
    /** URL → the body (trimmed) it must answer with; absent in states written before it existed. */
    bodies?: Record<string, string>;
    /** Seconds to wait after an update's URLs answered (absent in older states: 0). */
    settleSeconds?: number;
    /** Request headers sent with every probe (absent in older states: none). */
    headers?: Record<string, string>;
}

/** How long one probe may take, start to last byte: a server that stalls or trickles cannot hold up the wait. */
const PROBE_MS = 2000;

/**
 * GET `url`; resolves to the status code once the whole answer is in, or to the reason there is none. It always
 * settles within PROBE_MS: a connection dropped mid-answer emits neither "end" nor a request error, and a body
 * that keeps trickling never ends, so a hard timer settles both.
 */
function probe(
    url: string,
    wantBody: string | undefined,
    headers: Record<string, string> | undefined,
): Promise<number | string> {
    const http = require("http") as typeof import("http");
    return new Promise((resolve) => {
        // Declared first: Pulumi's closure serializer cannot capture a const that a closure uses before its line.
        let settled = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        let req: import("http").ClientRequest | undefined;
        const settle = (r: number | string) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            req?.destroy();
            resolve(r);
        };
        timer = setTimeout(() => settle(`no complete answer within ${PROBE_MS / 1000} s`), PROBE_MS);
        req = http.get(url, { headers: headers ?? {} }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
                const body = Buffer.concat(chunks).toString("utf8").trim();
                if (wantBody !== undefined && body !== wantBody)
                    settle(`answers ${JSON.stringify(body.slice(0, 80))}, not yet ${JSON.stringify(wantBody)}`);
                else settle(res.statusCode ?? 0);
            });
            res.on("close", () =>
                settle(`the connection closed before the answer was complete (HTTP ${res.statusCode})`),
            );
        });
        req.on("error", (e) => settle(e.message));
    });
}

async function waitReady(inputs: HttpReadinessInputs): Promise<void> {
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    const pending = new Map<string, number | string>(inputs.urls.map((u) => [u, "not tried"]));
    for (;;) {
        await Promise.all(
            [...pending.keys()].map(async (u) => {
                const r = await probe(u, inputs.bodies?.[u], inputs.headers);
                if (typeof r === "number" && r >= 200 && r < 300) pending.delete(u);
                else pending.set(u, r);
            }),
        );
        if (pending.size === 0) return;
        if (Date.now() > deadline) {
            const last = [...pending.entries()]
                .map(([u, r]) => `${u} (${typeof r === "number" ? `HTTP ${r}` : r})`)
                .join(", ");
            throw new Error(
                `not ready within ${inputs.timeoutSeconds}s: ${last}; check the containers' logs, or raise timeoutSeconds`,
            );
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** The readiness provider. */
export const httpReadinessProvider: pulumi.dynamic.ResourceProvider = gateProvider<HttpReadinessInputs>({
    idPrefix: "ready",
    check(news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const urls = news.urls;
        if (!isUnknown(urls) && (!Array.isArray(urls) || urls.length === 0))
            failures.push({ property: "urls", reason: "urls is empty; give at least one http:// URL to wait for" });
        for (const u of Array.isArray(urls) ? urls : []) {
            if (!isUnknown(u) && (typeof u !== "string" || !/^http:\/\/[^/\s]+(\/\S*)?$/.test(u)))
                failures.push({ property: "urls", reason: `${JSON.stringify(u)} is not an http:// URL` });
        }
        return failures;
    },
    diffKey: (p) => [p.urls, p.timeoutSeconds, p.triggers, p.bodies ?? {}, p.settleSeconds ?? 0, p.headers ?? {}],
    async wait(inputs, phase) {
        await waitReady(inputs);
        // E.g. a load balancer's drain: after a reload, requests still in flight on the old workers finish first.
        const settle = Number(inputs.settleSeconds ?? 0);
        if (phase === "update" && settle > 0) await new Promise((r) => setTimeout(r, settle * 1000));
    },
});

export interface HttpReadinessArgs {
    /** URLs that must each answer 2xx. */
    urls: pulumi.Input<pulumi.Input<string>[]>;
    /** Give up after this long. @default 120 */
    timeoutSeconds?: pulumi.Input<number>;
    /**
     * Values (e.g. the ids of the containers waited for) whose change makes the resource wait again: an update that
     * polls the URLs anew. @default []
     */
    triggers?: pulumi.Input<pulumi.Input<string>[]>;
    /** URL (one of `urls`) → the exact body (whitespace trimmed) it must answer with, besides 2xx. @default {} */
    bodies?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** On an update (not a create), seconds to wait after every URL answered, e.g. a drain. @default 0 */
    settleSeconds?: pulumi.Input<number>;
    /** Request headers sent with every probe, e.g. a token the server asks of its probes (pass it secret). @default {} */
    headers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Waits, during `pulumi up`, until every URL answers 2xx. Give it `dependsOn` the containers it waits for; a
 * change of any of them (their ids in `triggers`) makes it wait again.
 */
export class HttpReadiness extends pulumi.dynamic.Resource {
    /** The URLs waited for. */
    public readonly urls!: pulumi.Output<string[]>;

    constructor(name: string, args: HttpReadinessArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(
            httpReadinessProvider,
            name,
            {
                urls: args.urls,
                timeoutSeconds: args.timeoutSeconds ?? 120,
                triggers: args.triggers ?? [],
                bodies: args.bodies ?? {},
                settleSeconds: args.settleSeconds ?? 0,
                // Only when given: a gate without headers keeps its exact inputs (no update on upgrade).
                ...(args.headers !== undefined ? { headers: args.headers } : {}),
            },
            // Headers may carry a token: kept secret in the state.
            args.headers !== undefined
                ? { ...opts, additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "headers"] }
                : opts,
            "readiness",
            "HttpReadiness",
        );
    }
}
