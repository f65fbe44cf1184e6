/**
 * HttpReadiness: its provider, serialized and driven over gRPC through Pulumi's dynamic-provider host, against
 * real HTTP servers on 127.0.0.1.
 */
import * as http from "http";
import * as net from "net";
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
    expect((await host.check({}, { urls: [], timeoutSeconds: 5, triggers: [] })).failures[0].reason).toContain("urls is empty");
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
    const { inputs } = await host.check({}, { urls: [`http://127.0.0.1:${latePort}/ready`, `http://127.0.0.1:${flakyPort}/`], timeoutSeconds: 20, triggers: ["c1"] });
    await host.create(inputs);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(700);
    expect(took).toBeLessThan(5000);
    expect(calls).toBe(4);
    clearTimeout(timer);
    await Promise.all([new Promise((r) => late.close(r)), new Promise((r) => flaky.close(r))]);
});

it("fails after the timeout naming each URL that is not ready and why", async () => {
    const port = await freePort();
    const { inputs } = await host.check({}, { urls: [`http://127.0.0.1:${port}/nginx-ready/app`], timeoutSeconds: 1, triggers: [] });
    await expect(host.create(inputs)).rejects.toThrow(new RegExp(`not ready within 1s: http://127\\.0\\.0\\.1:${port}/nginx-ready/app \\(connect ECONNREFUSED`));
});

it("a change of triggers (a replaced container) is an update that waits again; the same inputs are no change", async () => {
    const olds = { urls: ["http://127.0.0.1:1/"], timeoutSeconds: 5, triggers: ["c1"] };
    expect((await host.diff("r", olds, olds)).changes).toBe("none");
    expect(await host.diff("r", olds, { ...olds, triggers: ["c2"] })).toEqual({ changes: "some", replaces: [] });
});
