/**
 * The bring-up harness: runs a real example program under `pulumi.runtime.setMocks`, and for each resource the
 * program declares does what the engine and its providers would do, for real:
 *  - docker networks, volumes and containers are created on the private Docker engine through its API (envs,
 *    ports, network aliases, volumes, uploads, healthchecks, commands, labels, restart, limits; waiting for health
 *    where the program asked for it);
 *  - `docker.Image` builds run `docker build`; `docker.RemoteImage` must already be local (no registry here);
 *  - `random.RandomPassword` draws a real random password;
 *  - dynamic resources (the bootstrap, the load balancer's readiness wait) run through Pulumi's own
 *    dynamic-provider host over gRPC, with the `__provider` text the program serialized, as the engine would.
 * The SDK awaits each async registration and only registers dependents afterwards, so start order comes from the
 * program itself. Any resource type or property this harness does not implement fails loudly, naming both.
 *
 * Ports are always published on 127.0.0.1 (tests talk to servers on loopback only), whatever address the program
 * asked for; that is the one deliberate difference from the real docker provider.
 */
import { randomBytes, randomInt } from "crypto";
import type { MockResourceArgs, MockResourceResult } from "@pulumi/pulumi/runtime/mocks";
import { ProviderHost } from "../support/provider-host";
import { Graph, RecordingMonitor, runProgram, unwrapSecrets } from "../sdk/support/graph";
import { api, DockerApiError, dockerCli, durationNs, putArchive, tarOf } from "./docker-api";

type Props = Record<string, any>;

export interface Created {
    kind: "container" | "network" | "volume";
    /** Docker name. */
    name: string;
    /** Pulumi resource name. */
    resource: string;
}

export interface TimelineEntry {
    resource: string;
    type: string;
    startMs: number;
    endMs: number;
}

/** Properties of each type the harness implements; anything else is refused by name. */
const SUPPORTED: Record<string, string[]> = {
    "docker:index/network:Network": ["name", "driver", "internal", "attachable", "labels", "options", "checkDuplicate"],
    "docker:index/volume:Volume": ["name", "driver", "labels", "driverOpts"],
    "docker:index/remoteImage:RemoteImage": ["name", "keepLocally"],
    "docker:index/image:Image": ["imageName", "skipPush", "build", "buildOnPreview"],
    "docker:index/container:Container": [
        "name", "image", "envs", "command", "entrypoints", "ports", "networksAdvanced", "volumes", "uploads", "healthcheck",
        "labels", "restart", "wait", "waitTimeout", "memory", "cpuShares", "user", "mustRun", "start", "workingDir",
    ],
    "random:index/randomPassword:RandomPassword": ["length", "special", "upper", "lower", "numeric", "overrideSpecial", "minLower", "minUpper", "minNumeric", "minSpecial", "keepers"],
    "pulumi-nodejs:dynamic/postgres:Bootstrap": ["*"],
    "pulumi-nodejs:dynamic/readiness:HttpReadiness": ["*"],
};

function refuseUnsupported(args: MockResourceArgs, inputs: Props): void {
    const allowed = SUPPORTED[args.type];
    if (!allowed) throw new Error(`bring-up harness: resource type ${args.type} (${args.name}) is not supported`);
    if (allowed[0] === "*") return;
    for (const [k, v] of Object.entries(inputs)) {
        if (v === undefined || v === null) continue;
        if (!allowed.includes(k)) throw new Error(`bring-up harness: ${args.type} property "${k}" (resource ${args.name}) is not supported`);
    }
}

function labelsMap(labels: { label: string; value: string }[] | undefined): Record<string, string> {
    return Object.fromEntries((labels ?? []).map((l) => [l.label, l.value]));
}

