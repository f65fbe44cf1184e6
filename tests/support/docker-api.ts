/**
 * A thin client for the Docker Engine API over the private engine's unix socket (tests/infra/dockerd.sh), plus
 * the two things the API makes awkward: `docker build` and copying files into a container (the CLI).
 */
import { execFile } from "child_process";
import * as http from "http";

export const DOCKER_HOST = process.env.DOCKER_HOST ?? "unix:///tmp/pdc-docker.sock";
const SOCKET = DOCKER_HOST.replace(/^unix:\/\//, "");

export class DockerApiError extends Error {
    constructor(
        message: string,
        readonly status: number,
    ) {
        super(message);
    }
}

/** One Engine API call; resolves to the parsed JSON body (or text). Rejects on HTTP status >= 400. */
export function api<T = any>(method: string, path: string, body?: unknown, timeoutMs = 120000): Promise<T> {
    return new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
        const req = http.request(
            {
                socketPath: SOCKET,
                method,
                path: `/v1.41${path}`,
                headers: payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {},
                timeout: timeoutMs,
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    let parsed: unknown = text;
                    try {
                        parsed = text ? JSON.parse(text) : undefined;
                    } catch {
                        /* not JSON */
                    }
                    if ((res.statusCode ?? 500) >= 400) {
                        const msg = (parsed as { message?: string })?.message ?? text;
                        reject(
                            new DockerApiError(
                                `docker ${method} ${path}: ${res.statusCode} ${msg}`,
                                res.statusCode ?? 500,
                            ),
                        );
                    } else resolve(parsed as T);
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error(`docker ${method} ${path}: no answer in ${timeoutMs} ms`)));
        req.on("error", reject);
        if (payload) req.write(payload);
        req.end();
    });
}

/** Extracts a tar archive into a container at `/` (what the docker provider's uploads do, through the same API). */
export function putArchive(container: string, tar: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
        const req = http.request(
            {
                socketPath: SOCKET,
                method: "PUT",
                path: `/v1.41/containers/${encodeURIComponent(container)}/archive?path=%2F`,
                headers: { "Content-Type": "application/x-tar", "Content-Length": tar.length },
            },
            (res) => {
                let text = "";
                res.on("data", (c) => (text += c));
                res.on("end", () =>
                    (res.statusCode ?? 500) >= 400
                        ? reject(
                              new DockerApiError(
                                  `docker PUT archive ${container}: ${res.statusCode} ${text}`,
                                  res.statusCode ?? 500,
                              ),
                          )
                        : resolve(),
                );
            },
        );
        req.on("error", reject);
        req.end(tar);
    });
}

/** A ustar archive of regular files (path → content, mode), owned by root, parents created on extraction. */
export function tarOf(files: { path: string; content: Buffer; mode: number }[]): Buffer {
    const blocks: Buffer[] = [];
    for (const f of files) {
        const h = Buffer.alloc(512);
        let name = f.path;
        let prefix = "";
        if (Buffer.byteLength(name) > 100) {
            const cut = name.lastIndexOf("/", 155);
            prefix = name.slice(0, cut);
            name = name.slice(cut + 1);
            if (cut < 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155)
                throw new Error(`tarOf: path too long: ${f.path}`);
        }
        const field = (value: string, offset: number, length: number) => h.write(value, offset, length, "utf8");
        const octal = (value: number, offset: number, length: number) =>
            field(value.toString(8).padStart(length - 1, "0") + "\0", offset, length);
        field(name, 0, 100);
        octal(f.mode, 100, 8);
        octal(0, 108, 8);
        octal(0, 116, 8);
        octal(f.content.length, 124, 12);
        octal(Math.floor(Date.now() / 1000), 136, 12);
        field("        ", 148, 8);
        field("0", 156, 1);
        field("ustar\0", 257, 6);
        field("00", 263, 2);
        field(prefix, 345, 155);
        let sum = 0;
        for (const byte of h) sum += byte;
        field(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
        blocks.push(h, f.content, Buffer.alloc((512 - (f.content.length % 512)) % 512));
    }
    blocks.push(Buffer.alloc(1024));
    return Buffer.concat(blocks);
}

/** Runs the docker CLI against the private engine. */
export function dockerCli(args: string[], opts: { timeoutMs?: number; input?: Buffer } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = execFile(
            "docker",
            args,
            {
                env: { ...process.env, DOCKER_HOST, DOCKER_BUILDKIT: "0" },
                timeout: opts.timeoutMs ?? 600000,
                maxBuffer: 64 * 1024 * 1024,
                encoding: "utf8",
            },
            (err, stdout, stderr) =>
                err
                    ? reject(new Error(`docker ${args.slice(0, 3).join(" ")} failed: ${stderr || err.message}`))
                    : resolve(stdout),
        );
        if (opts.input) child.stdin!.end(opts.input);
    });
}

/** Go duration ("1s", "500ms", "1m30s") → nanoseconds, as the Engine API wants them. */
/** A container's log, stdout and stderr both (`dockerCli` returns stdout only; servers log to stderr). */
export function containerLogs(name: string): Promise<string> {
    return new Promise((resolve) => {
        execFile(
            "docker",
            ["logs", name],
            { env: { ...process.env, DOCKER_HOST }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
            (_e, out, err) => resolve(`${out}${err}`),
        );
    });
}

export function durationNs(d: string | undefined): number | undefined {
    if (d === undefined || d === "") return undefined;
    const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
    const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    let total = 0;
    let matched = "";
    for (const m of d.matchAll(re)) {
        total += Number(m[1]) * unit[m[2]];
        matched += m[0];
    }
    if (matched !== d) throw new Error(`bring-up harness: cannot parse duration "${d}"`);
    return Math.round(total);
}
