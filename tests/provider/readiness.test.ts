/**
 * HttpReadiness: its provider, serialized and driven over gRPC through Pulumi's dynamic-provider host, against
 * real HTTP servers on 127.0.0.1.
 */
import * as http from "http";
import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { UNKNOWN } from "../../provider/types";
import { freePort } from "../support/net";
import { ProviderHost } from "../support/provider-host";

const host = new ProviderHost("readiness");

beforeAll(async () => {
    await host.start();
}, 60000);

afterAll(async () => {
    await host.stop();
});

it("check rejects an empty list, a non-http URL and a bad timeout", async () => {
    const { failures } = await host.check({}, { urls: ["ftp://x", 3], timeoutSeconds: 0, triggers: [] });
    expect(failures.map((f) => f.property)).toEqual(["urls", "urls", "timeoutSeconds"]);
    expect((await host.check({}, { urls: [], timeoutSeconds: 5, triggers: [] })).failures[0].reason).toContain(
        "urls is empty",
    );
});

it("create returns only once every URL answers 2xx: a server that starts late, one that answers 503 first", async () => {
    const latePort = await freePort();
    let calls = 0;
    const flaky = http.createServer((_req, res) => {
        calls++;
        res.statusCode = calls < 4 ? 503 : 200;
        res.end();
    });
    await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", () => r()));
    const flakyPort = (flaky.address() as net.AddressInfo).port;
    const late = http.createServer((_req, res) => res.end("ok"));
    const timer = setTimeout(() => late.listen(latePort, "127.0.0.1"), 700);
    const started = Date.now();
    const { inputs } = await host.check(
        {},
        {
            urls: [`http://127.0.0.1:${latePort}/ready`, `http://127.0.0.1:${flakyPort}/`],
            timeoutSeconds: 20,
            triggers: ["c1"],
        },
    );
    await host.create(inputs);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(700);
    expect(took).toBeLessThan(5000);
    expect(calls).toBe(4);
    clearTimeout(timer);
    await Promise.all([new Promise((r) => late.close(r)), new Promise((r) => flaky.close(r))]);
});

it("sends its headers with every probe (a token the server asks of its probes)", async () => {
    const seen: (string | undefined)[] = [];
    const guarded = http.createServer((req, res) => {
        seen.push(req.headers["x-pdc-gate"] as string | undefined);
        res.statusCode = req.headers["x-pdc-gate"] === "tok" ? 200 : 404;
        res.end();
    });
    await new Promise<void>((r) => guarded.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(guarded.address() as net.AddressInfo).port}/nginx-ready/app`;
    const { inputs } = await host.check(
        {},
        { urls: [url], timeoutSeconds: 5, triggers: [], headers: { "X-PDC-Gate": "tok" } },
    );
    await host.create(inputs);
    expect(seen).toEqual(["tok"]);
    // Without them the same server never answers 2xx.
    const bare = await host.check({}, { urls: [url], timeoutSeconds: 1, triggers: [] });
    await expect(host.create(bare.inputs)).rejects.toThrow(/HTTP 404/);
    // A new header value is an update (the gate waits again), never a replacement.
    const olds = { urls: [url], timeoutSeconds: 5, triggers: [], headers: { "X-PDC-Gate": "tok" } };
    expect(await host.diff("r", olds, { ...olds, headers: { "X-PDC-Gate": "new" } })).toEqual({
        changes: "some",
        replaces: [],
    });
    await new Promise((r) => guarded.close(r));
});

it("fails after the timeout naming each URL that is not ready and why", async () => {
    const port = await freePort();
    const { inputs } = await host.check(
        {},
        { urls: [`http://127.0.0.1:${port}/nginx-ready/app`], timeoutSeconds: 1, triggers: [] },
    );
    await expect(host.create(inputs)).rejects.toThrow(
        new RegExp(`not ready within 1s: http://127\\.0\\.0\\.1:${port}/nginx-ready/app \\(connect ECONNREFUSED`),
    );
});

it("a change of triggers (a replaced container) is an update that waits again; the same inputs are no change", async () => {
    const olds = { urls: ["http://127.0.0.1:1/"], timeoutSeconds: 5, triggers: ["c1"] };
    expect((await host.diff("r", olds, olds)).changes).toBe("none");
    expect(await host.diff("r", olds, { ...olds, triggers: ["c2"] })).toEqual({ changes: "some", replaces: [] });
});

it("check lets values unknown during a preview pass (the engine's placeholder), and judges them once known", async () => {
    expect(UNKNOWN).toBe((pulumi.runtime as unknown as { unknownValue: string }).unknownValue);
    expect((await host.check({}, { urls: UNKNOWN, timeoutSeconds: UNKNOWN, triggers: [] })).failures).toEqual([]);
    expect(
        (await host.check({}, { urls: ["http://127.0.0.1:1/", UNKNOWN], timeoutSeconds: 5, triggers: [] })).failures,
    ).toEqual([]);
    expect(
        (await host.check({}, { urls: ["http://127.0.0.1:1/", "ftp://x"], timeoutSeconds: 5, triggers: [] })).failures,
    ).toHaveLength(1);
});

it("fails after the timeout, instead of hanging, on a server that drops the connection mid-answer and one whose body never ends", async () => {
    const sockets = new Set<net.Socket>();
    const dropping = http.createServer((_req, res) => {
        res.writeHead(200, { "content-length": "100" });
        res.write("partial");
        setTimeout(() => res.socket?.destroy(), 50);
    });
    const trickles: NodeJS.Timeout[] = [];
    const trickling = http.createServer((_req, res) => {
        res.writeHead(200);
        trickles.push(setInterval(() => res.write("."), 200));
    });
    for (const s of [dropping, trickling]) s.on("connection", (c) => sockets.add(c));
    await Promise.all([dropping, trickling].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()))));
    const url = (s: http.Server) => `http://127.0.0.1:${(s.address() as net.AddressInfo).port}/`;
    try {
        const started = Date.now();
        const { inputs } = await host.check(
            {},
            { urls: [url(dropping), url(trickling)], timeoutSeconds: 2, triggers: [] },
        );
        const err = await host.create(inputs).then(
            () => undefined,
            (e: Error) => e,
        );
        expect(Date.now() - started).toBeLessThan(8000);
        expect(err?.message).toContain(
            `${url(dropping)} (the connection closed before the answer was complete (HTTP 200))`,
        );
        expect(err?.message).toContain(`${url(trickling)} (no complete answer within 2 s)`);
    } finally {
        trickles.forEach(clearInterval);
        sockets.forEach((c) => c.destroy());
        await Promise.all([dropping, trickling].map((s) => new Promise((r) => s.close(r))));
    }
}, 20000);
