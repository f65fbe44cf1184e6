/**
 * nginx starts and serves when some upstream host names do not resolve (a stopped replica has no DNS name), in the
 * real nginx image with the load balancer's watcher (tests/support/watched-nginx.ts): the watcher runs nginx on
 * the config with each unresolvable server made a `down` placeholder, and once the name appears (a container with
 * that network alias on the test's network) a graceful reload routes to it.
 */
import { NGINX_CONF_PATH, nginxWatcherScript } from "../../sdk";
import { dockerCli } from "../support/docker-api";
import { httpRequest } from "../support/http";
import { freePortIn } from "../support/net";
import { until, WatchedNginx, watcherConf } from "../support/watched-nginx";

jest.setTimeout(180000);

const ID = `${process.pid}`;
const NET = `pdc-unresolved-${ID}`;
const UP_A = `up-a-${ID}`;
const UP_B = `up-b-${ID}`;
const nginx = new WatchedNginx(`unresolved-watcher-${ID}`);
let port = 0;

/** A container answering "<name>\n" on port 8000, reachable as `alias` on the test's network. */
async function upstream(alias: string): Promise<void> {
    const conf = `events {} http { server { listen 8000; location / { return 200 "${alias}\\n"; } } }`;
    await dockerCli([
        ...["run", "-d", "--name", alias, "--network", NET, "--network-alias", alias],
        ...["--entrypoint", "/bin/sh", "nginx:stable-bookworm", "-c"],
        `printf '%s' '${conf}' > /tmp/u.conf && exec nginx -c /tmp/u.conf -g 'daemon off;'`,
    ]);
}

/** The bodies of `n` requests to "/". */
async function answers(n: number): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add((await httpRequest(port, "/")).body.trim());
    return seen;
}

beforeAll(async () => {
    port = await freePortIn(18000, 18999);
    await dockerCli(["network", "create", NET]);
    await upstream(UP_A);
    const { text } = watcherConf({
        upstreams: [
            {
                name: "app",
                servers: [
                    { host: UP_A, port: 8000 },
                    { host: UP_B, port: 8000 },
                ],
            },
        ],
        locations: [{ path: "/", upstream: "app" }],
    });
    await nginx.start(text, { [port]: 80 }, nginxWatcherScript(), NET);
});

afterAll(async () => {
    await nginx.remove();
    for (const c of [UP_A, UP_B]) await dockerCli(["rm", "-f", c]).catch(() => undefined);
    await dockerCli(["network", "rm", NET]).catch(() => undefined);
});

test("one upstream host does not resolve: nginx starts and serves from the other", async () => {
    await until(async () => (await httpRequest(port, "/nginx-health")).status === 200, 30000);
    expect(await answers(8)).toEqual(new Set([UP_A]));
    expect(await nginx.logs()).toContain(`upstream hosts that do not resolve left out until they do: ${UP_B}`);
    // The config on the volume is untouched: the placeholder is only in the copy nginx runs.
    expect(await dockerCli(["exec", nginx.name, "cat", NGINX_CONF_PATH])).toContain(`server ${UP_B}:8000`);
    expect(await dockerCli(["exec", nginx.name, "cat", "/run/pdc-nginx/nginx.conf"])).toContain(
        `server 127.0.0.1:65535 down; # unresolved: ${UP_B}:8000`,
    );
});

test("the missing host appears: the watcher's re-check reloads nginx gracefully and routes to it", async () => {
    const master = (await dockerCli(["exec", nginx.name, "cat", "/proc/1/stat"])).split(" ")[0];
    await upstream(UP_B);
    await until(async () => (await answers(8)).has(UP_B), 30000, 500);
    expect(await answers(12)).toEqual(new Set([UP_A, UP_B]));
    expect(await nginx.logs()).toMatch(/nginx reloaded gracefully\n/);
    expect((await dockerCli(["exec", nginx.name, "cat", "/proc/1/stat"])).split(" ")[0]).toBe(master);
});
