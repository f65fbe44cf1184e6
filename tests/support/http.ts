/** Small helpers for the bring-up tests: HTTP on loopback, commands inside containers, free ports. */
import * as http from "http";
import * as https from "https";
import { api, dockerCli } from "./docker-api";

export interface HttpResult {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
}

/** One HTTP request to 127.0.0.1:port; with `ca` (PEM), HTTPS verified against it. */
export function httpRequest(
    port: number,
    path: string,
    opts: { method?: string; body?: string; headers?: Record<string, string>; ca?: string } = {},
): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
        const request = opts.ca === undefined ? http.request : https.request;
        const req = request(
            {
                host: "127.0.0.1",
                port,
                path,
                method: opts.method ?? "GET",
                headers: opts.headers,
                timeout: 10000,
                ...(opts.ca ? { ca: opts.ca } : {}),
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c) => chunks.push(c));
                res.on("end", () =>
                    resolve({
                        status: res.statusCode ?? 0,
                        headers: res.headers,
                        body: Buffer.concat(chunks).toString("utf8"),
                    }),
                );
            },
        );
        req.on("timeout", () => req.destroy(new Error(`GET ${path}: timed out`)));
        req.on("error", reject);
        if (opts.body) req.write(opts.body);
        req.end();
    });
}

export { freePort } from "./net";

/** Runs `sh -c script` in a running container; resolves to its exit code and output. */
export async function execIn(container: string, script: string): Promise<{ code: number; output: string }> {
    try {
        const output = await dockerCli(["exec", container, "sh", "-c", script], { timeoutMs: 30000 });
        return { code: 0, output };
    } catch (e) {
        const info = await api("GET", `/containers/${encodeURIComponent(container)}/json`);
        if (!info.State.Running) throw new Error(`container ${container} is not running`);
        return { code: 1, output: (e as Error).message };
    }
}

/** Host port bindings per container name, for every container whose name starts with `prefix`. */
export async function publishedPorts(prefix: string): Promise<Record<string, string[]>> {
    const list = (await api("GET", `/containers/json?all=true`)) as { Names: string[]; Id: string }[];
    const out: Record<string, string[]> = {};
    for (const c of list) {
        const name = c.Names[0].replace(/^\//, "");
        if (!name.startsWith(prefix)) continue;
        const info = await api("GET", `/containers/${c.Id}/json`);
        const b = (info.HostConfig.PortBindings ?? {}) as Record<string, { HostIp: string; HostPort: string }[]>;
        out[name] = Object.entries(b).flatMap(([k, v]) => v.map((x) => `${x.HostIp}:${x.HostPort}->${k}`));
    }
    return out;
}
