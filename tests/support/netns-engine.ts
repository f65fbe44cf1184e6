/**
 * A second Docker engine of the test's own, in a network namespace of its own, so that it can be restarted (the
 * engine-restart fault) without touching the shared private engine other test files use at the same time.
 *
 * Why a network namespace: a second dockerd in the host's namespace shares docker0, the iptables chains (a
 * starting dockerd removes and re-creates DOCKER and DOCKER-ISOLATION-*, which hold the first engine's rules) and
 * the default address pools with the first one. In its own namespace it has its own loopback, bridge and
 * iptables. It is entered with `nsenter --net` only (`ip netns exec` also remounts /sys, which hides the cgroup
 * mounts dockerd needs). The engine's unix socket is a file, reachable from the host as usual.
 *
 * Ports the stack publishes on 127.0.0.1 inside the namespace are forwarded from the same port on the host's
 * 127.0.0.1 (host TCP → a unix socket → a forwarder inside the namespace → TCP), so the load generator and the
 * readiness gate of `pulumi up` reach them as on the shared engine.
 *
 * Layout: socket /tmp/pdc-faults-<id>.sock, exec root /tmp/pdc-faults-<id>-run, log /tmp/pdc-faults-dockerd.log
 * (appended), data root /var/tmp/pdc-docker-faults (kept between runs so the images loaded into it stay: one such
 * engine at a time per machine, held by a lock).
 */
import { ChildProcess, execFile, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { DOCKER_HOST as SHARED_DOCKER_HOST } from "./docker-api";

const ROOT = path.resolve(__dirname, "../..");
const DATA_ROOT = "/var/tmp/pdc-docker-faults";
/** Held (flock) by the process inside the namespace for its whole life: one engine on DATA_ROOT at a time. */
const LOCK = `${DATA_ROOT}.lock`;

/** Runs a command; resolves to stdout, rejects with stderr. Always bounded by `timeoutMs`. */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(
            cmd,
            args,
            {
                env: { ...process.env, ...opts.env },
                timeout: opts.timeoutMs ?? 120000,
                maxBuffer: 16 * 1024 * 1024,
                encoding: "utf8",
            },
            (err, stdout, stderr) =>
                err
                    ? reject(new Error(`${cmd} ${args.slice(0, 4).join(" ")} failed: ${stderr || err.message}`))
                    : resolve(stdout),
        );
    });
}

/** The address of the namespace's DNS server (on its loopback; the engine's `--dns`). */
const DNS_IP = "10.213.255.53";

/**
 * What runs inside the namespace, in one process: for each port, unix socket `<dir>/<port>.sock` → TCP
 * 127.0.0.1:<port>; and a DNS server on DNS_IP answering every query "no such name", as a host's resolver does for
 * a stopped container's name. Without one, Docker's embedded DNS forwards the query to a server it cannot reach
 * and `getent hosts` of that name takes 20 s (nginx's watcher checks names at start).
 */
const INNER = `
const net = require("net"), fs = require("fs"), path = require("path"), dgram = require("dgram");
const [dir, dnsIp, ...ports] = process.argv.slice(1);
for (const port of ports.map(Number)) {
    const sock = path.join(dir, port + ".sock");
    try { fs.unlinkSync(sock); } catch {}
    net.createServer((client) => {
        const up = net.connect(port, "127.0.0.1");
        client.pipe(up).pipe(client);
        client.on("error", () => up.destroy());
        up.on("error", () => client.destroy());
        client.on("close", () => up.destroy());
        up.on("close", () => client.destroy());
    }).listen(sock);
}
const dns = dgram.createSocket("udp4");
dns.on("message", (q, from) => {
    if (q.length < 12) return;
    const a = Buffer.from(q);
    a[2] = 0x80 | (q[2] & 0x79);
    a[3] = 0x80 | 3;
    a.writeUInt16BE(0, 6); a.writeUInt16BE(0, 8); a.writeUInt16BE(0, 10);
    dns.send(a, from.port, from.address);
});
dns.bind(53, dnsIp, () => fs.writeFileSync(path.join(dir, "inner.ready"), ""));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
`;

export class NetnsEngine {
    readonly ns: string;
    readonly socket: string;
    /** `unix://<socket>`: DOCKER_HOST for this engine. */
    readonly host: string;
    private readonly runDir: string;
    private readonly log: string;
    private inner: ChildProcess | undefined;
    private readonly servers: net.Server[] = [];
    private readonly clients = new Set<net.Socket>();

    /** `ports`: published on 127.0.0.1 in the namespace, forwarded from the same ports of the host's 127.0.0.1. */
    constructor(
        id: string,
        private readonly ports: number[],
    ) {
        this.ns = `pdc-faults-${id}`;
        this.socket = `/tmp/pdc-faults-${id}.sock`;
        this.host = `unix://${this.socket}`;
        this.runDir = `/tmp/pdc-faults-${id}-run`;
        this.log = "/tmp/pdc-faults-dockerd.log";
    }

