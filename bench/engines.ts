/**
 * Stand-ins for separate engines: each host's gRPC client lives in its own worker thread, as ten `pulumi up`
 * runs would each have their own engine. One harness thread sending ten requests and reading ten answers
 * (~3 ms of grpc-js work each) would otherwise queue them one after another and time itself, not the provider.
 */
import { Worker } from "worker_threads";
import { ProviderHost } from "../tests/support/provider-host";

const WORKER = `
const { parentPort, workerData } = require("worker_threads");
const grpc = require(workerData.grpc);
const client = new grpc.Client(workerData.address, grpc.credentials.createInsecure());
let request;
parentPort.on("message", (m) => {
    if (m.load) {
        request = Buffer.from(m.load);
        parentPort.postMessage({ loaded: true });
        return;
    }
    client.makeUnaryRequest("/pulumirpc.ResourceProvider/Create", (b) => b, (b) => b, request, (err, answer) => {
        // When this engine has its answer: the hop back to the harness's thread is not the engine's time.
        const at = process.hrtime.bigint();
        parentPort.postMessage(err ? { error: err.details || err.message } : { answer, at });
    });
});
`;

type Reply = { loaded?: boolean; answer?: Uint8Array; at?: bigint; error?: string };

export class Engines {
    private readonly workers: Worker[];
    /** Per worker: who waits for its next message. */
    private readonly waiting = new Map<Worker, (r: Reply) => void>();

    constructor(hosts: ProviderHost[]) {
        const grpc = require.resolve("@grpc/grpc-js");
        this.workers = hosts.map((h) => {
            const w = new Worker(WORKER, { eval: true, workerData: { grpc, address: h.address } });
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
     * Sends the same encoded Create request from the first `count` engines at once. Returns the milliseconds from
     * the go signal until the last engine has its answer, and the answers (left encoded). Loading is not timed.
     */
    async create(request: Buffer, count: number): Promise<{ ms: number; answers: Buffer[] }> {
        const ws = this.workers.slice(0, count);
        const loaded = await Promise.all(ws.map((w) => this.send(w, { load: request })));
        if (loaded.some((r) => !r.loaded)) throw new Error(`an engine did not load the request: ${JSON.stringify(loaded)}`);
        const started = process.hrtime.bigint();
        const results = await Promise.all(ws.map((w) => this.send(w, { go: true })));
        const failed = results.find((r) => r.error);
        if (failed) throw new Error(failed.error);
        const last = results.reduce((m, r) => (r.at! > m ? r.at! : m), started);
        const ms = Number(last - started) / 1e6;
        return { ms, answers: results.map((r) => Buffer.from(r.answer!)) };
    }

    async stop(): Promise<void> {
        await Promise.all(this.workers.map((w) => w.terminate()));
    }
}
