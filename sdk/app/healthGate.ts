/**
 * `ContainerHealthGate`: a tracked resource whose create returns only once a container's Docker health check
 * reports "healthy", asked of the Docker Engine API every 500 ms. On timeout (or when the container stops) it fails
 * naming the container and quoting its last health check output, so a rollout that would put a broken replica
 * behind the load balancer stops with the reason on screen. (The docker provider's own `wait` fails with neither.)
 *
 * Its provider is a gate (sdk/container/gate.ts) with `require` inside its functions, so it serializes cleanly.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { isUnknown } from "../../provider";
import { gateProvider } from "../container";

export interface ContainerHealthGateInputs {
    /** Docker name or id of the container. */
    container: string;
    timeoutSeconds: number;
    /** The Docker engine: `unix:///path` or `tcp://host:port`; "" = DOCKER_HOST of the engine, else the default socket. */
    dockerHost: string;
}

interface HealthState {
    running: boolean;
    status: string;
    exitCode: number;
    lastOutput: string;
}

async function inspect(dockerHost: string, container: string): Promise<HealthState> {
    const http = require("http") as typeof import("http");
    const host = dockerHost || process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
    const target: import("http").RequestOptions = host.startsWith("unix://")
        ? { socketPath: host.slice("unix://".length) }
        : (() => {
              const u = new URL(host.replace(/^tcp:\/\//, "http://"));
              return { host: u.hostname, port: Number(u.port || 2375) };
          })();
    const body = await new Promise<string>((resolve, reject) => {
        const req = http.request(
            { ...target, method: "GET", path: `/containers/${encodeURIComponent(container)}/json`, timeout: 5000 },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString("utf8");
                    if ((res.statusCode ?? 500) >= 400)
                        reject(new Error(`Docker answered ${res.statusCode}: ${text.trim()}`));
                    else resolve(text);
                });
            },
        );
        req.on("timeout", () => req.destroy(new Error("Docker did not answer within 5 s")));
        req.on("error", reject);
        req.end();
    });
    const info = JSON.parse(body) as {
        State?: {
            Running?: boolean;
            ExitCode?: number;
            Health?: { Status?: string; Log?: { Output?: string; ExitCode?: number }[] };
        };
    };
    const log = info.State?.Health?.Log ?? [];
    const last = log[log.length - 1];
    return {
        running: info.State?.Running === true,
        status: info.State?.Health?.Status ?? "none",
        exitCode: info.State?.ExitCode ?? 0,
        lastOutput: last
            ? `exit ${last.ExitCode}: ${(last.Output ?? "").trim() || "(no output)"}`
            : "(no health check has run yet)",
    };
}

async function waitHealthy(inputs: ContainerHealthGateInputs): Promise<void> {
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    let last: HealthState | string = "not asked yet";
    for (;;) {
        try {
            last = await inspect(inputs.dockerHost, inputs.container);
            if (last.status === "healthy") return;
            if (last.status === "none")
                throw new Error(
                    `container ${inputs.container} has no health check; give the pool a healthcheck or set waitForHealthy: false`,
                );
        } catch (e) {
            if (e instanceof Error && e.message.startsWith(`container ${inputs.container}`)) throw e;
            last = (e as Error).message;
        }
        if (Date.now() > deadline) {
            const detail =
                typeof last === "string"
                    ? last
                    : `health "${last.status}"${last.running ? "" : `, not running (last exit code ${last.exitCode})`}, last health check: ${last.lastOutput}`;
            throw new Error(
                `container ${inputs.container} did not become healthy within ${inputs.timeoutSeconds}s (${detail}); the replicas it would replace keep serving; fix the image or health check and run up again`,
            );
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}

/** The gate's provider. */
export const containerHealthGateProvider: pulumi.dynamic.ResourceProvider = gateProvider<ContainerHealthGateInputs>({
    idPrefix: "healthy",
    check(news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (!isUnknown(news.container) && (typeof news.container !== "string" || news.container === ""))
            failures.push({ property: "container", reason: "container is empty; give the container's name or id" });
        return failures;
    },
    diffKey: (p) => [p.container, p.timeoutSeconds, p.dockerHost, p.triggers],
    wait: (inputs) => waitHealthy(inputs),
});

export interface ContainerHealthGateArgs {
    /** Docker name or id of the container waited for. */
    container: pulumi.Input<string>;
    /** Give up after this long. @default 180 */
    timeoutSeconds?: pulumi.Input<number>;
    /** Docker engine address (`unix:///…` or `tcp://…`). @default "" (DOCKER_HOST, else /var/run/docker.sock) */
    dockerHost?: pulumi.Input<string>;
    /** Values (e.g. the container's id) whose change makes the gate wait again. @default [] */
    triggers?: pulumi.Input<pulumi.Input<string>[]>;
}

/** Waits, during `pulumi up`, until a container's health check passes; fails with its last health output. */
export class ContainerHealthGate extends pulumi.dynamic.Resource {
    /** The container waited for. */
    public readonly container!: pulumi.Output<string>;

    constructor(name: string, args: ContainerHealthGateArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(
            containerHealthGateProvider,
            name,
            {
                container: args.container,
                timeoutSeconds: args.timeoutSeconds ?? 180,
                dockerHost: args.dockerHost ?? "",
                triggers: args.triggers ?? [],
            },
            opts,
            "health",
            "ContainerHealthGate",
        );
    }
}

/**
 * The gate of one replica (pool or Service): waits for `container`'s health check, and again whenever the
 * container is replaced (its id is the trigger).
 */
export function replicaHealthGate(
    name: string,
    container: docker.Container,
    timeoutSeconds: number,
    parent: pulumi.Resource,
): ContainerHealthGate {
    return new ContainerHealthGate(
        name,
        { container: container.name, timeoutSeconds, triggers: [container.id] },
        { parent, dependsOn: [container] },
    );
}
