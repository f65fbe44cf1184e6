/**
 * The load balancer's watcher (`nginxWatcherScript`) in the real nginx image on the private Docker engine, with the
 * config volume stood in for by a directory of this machine mounted read-only: a new config is served after a
 * graceful reload (same nginx master, no failed request under load), a config `nginx -t` refuses is not loaded
 * (the running one keeps serving, the refusal is logged), and a change of the replica ids alone reloads too.
 */
import * as fs from "fs";
import * as path from "path";
import { NGINX_CONF_PATH, nginxWatcherScript } from "../../sdk";
import { dockerCli } from "../support/docker-api";
import { execIn, httpRequest } from "../support/http";
import { loadWhile } from "../support/load";
import { freePortIn } from "../support/net";
import { until, WatchedNginx, watcherConf } from "../support/watched-nginx";

jest.setTimeout(180000);

const nginx = new WatchedNginx(`zd-watcher-${process.pid}`);
const NAME = nginx.name;
const confPath = nginx.local(NGINX_CONF_PATH);
let port = 0;

const conf = (bodySize: string) => watcherConf({ clientMaxBodySize: bodySize });

async function served(): Promise<string> {
    return (await httpRequest(port, "/nginx-config")).body.trim();
}

const master = async () =>
    (await execIn(NAME, "cat /proc/1/stat | cut -d' ' -f1-2; cat /proc/1/cmdline | tr '\\0' ' '")).output.trim();
const logs = () => nginx.logs();

beforeAll(async () => {
    port = await freePortIn(18000, 18999);
    await nginx.start(conf("1m").text, { [port]: 80 }, nginxWatcherScript());
    await until(async () => (await httpRequest(port, "/nginx-health")).status === 200, 15000);
});

afterAll(() => nginx.remove());

test("a new config is served after a graceful reload: same master, no failed request", async () => {
    expect(await served()).toBe(conf("1m").digest);
    const before = await master();
    expect(before).toMatch(/^1 \(nginx\)/);
    const next = conf("2m");
    const { load } = await loadWhile(
        port,
        (async () => {
            fs.writeFileSync(confPath, next.text);
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
    fs.writeFileSync(confPath, "events {}\nhttp { server { listen 80; no_such_directive on; } }\n");
    await until(async () => /refused by nginx -t/.test(await logs()));
    expect(await served()).toBe(running);
    expect(await logs()).toMatch(/unknown directive "no_such_directive"/);
    // A good config afterwards is loaded.
    const good = conf("3m");
    fs.writeFileSync(confPath, good.text);
    await until(async () => (await served()) === good.digest);
});

test("new replica ids alone reload nginx (a re-created replica's address is resolved anew)", async () => {
    const reloads = () => logs().then((l) => (l.match(/nginx reloaded gracefully/g) ?? []).length);
    const n = await reloads();
    fs.writeFileSync(path.join(nginx.dir, "replicas"), "b\n");
    await until(async () => (await reloads()) === n + 1);
});

test("nginx runs hardened as the component runs it: read-only root, tmpfs, four capabilities, no-new-privileges, bounded logs", async () => {
    const host = JSON.parse((await dockerCli(["inspect", "--format", "{{json .HostConfig}}", NAME])).trim());
    expect(host).toMatchObject({
        ReadonlyRootfs: true,
        Tmpfs: { "/var/cache/nginx": "", "/var/lib/nginx": "", "/run": "" },
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges:true"],
        LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
    });
    expect([...host.CapAdd].sort()).toEqual(["CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"]);
    // The root is really read-only, the watcher's /run is not; the reloads above ran this way.
    expect((await execIn(NAME, "touch /etc/nginx/probe")).code).not.toBe(0);
    expect((await execIn(NAME, "ls /run/pdc-nginx")).output).toContain("nginx.conf");
    expect((await httpRequest(port, "/nginx-health")).status).toBe(200);
});
