/**
 * Stand-ins for separate engines: each host's gRPC client lives in its own worker thread, as ten `pulumi up`
 * runs would each have their own engine. One harness thread sending ten requests and reading ten answers would
 * otherwise queue them one after another and time itself, not the provider.
 *
 * The client speaks gRPC on Node's HTTP/2 (nghttp2, native) rather than through grpc-js: the engine is a Go
 * program, and grpc-js's JavaScript made the harness itself use 40–45 ms of CPU per ten-run on the two cores the
 * hosts and Postgres share (27–35 ms with this client, measured in the same way). The hosts are unchanged:
 * Pulumi's own dynamic-provider host on grpc-js.
 */
import { Worker } from "worker_threads";
import { ProviderHost } from "../tests/support";

const WORKER = `
const { parentPort, workerData } = require("worker_threads");
const http2 = require("http2");
// gRPC over HTTP/2 by hand: a unary call is one POST whose body is a 5-byte prefix (not compressed, length) and
// the message; the answer is the same framing, with the status in the trailers.
const session = http2.connect("http://" + workerData.address);
session.on("error", () => undefined);
let request;
parentPort.on("message", (m) => {
    if (m.load) {
        const prefix = Buffer.alloc(5);
        prefix.writeUInt32BE(m.load.length, 1);
        request = Buffer.concat([prefix, Buffer.from(m.load)]);
        parentPort.postMessage({ loaded: true });
        return;
    }
    const stream = session.request({
        ":method": "POST",
        ":path": "/pulumirpc.ResourceProvider/Create",
        "content-type": "application/grpc",
        te: "trailers",
    });
    const chunks = [];
    // A failed call may come "trailers-only": its status then is in the response headers.
    let trailers = {};
    stream.on("response", (h) => (trailers = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c) => chunks.push(c));
    stream.on("error", (e) => parentPort.postMessage({ error: String(e) }));
    stream.on("end", () => {
        // When this engine has its answer: the hop back to the harness's thread is not the engine's time.
        const at = process.hrtime.bigint();
        const status = trailers["grpc-status"];
        if (status !== "0") {
            parentPort.postMessage({ error: "grpc-status " + status + ": " + decodeURIComponent(trailers["grpc-message"] || "") });
            return;
        }
        const body = Buffer.concat(chunks);
        if (body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
            parentPort.postMessage({ error: "not one uncompressed gRPC message (" + body.length + " bytes)" });
            return;
        }
        parentPort.postMessage({ answer: body.subarray(5), at });
    });
    stream.end(request);
});
`;

type Reply = { loaded?: boolean; answer?: Uint8Array; at?: bigint; error?: string };

export class Engines {
    private readonly workers: Worker[];
    /** Per worker: who waits for its next message. */
    private readonly waiting = new Map<Worker, (r: Reply) => void>();

    constructor(hosts: ProviderHost[]) {
        this.workers = hosts.map((h) => {
            const w = new Worker(WORKER, { eval: true, workerData: { address: h.address } });
            w.on("message", (r: Reply) => this.waiting.get(w)?.(r));
            w.on("error", (e) => this.waiting.get(w)?.({ error: String(e) }));
            return w;
        });
    }

    private send(w: Worker, message: object): Promise<Reply> {
        const reply = new Promise<Reply>((resolve) => this.waiting.set(w, resolve));
        w.postMessage(message);
        return reply;
    }

    /**
     * Sends encoded Create requests from the first engines at once: `requests[i]` from engine i. Returns the
     * milliseconds from the go signal until the last engine has its answer, and the answers (left encoded).
     * Loading is not timed.
     */
    async create(requests: Buffer[]): Promise<{ ms: number; answers: Buffer[] }> {
        if (requests.length > this.workers.length)
            throw new Error(`${requests.length} requests for ${this.workers.length} engines`);
        const ws = this.workers.slice(0, requests.length);
        const loaded = await Promise.all(ws.map((w, i) => this.send(w, { load: requests[i] })));
        if (loaded.some((r) => !r.loaded))
            throw new Error(`an engine did not load the request: ${JSON.stringify(loaded)}`);
        const started = process.hrtime.bigint();
        const results = await Promise.all(ws.map((w) => this.send(w, { go: true })));
        const failed = results.find((r) => r.error);
        if (failed) throw new Error(failed.error);
        const last = results.reduce((m, r) => (r.at! > m ? r.at! : m), started);
        return { ms: Number(last - started) / 1e6, answers: results.map((r) => Buffer.from(r.answer!)) };
    }

    async stop(): Promise<void> {
        await Promise.all(this.workers.map((w) => w.terminate()));
    }
}