    private dockerdSh(op: "start" | "stop", liveRestore = false): Promise<string> {
        return run("nsenter", [`--net=/run/netns/${this.ns}`, "bash", path.join(ROOT, "tests/infra/dockerd.sh"), op], {
            env: {
                PDC_DOCKER_SOCK: this.socket,
                PDC_DOCKER_DATA: DATA_ROOT,
                PDC_DOCKER_RUN: this.runDir,
                PDC_DOCKER_LOG: this.log,
                PDC_DOCKER_ARGS: `--dns ${DNS_IP}${liveRestore ? " --live-restore" : ""}`,
                PDC_DOCKER_STOP_TIMEOUT: "60",
            },
            timeoutMs: 120000,
        });
    }

    /**
     * Starts dockerd in the namespace; the first time, creates the namespace (loopback up, the DNS address on it)
     * and starts the forwarders and the DNS server, which run on through engine restarts.
     */
    async start(opts: { liveRestore?: boolean } = {}): Promise<void> {
        if (!this.inner) {
            if (!fs.existsSync(`/run/netns/${this.ns}`)) await run("ip", ["netns", "add", this.ns]);
            await run("ip", ["-n", this.ns, "link", "set", "lo", "up"]);
            await run("ip", ["-n", this.ns, "addr", "replace", `${DNS_IP}/32`, "dev", "lo"]);
            await this.forward();
        }
        await this.dockerdSh("start", opts.liveRestore);
    }

    /** Stops dockerd (SIGTERM, bounded wait, then SIGKILL: tests/infra/dockerd.sh). */
    async stop(): Promise<void> {
        await this.dockerdSh("stop");
    }

    /** The docker CLI against this engine. */
    docker(args: string[], timeoutMs = 120000): Promise<string> {
        return run("docker", args, { env: { DOCKER_HOST: this.host }, timeoutMs });
    }

    /** Copies `images` from the shared engine (`docker save | docker load`), each only if missing or different. */
    async loadImages(images: string[]): Promise<void> {
        const id = (host: string, image: string) =>
            run("docker", ["image", "inspect", "--format", "{{.Id}}", image], { env: { DOCKER_HOST: host } }).then(
                (s) => s.trim(),
                () => "",
            );
        const missing: string[] = [];
        for (const image of images)
            if ((await id(this.host, image)) !== (await id(SHARED_DOCKER_HOST, image))) missing.push(image);
        if (missing.length === 0) return;
        await run(
            "bash",
            [
                "-o",
                "pipefail",
                "-c",
                `DOCKER_HOST=${SHARED_DOCKER_HOST} docker save "$@" | DOCKER_HOST=${this.host} docker load -q`,
                "load",
                ...missing,
            ],
            { timeoutMs: 300000 },
        );
    }

    /** The process inside the namespace, and 127.0.0.1:<port> of the host to its unix sockets. */
    private async forward(): Promise<void> {
        fs.mkdirSync(this.runDir, { recursive: true });
        const sock = (p: number) => path.join(this.runDir, `${p}.sock`);
        const ready = path.join(this.runDir, "inner.ready");
        fs.rmSync(ready, { force: true });
        const args = [`--net=/run/netns/${this.ns}`, process.execPath, "-e", INNER, this.runDir, DNS_IP];
        const inner = spawn("flock", ["-n", LOCK, "nsenter", ...args, ...this.ports.map(String)], {
            stdio: ["pipe", "ignore", "inherit"],
        });
        this.inner = inner;
        const deadline = Date.now() + 10000;
        while (!fs.existsSync(ready) || !this.ports.every((p) => fs.existsSync(sock(p)))) {
            if (inner.exitCode !== null)
                throw new Error(
                    `another test's engine holds ${LOCK} (one at a time): wait for it to end, then run again`,
                );
            if (Date.now() > deadline) throw new Error(`the forwarder in ${this.ns} did not start within 10 s`);
            await new Promise((r) => setTimeout(r, 50));
        }
        for (const p of this.ports) {
            const server = net.createServer((client) => {
                const up = net.connect(sock(p));
                this.clients.add(client);
                client.pipe(up).pipe(client);
                client.on("error", () => up.destroy());
                up.on("error", () => client.destroy());
                client.on("close", () => {
                    up.destroy();
                    this.clients.delete(client);
                });
                up.on("close", () => client.destroy());
            });
            await new Promise<void>((resolve, reject) => {
                server.once("error", reject);
                server.listen(p, "127.0.0.1", () => resolve());
            });
            this.servers.push(server);
        }
    }

    /** Stops the forwarders and dockerd, and removes the namespace and the run folder. Each step bounded. */
    async remove(): Promise<void> {
        for (const c of this.clients) c.destroy();
        await Promise.all(this.servers.map((s) => new Promise((r) => s.close(r))));
        this.inner?.stdin?.end();
        this.inner?.kill();
        await this.stop().catch(() => undefined);
        await run("ip", ["netns", "del", this.ns]).catch(() => undefined);
        // A mount dockerd left behind (a container's namespace file) must not fail the clean-up.
        for (const p of [this.runDir, this.socket]) {
            try {
                fs.rmSync(p, { recursive: true, force: true });
            } catch {
                /* left for the next boot */
            }
        }
    }
}