function randomPassword(inputs: Props): string {
    const classes: [boolean, number, string][] = [
        [inputs.lower !== false, inputs.minLower ?? 0, "abcdefghijklmnopqrstuvwxyz"],
        [inputs.upper !== false, inputs.minUpper ?? 0, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"],
        [inputs.numeric !== false, inputs.minNumeric ?? 0, "0123456789"],
        [inputs.special !== false, inputs.minSpecial ?? 0, inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?"],
    ];
    const pool = classes.filter(([on]) => on).map(([, , chars]) => chars).join("");
    const out: string[] = [];
    for (const [on, min, chars] of classes) for (let i = 0; on && i < min; i++) out.push(chars[randomInt(chars.length)]);
    while (out.length < inputs.length) out.push(pool[randomInt(pool.length)]);
    for (let i = out.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
    }
    return out.join("");
}

export interface BringUpOptions {
    project: string;
    stack: string;
}

/** One brought-up cluster: what was created, in what order, and how to tear it down. */
export class BringUp {
    readonly created: Created[] = [];
    readonly timeline: TimelineEntry[] = [];
    /** The registrations, as the monitor records them (for `retainOnDelete`). */
    monitor?: RecordingMonitor;
    readonly host = new ProviderHost();
    graph?: Graph;
    private readonly t0 = Date.now();
    private hostStarted?: Promise<void>;

    constructor(readonly opts: BringUpOptions) {
        // The engine has its language host up before the program runs; start the dynamic-provider host now too,
        // rather than on the bootstrap's critical path.
        this.hostStarted = this.host.start();
        this.hostStarted.catch(() => undefined);
    }

    /** The engine's part of one registration. */
    async newResource(args: MockResourceArgs): Promise<MockResourceResult> {
        if (!args.custom) return { id: undefined, state: {} };
        const inputs = unwrapSecrets(args.inputs).value as Props;
        refuseUnsupported(args, inputs);
        const startMs = Date.now() - this.t0;
        try {
            return await this.create(args, inputs);
        } finally {
            this.timeline.push({ resource: args.name, type: args.type, startMs, endMs: Date.now() - this.t0 });
        }
    }

    private async create(args: MockResourceArgs, inputs: Props): Promise<MockResourceResult> {
        switch (args.type) {
            case "random:index/randomPassword:RandomPassword":
                return { id: args.name, state: { ...inputs, result: randomPassword(inputs), bcryptHash: "" } };
            case "docker:index/network:Network": {
                const r = await api("POST", "/networks/create", {
                    Name: inputs.name,
                    Driver: inputs.driver ?? "bridge",
                    Internal: inputs.internal ?? false,
                    Attachable: inputs.attachable ?? false,
                    CheckDuplicate: true,
                    Labels: labelsMap(inputs.labels),
                    Options: inputs.options ?? {},
                });
                this.created.push({ kind: "network", name: inputs.name, resource: args.name });
                return { id: r.Id, state: { ...inputs, driver: inputs.driver ?? "bridge" } };
            }
            case "docker:index/volume:Volume": {
                // A retained volume from an earlier bring-up is adopted, as the real provider finds it by name.
                await api("POST", "/volumes/create", { Name: inputs.name, Driver: inputs.driver ?? "local", Labels: labelsMap(inputs.labels), DriverOpts: inputs.driverOpts ?? {} });
                this.created.push({ kind: "volume", name: inputs.name, resource: args.name });
                return { id: inputs.name, state: { ...inputs, mountpoint: "" } };
            }
            case "docker:index/remoteImage:RemoteImage": {
                const img = await api("GET", `/images/${encodeURIComponent(inputs.name)}/json`).catch((e: DockerApiError) => {
                    throw new Error(`bring-up harness: image ${inputs.name} is not on the local engine and no registry is reachable; build it (tests/infra/build-images.sh): ${e.message}`);
                });
                return { id: img.Id, state: { ...inputs, imageId: img.Id, repoDigest: img.RepoDigests?.[0] ?? "" } };
            }
            case "docker:index/image:Image": {
                const b = inputs.build ?? {};
                for (const k of Object.keys(b)) if (!["context", "dockerfile", "args"].includes(k)) throw new Error(`bring-up harness: docker:index/image:Image property "build.${k}" (resource ${args.name}) is not supported`);
                const argv = ["build", "-q", "--network", "host", "-t", inputs.imageName];
                if (b.dockerfile) argv.push("-f", b.dockerfile);
                for (const [k, v] of Object.entries(b.args ?? {})) argv.push("--build-arg", `${k}=${v}`);
                argv.push(b.context);
                const id = (await dockerCli(argv, { timeoutMs: 900000 })).trim();
                return { id, state: { ...inputs, repoDigest: "", baseImageName: inputs.imageName } };
            }
            case "docker:index/container:Container":
                return this.container(args, inputs);
            case "pulumi-nodejs:dynamic/postgres:Bootstrap":
            case "pulumi-nodejs:dynamic/readiness:HttpReadiness": {
                await this.hostStarted;
                const { inputs: checked, failures } = await this.host.check({}, inputs);
                if (failures.length) throw new Error(`${args.type} ${args.name}: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
                const { id, outs } = await this.host.create(checked);
                return { id, state: outs };
            }
        }
        throw new Error(`bring-up harness: resource type ${args.type} is not supported`);
    }

    private async container(args: MockResourceArgs, inputs: Props): Promise<MockResourceResult> {
        const nets = (inputs.networksAdvanced ?? []) as { name: string; aliases?: string[]; ipv4Address?: string }[];
        for (const n of nets) if (n.ipv4Address) throw new Error(`bring-up harness: container property "networksAdvanced.ipv4Address" (resource ${args.name}) is not supported`);
        const ports = (inputs.ports ?? []) as { internal: number; external?: number; ip?: string; protocol?: string }[];
        const exposed: Record<string, object> = {};
        const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
        for (const p of ports) {
            const key = `${p.internal}/${p.protocol ?? "tcp"}`;
            exposed[key] = {};
            (bindings[key] ??= []).push({ HostIp: "127.0.0.1", HostPort: p.external ? String(p.external) : "" });
        }
        const binds: string[] = [];
        for (const v of (inputs.volumes ?? []) as Props[]) {
            for (const k of Object.keys(v)) if (!["volumeName", "containerPath", "readOnly", "hostPath"].includes(k)) throw new Error(`bring-up harness: container property "volumes.${k}" (resource ${args.name}) is not supported`);
            binds.push(`${v.volumeName ?? v.hostPath}:${v.containerPath}${v.readOnly ? ":ro" : ""}`);
        }
        const h = inputs.healthcheck as Props | undefined;
        const restart = inputs.restart ?? "no";
        const body = {
            Image: inputs.image,
            Env: inputs.envs ?? [],
            ...(inputs.command ? { Cmd: inputs.command } : {}),
            ...(inputs.entrypoints ? { Entrypoint: inputs.entrypoints } : {}),
            ...(inputs.user ? { User: inputs.user } : {}),
            ...(inputs.workingDir ? { WorkingDir: inputs.workingDir } : {}),
            Labels: labelsMap(inputs.labels),
            ExposedPorts: exposed,
            ...(h
                ? { Healthcheck: { Test: h.tests, Interval: durationNs(h.interval), Timeout: durationNs(h.timeout), Retries: h.retries, StartPeriod: durationNs(h.startPeriod) } }
                : {}),
            HostConfig: {
                PortBindings: bindings,
                Binds: binds,
                RestartPolicy: { Name: restart === "no" ? "" : restart },
                ...(inputs.memory ? { Memory: inputs.memory * 1024 * 1024 } : {}),
                ...(inputs.cpuShares ? { CpuShares: inputs.cpuShares } : {}),
                ...(nets[0] ? { NetworkMode: nets[0].name } : {}),
            },
            NetworkingConfig: nets[0] ? { EndpointsConfig: { [nets[0].name]: { Aliases: nets[0].aliases ?? [] } } } : {},
        };
        const created = await api("POST", `/containers/create?name=${encodeURIComponent(inputs.name)}`, body);
        this.created.push({ kind: "container", name: inputs.name, resource: args.name });
        for (const n of nets.slice(1)) await api("POST", `/networks/${encodeURIComponent(n.name)}/connect`, { Container: created.Id, EndpointConfig: { Aliases: n.aliases ?? [] } });
        await this.upload(inputs.name, (inputs.uploads ?? []) as Props[], args.name);
        if (inputs.start !== false) {
            await api("POST", `/containers/${created.Id}/start`);
            if (inputs.wait) await this.waitHealthy(inputs.name, created.Id, (inputs.waitTimeout ?? 60) * 1000, !!h);
        }
        const info = await api("GET", `/containers/${created.Id}/json`);
        const networkDatas = Object.entries((info.NetworkSettings?.Networks ?? {}) as Record<string, Props>).map(([networkName, n]) => ({
            networkName,
            ipAddress: n.IPAddress,
            ipPrefixLength: n.IPPrefixLen,
            gateway: n.Gateway,
            macAddress: n.MacAddress,
        }));
        const published = ports.map((p) => {
            const b = info.NetworkSettings?.Ports?.[`${p.internal}/${p.protocol ?? "tcp"}`]?.[0];
            return { ...p, ip: "127.0.0.1", external: b ? Number(b.HostPort) : p.external };
        });
        return { id: created.Id, state: { ...inputs, ports: published, networkDatas } };
    }

    /** Copies uploads into the (created, not yet started) container through the API, as the docker provider does. */
    private async upload(container: string, uploads: Props[], resource: string): Promise<void> {
        if (!uploads.length) return;
        const files = uploads.map((u) => {
            for (const k of Object.keys(u)) if (!["file", "content", "contentBase64", "executable"].includes(k)) throw new Error(`bring-up harness: container property "uploads.${k}" (resource ${resource}) is not supported`);
            const content = u.contentBase64 !== undefined ? Buffer.from(u.contentBase64, "base64") : Buffer.from(String(u.content ?? ""), "utf8");
            return { path: String(u.file).replace(/^\/+/, ""), content, mode: u.executable ? 0o755 : 0o644 };
        });
        await putArchive(container, tarOf(files));
    }

    private async waitHealthy(name: string, id: string, timeoutMs: number, hasHealthcheck: boolean): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const s = (await api("GET", `/containers/${id}/json`)).State;
            if (s.Status === "exited" || s.Status === "dead") throw new Error(`container ${name} exited (code ${s.ExitCode}) while waiting for it to become healthy`);
            if (hasHealthcheck ? s.Health?.Status === "healthy" : s.Running) return;
            if (Date.now() > deadline) throw new Error(`container ${name} did not become healthy within ${timeoutMs / 1000}s (health: ${s.Health?.Status})`);
            await new Promise((r) => setTimeout(r, 100));
        }
    }

    /** Docker names of the objects whose resource has `retainOnDelete`. */
    retained(): Set<string> {
        return new Set((this.monitor?.recorded ?? []).filter((r) => r.retainOnDelete && typeof r.inputs.name === "string").map((r) => r.inputs.name as string));
    }

    /** Removes what was created, newest first; objects marked retainOnDelete stay unless `all`. */
    async teardown(all = false): Promise<void> {
        const retained = this.retained();
        for (const c of [...this.created].reverse()) {
            if (!all && retained.has(c.name)) continue;
            const path = c.kind === "container" ? `/containers/${encodeURIComponent(c.name)}?force=true&v=true` : c.kind === "network" ? `/networks/${encodeURIComponent(c.name)}` : `/volumes/${encodeURIComponent(c.name)}`;
            await api("DELETE", path).catch((e: DockerApiError) => {
                if (e.status !== 404) throw e;
            });
        }
        this.created.length = 0;
        await this.host.stop();
    }
}

/**
 * Runs `program` against the real engine and returns what happened, without throwing: the harness (what was
 * created, in what order), the program's result, and the first failing registration's error, if any.
 */
export async function attempt<T>(program: () => T, opts: BringUpOptions): Promise<{ cluster: BringUp; result?: T; error?: Error; ms: number }> {
    const cluster = new BringUp(opts);
    const errors: Error[] = [];
    const started = Date.now();
    try {
        const run = await runProgram(program, {
            project: opts.project,
            stack: opts.stack,
            onMonitor: (m) => (cluster.monitor = m),
            newResource: async (args) => {
                try {
                    return await cluster.newResource(args);
                } catch (e) {
                    errors.push(e as Error);
                    throw e;
                }
            },
        });
        cluster.graph = run.graph;
        return { cluster, result: run.result, error: errors[0], ms: Date.now() - started };
    } catch (e) {
        return { cluster, error: errors[0] ?? (e as Error), ms: Date.now() - started };
    }
}

/** Brings `program` up for real; on failure tears down what was created (keeping retained objects) and throws. */
export async function bringUp<T>(program: () => T, opts: BringUpOptions): Promise<{ cluster: BringUp; result: T; ms: number }> {
    const r = await attempt(program, opts);
    if (r.error) {
        await r.cluster.teardown(false).catch(() => undefined);
        throw r.error;
    }
    return { cluster: r.cluster, result: r.result as T, ms: r.ms };
}

/** A stack name unique to this run, so leftovers of an interrupted run never collide. */
export function freshStack(prefix: string): string {
    return `${prefix}${randomBytes(3).toString("hex")}`;
}
