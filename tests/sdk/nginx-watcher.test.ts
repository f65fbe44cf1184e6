/**
 * The load balancer's watcher (`nginxWatcherScript`) in the real nginx image on the private Docker engine, with the
 * config volume stood in for by a directory of this machine mounted read-only: a new config is served after a
 * graceful reload (same nginx master, no failed request under load), a config `nginx -t` refuses is not loaded
 * (the running one keeps serving, the refusal is logged), and a change of the replica ids alone reloads too.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NGINX_CONF_DIR, nginxWatcherScript, renderNginxConf, sealNginxConf } from "../../sdk";
import { DOCKER_HOST, dockerCli } from "../support/docker-api";
import { execIn, httpRequest } from "../support/http";
import { loadWhile } from "../support/load";
import { freePortIn } from "../support/net";

jest.setTimeout(180000);

const NAME = `zd-watcher-${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-zd-watcher-"));
let port = 0;

function conf(bodySize: string): { text: string; digest: string } {
    return sealNginxConf(
        renderNginxConf({
            listenPort: 80,
            serverName: "_",
            user: "nginx",
            upstreams: [],
            locations: [],
            clientMaxBodySize: bodySize,
            healthPath: "/nginx-health",
            configDigestPath: "/nginx-config",
            mimeTypes: "/etc/nginx/mime.types",
            errorLog: "/var/log/nginx/error.log",
            accessLog: "/var/log/nginx/access.log",
        }),
    );
}

async function served(): Promise<string> {
    return (await httpRequest(port, "/nginx-config")).body.trim();
}

async function until(what: () => Promise<boolean>, ms = 15000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await what())) {
        if (Date.now() > deadline) throw new Error("condition not met in time");
        await new Promise((r) => setTimeout(r, 100));
    }
}

const master = async () =>
    (await execIn(NAME, "cat /proc/1/stat | cut -d' ' -f1-2; cat /proc/1/cmdline | tr '\\0' ' '")).output.trim();

beforeAll(async () => {
    port = await freePortIn(18000, 18999);
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, "nginx.conf"), conf("1m").text);
    fs.writeFileSync(path.join(dir, "replicas"), "a\n");
    await dockerCli([
        "run",
        "-d",
        "--name",
        NAME,
        "-p",
        `127.0.0.1:${port}:80`,
        "-v",
        `${dir}:${NGINX_CONF_DIR}:ro`,
        "--entrypoint",
        "/bin/sh",
        "nginx:stable-bookworm",
        "-c",
        nginxWatcherScript(),
    ]);
    await until(async () => (await httpRequest(port, "/nginx-health").catch(() => ({ status: 0 }))).status === 200);
});

afterAll(async () => {
    await dockerCli(["rm", "-f", NAME]).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
});

test("a new config is served after a graceful reload: same master, no failed request", async () => {
    expect(await served()).toBe(conf("1m").digest);
    const before = await master();
    expect(before).toMatch(/^1 \(nginx\)/);
    const next = conf("2m");
    const { load } = await loadWhile(
        port,
        (async () => {
            fs.writeFileSync(path.join(dir, "nginx.conf"), next.text);
            await until(async () => (await served()) === next.digest);
        })(),
        { concurrency: 4, pathname: "/nginx-health", maxSeconds: 30 },
    );
    expect(load.failed).toBe(0);
    expect(load.requests).toBeGreaterThan(10);
    expect(await master()).toBe(before);
});

test("a config nginx -t refuses is not loaded: the running one keeps serving, the refusal is logged", async () => {
    const running = await served();
    fs.writeFileSync(path.join(dir, "nginx.conf"), "events {}\nhttp { server { listen 80; no_such_directive on; } }\n");
    await until(async () => /refused by nginx -t/.test(await logs()));
    expect(await served()).toBe(running);
    expect(await logs()).toMatch(/unknown directive "no_such_directive"/);
    // A good config afterwards is loaded.
    const good = conf("3m");
    fs.writeFileSync(path.join(dir, "nginx.conf"), good.text);
    await until(async () => (await served()) === good.digest);
});

test("new replica ids alone reload nginx (a re-created replica's address is resolved anew)", async () => {
    const reloads = () => logs().then((l) => (l.match(/nginx reloaded gracefully/g) ?? []).length);
    const n = await reloads();
    fs.writeFileSync(path.join(dir, "replicas"), "b\n");
    await until(async () => (await reloads()) === n + 1);
});

/** The container's log, stdout and stderr both (the watcher reports on stderr). */
function logs(): Promise<string> {
    return new Promise((resolve) => {
        execFile("docker", ["logs", NAME], { env: { ...process.env, DOCKER_HOST }, encoding: "utf8" }, (_e, out, err) =>
            resolve(`${out}${err}`),
        );
    });
}
