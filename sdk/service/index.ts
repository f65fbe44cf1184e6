/**
 * Service: one container, or N replicas, of anything that is not an HTTP app behind the load balancer — Redis,
 * RabbitMQ, memcached, a queue worker. Same network rules as the other components (tiers by name, host names and
 * host ports claimed on the `TieredNetwork`), none of AppServerPool's app contract: no injected variables, no
 * shared files, no health wait unless a health check is given.
 *
 * Its containers have fixed names (`<name>-r<i>`), so a change of image, command, env, volumes or ports replaces
 * each one under its name (delete, then create): a restart, not a rolling update. State belongs in `volumes`.
 */
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { ContainerHealthGate, replicaHealthGate } from "../app";
import {
    checkHealthcheck,
    checkLogging,
    checkEnvNames,
    checkPassThrough,
    checkResources,
    ContainerPassThrough,
    ContainerResources,
    ContainerSettings,
    containerSettings,
    containerSettingsInputs,
    healthcheckInput,
    HealthcheckArgs,
    LoggingArgs,
    resourceInputs,
    PublishedPort,
    RestartPolicy,
    SecretFile,
    secretFileEnv,
    secretFileUploads,
    checkSecretFiles,
    VolumeMount,
} from "../container";
import { componentLabels, dockerName, isDnsLabel, labelList, replicaIdsFor } from "../naming";
import { AliasClaim, checkNetworkArg, HostPortClaim, NetworkClaim, TieredNetwork } from "../network";
import { ArgChecker } from "../validation";

/** A port a Service publishes on the Docker host. Unlike a pool's, its `ip` defaults to "127.0.0.1". */
export type ServicePort = PublishedPort;

/** A mount into a Service's containers (all replicas mount the same), as a pool's: `name`, `volume` or `hostPath`. */
export type ServiceVolume = VolumeMount;

/**
 * A container a program made by hand at the stack's root (its image pulled as `<container>-image`), which this
 * Service takes over without replacing it: the Service's one container keeps that container's Docker name and
 * labels, and its children carry Pulumi aliases to the old resources.
 */
export interface ServiceAdoptArgs {
    /** Pulumi name of the hand-made `docker.Container` (its Docker name was `dockerName(container)`). */
    readonly container: string;
    /**
     * The hand-made container's labels exactly (Docker cannot change a container's labels without replacing it).
     * @default the Service's own labels
     */
    readonly labels?: Readonly<Record<string, string>>;
}

export interface ServiceArgs {
    /** The cluster's networks. */
    readonly network: TieredNetwork;
    /** Tiers every container joins. @default ["app"] */
    readonly tiers?: readonly string[];
    /** Host names every container answers to on its tiers (DNS labels; several replicas share them). @default [name] */
    readonly aliases?: readonly string[];
    /**
     * The image: a registry reference as a plain string is pulled (a `<name>-image` RemoteImage, kept locally); an
     * Output (e.g. `ServiceImage.ref`) is used as it is.
     */
    readonly image: pulumi.Input<string>;
    /**
     * Number of containers (1–100), `<name>-r0` … With more than one, each also answers to `<alias>-r<i>` (its first
     * alias) and `ports` cannot be published (one host port, one container). @default 1
     */
    readonly replicas?: number;
    /** Command (argv) replacing the image's CMD. @default the image's */
    readonly command?: readonly string[];
    /** Environment variables (plain or secret; a secret value makes the container's env secret). @default {} */
    readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Volumes and host directories to mount. @default [] */
    readonly volumes?: readonly ServiceVolume[];
    /** Ports published on the Docker host, claimed on the network so a clash fails at preview. @default [] */
    readonly ports?: readonly ServicePort[];
    /** Health check. @default undefined (the image's own, if any) */
    readonly healthcheck?: HealthcheckArgs;
    /**
     * A container counts as created only once its health check passes (a `<name>-r<i>-healthy` gate), so whatever
     * depends on the Service starts after it is healthy. Needs `healthcheck`. @default true when healthcheck is set
     */
    readonly waitForHealthy?: boolean;
    /** How long a container may take to become healthy before `pulumi up` fails (waitForHealthy). 1–3600. @default 180 */
    readonly healthTimeoutSeconds?: number;
    /** Resources the containers start after (e.g. a PostgresCluster's `bootstrap`, another Service). @default [] */
    readonly startAfter?: readonly pulumi.Resource[];
    /** The container's host name (e.g. RabbitMQ's node name `rabbit@<hostname>`); with replicas, `<hostname>-r<i>`. @default Docker's (the container id) */
    readonly hostname?: string;
    /** Extra container labels. @default {} */
    readonly labels?: Readonly<Record<string, string>>;
    /** CPU and memory limits per container. @default no limits */
    readonly resources?: ContainerResources;
    /** Restart policy. @default "unless-stopped" */
    readonly restart?: RestartPolicy;
    /**
     * Take over a container made by hand, without replacing it (one replica only). The logging and
     * no-new-privileges defaults are then left off (they would replace it); `logging` and `container` still apply.
     * @default undefined
     */
    readonly adopt?: ServiceAdoptArgs;
    /**
     * Secrets handed to every container as files `/run/secrets/<key>` (never as environment variables, which the
     * Docker API shows), each optionally announced by a `*_FILE` variable holding its path, e.g.
     * `{ "rabbit-password": { value: password.result, env: "RABBITMQ_DEFAULT_PASS_FILE" } }`. A changed value
     * re-creates the containers. @default {}
     */
    readonly secretFiles?: Readonly<Record<string, SecretFile>>;
    /**
     * Where the containers log. @default { driver: "json-file", options: { "max-size": "10m", "max-file": "3" } }
     * (Docker's json-file alone never rotates; none with `adopt`)
     */
    readonly logging?: LoggingArgs;
    /**
     * Further container settings (user, readOnly, tmpfs, securityOpts, capabilities, sysctls, ulimits, init,
     * shmSize, …; see `ContainerPassThrough`). Settings the Service makes itself are refused, naming the argument
     * to use. `securityOpts` adds to `no-new-privileges:true`. @default {}
     */
    readonly container?: ContainerPassThrough;
}

/** The container settings a Service makes itself, with the argument to use instead ("" for none). */
const SERVICE_MANAGED: Readonly<Record<string, string>> = {
    image: "image",
    name: "",
    command: "command",
    envs: "env",
    hostname: "hostname",
    networksAdvanced: "tiers / aliases",
    networkMode: "tiers",
    volumes: "volumes",
    mounts: "volumes",
    ports: "ports",
    healthcheck: "healthcheck",
    restart: "restart",
    labels: "labels",
    memory: "resources",
    memorySwap: "resources",
    cpuShares: "resources",
};

/** One published port with its defaults applied. */
export interface ResolvedServicePort {
    readonly internal: number;
    readonly external: number;
    readonly protocol: "tcp" | "udp";
    readonly ip: string;
}

/** One mount with its defaults applied: `source` says where it comes from. */
export interface ResolvedServiceVolume {
    readonly source:
        | { readonly kind: "created"; readonly name: string; readonly retainOnDelete: boolean }
        | { readonly kind: "volume"; readonly volume: docker.Volume | string }
        | { readonly kind: "hostPath"; readonly hostPath: string };
    readonly containerPath: string;
    readonly readOnly: boolean;
}

/** Service's arguments with every default applied. */
export interface ResolvedServiceArgs {
    readonly network: TieredNetwork;
    readonly tiers: readonly string[];
    readonly aliases: readonly string[];
    readonly image: pulumi.Input<string>;
    readonly replicaIds: readonly string[];
    /** Per replica, the host names it answers to: `aliases`, plus `<alias>-<id>` when there are several. */
    readonly replicaHosts: readonly (readonly string[])[];
    /** Per replica, its Pulumi logical name `<name>-<id>`. */
    readonly logicalNames: readonly string[];
    /** Per replica, its Docker name. */
    readonly dockerNames: readonly string[];
    readonly command: readonly string[] | undefined;
    readonly env: Readonly<Record<string, pulumi.Input<string>>>;
    readonly volumes: readonly ResolvedServiceVolume[];
    readonly ports: readonly ResolvedServicePort[];
    readonly healthcheck: HealthcheckArgs | undefined;
    readonly waitForHealthy: boolean;
    readonly healthTimeoutSeconds: number;
    readonly startAfter: readonly pulumi.Resource[];
    readonly hostname: string | undefined;
    readonly labels: Readonly<Record<string, string>>;
    readonly resources: ContainerResources | undefined;
    readonly restart: RestartPolicy;
    readonly adopt: ServiceAdoptArgs | undefined;
    readonly secretFiles: Readonly<Record<string, SecretFile>>;
    /** The containers' settings: `container` over no-new-privileges and `logging` (no defaults with `adopt`). */
    readonly settings: ContainerSettings;
    /** Tiers, host names and host ports, for `network.claim`. */
    readonly claim: NetworkClaim;
}

/** Applies defaults and checks every argument; throws an ArgumentError before anything is created. Pure. */
export function resolveServiceArgs(name: string, args: ServiceArgs): ResolvedServiceArgs {
    const c = new ArgChecker("Service", name);
    const tiers = [...(args.tiers ?? ["app"])];
    const aliases = [...(args.aliases ?? [name])];
    c.integer(args.replicas, "replicas", 1, 100, "run at least 1 container (and at most 100), or leave it out (1)");
    const n = args.replicas ?? 1;
    const replicaIds = replicaIdsFor(Number.isInteger(n) && n >= 1 && n <= 100 ? n : 0);
    const several = replicaIds.length > 1;
    const replicaHosts = replicaIds.map((id) => (several ? [...aliases, `${aliases[0]}-${id}`] : aliases));
    const ports = (args.ports ?? []).map((p): ResolvedServicePort => ({
        internal: p.internal,
        external: p.external ?? p.internal,
        protocol: p.protocol ?? "tcp",
        ip: p.ip ?? "127.0.0.1",
    }));
    const aliasClaims: AliasClaim[] = [
        {
            argument: "aliases",
            names: aliases,
            fix: "set aliases (default: the Service's name) to host names no other container on those tiers uses",
        },
    ];
    if (several)
        aliasClaims.push({
            argument: "replicas",
            names: replicaHosts.map((h) => h[h.length - 1]),
            fix: "change the Service's first alias so its replicas' host names <alias>-r<i> are unique on those tiers",
        });
    const hostPorts: HostPortClaim[] = ports.map((p, i) => ({
        argument: `ports[${i}].external`,
        ip: p.ip,
        port: p.external,
        protocol: p.protocol,
        fix: `publish ports[${i}] on another host port or address`,
    }));
    const claim: NetworkClaim = {
        owner: `Service "${name}"`,
        tiersArgument: "tiers",
        tiers,
        aliases: aliasClaims,
        hostPorts,
    };
    if (checkNetworkArg(c, args.network)) args.network.checkClaim(c, claim);

    c.dnsLabels(aliases, "aliases", "host name", "give at least one host name, or leave it out (the Service's name)");
    if (several && aliases.length > 0)
        c.check(
            isDnsLabel(`${aliases[0]}-${replicaIds[replicaIds.length - 1]}`),
            "aliases",
            `gives the replica host name "${aliases[0]}-${replicaIds[replicaIds.length - 1]}", not a DNS label`,
            "use a shorter first alias",
        );
    c.check(
        args.image !== undefined && args.image !== null && args.image !== "",
        "image",
        "is empty",
        'pass an image reference, e.g. "redis:7" or ServiceImage.ref',
    );
    checkEnvNames(c, "env", args.env, {});
    checkPorts(c, ports, several);
    const volumes = checkVolumes(c, args.volumes ?? []);
    const waitForHealthy =
        args.waitForHealthy ?? (args.healthcheck !== undefined && args.healthcheck.test[0] !== "NONE");
    c.check(
        !(waitForHealthy && args.healthcheck === undefined),
        "waitForHealthy",
        "is true without a healthcheck, so creation would wait for a health status that never comes",
        "give a healthcheck, or leave waitForHealthy out",
    );
    checkHealthcheck(c, "healthcheck", args.healthcheck, waitForHealthy);
    c.integer(
        args.healthTimeoutSeconds,
        "healthTimeoutSeconds",
        1,
        3600,
        "set healthTimeoutSeconds to a whole number of seconds from 1 to 3600, or leave it out (180)",
    );
    if (args.hostname !== undefined)
        c.check(
            isDnsLabel(`${args.hostname}${several ? `-${replicaIds[replicaIds.length - 1]}` : ""}`),
            "hostname",
            `is "${args.hostname}", not a DNS label${several ? " (with its -r<i>)" : ""}`,
            "use lower-case letters, digits and inner hyphens",
        );
    checkResources(c, "resources", args.resources);
    checkLogging(c, "logging", args.logging);
    checkPassThrough(c, "container", args.container, SERVICE_MANAGED);
    if (args.adopt !== undefined) {
        c.check(
            !several,
            "adopt",
            `takes over one container, but replicas is ${n}`,
            "adopt with replicas: 1, then scale in a later update",
        );
        c.check(
            typeof args.adopt.container === "string" && args.adopt.container !== "",
            "adopt.container",
            "is empty",
            "give the Pulumi name of the container being taken over",
        );
    }
    checkSecretFiles(c, "secretFiles", args.secretFiles ?? {}, Object.keys(args.env ?? {}), {
        argument: "container.readOnly",
        set: args.container?.readOnly === true,
    });
    c.throwIfAny();

    const logicalNames = replicaIds.map((id) => `${name}-${id}`);
    const dockerNames = logicalNames.map((l) => dockerName(args.adopt ? args.adopt.container : l));
    return {
        network: args.network,
        tiers,
        aliases,
        image: args.image,
        replicaIds,
        replicaHosts,
        logicalNames,
        dockerNames,
        command: args.command,
        env: args.env ?? {},
        volumes,
        ports,
        healthcheck: args.healthcheck,
        waitForHealthy,
        healthTimeoutSeconds: args.healthTimeoutSeconds ?? 180,
        startAfter: args.startAfter ?? [],
        hostname: args.hostname,
        labels: args.labels ?? {},
        resources: args.resources,
        restart: args.restart ?? "unless-stopped",
        adopt: args.adopt,
        secretFiles: args.secretFiles ?? {},
        settings: containerSettings(args.logging, args.container, {}, args.adopt === undefined),
        claim,
    };
}

/** Checks published ports: valid numbers, protocol and address, none twice, none on a replicated Service. */
function checkPorts(c: ArgChecker, ports: readonly ResolvedServicePort[], several: boolean): void {
    c.check(
        !(several && ports.length > 0),
        "ports",
        "are published by a Service of several replicas, but a host port belongs to one container",
        "set replicas: 1, or put the replicas behind a load balancer",
    );
    ports.forEach((p, i) => {
        c.port(p.internal, `ports[${i}].internal`);
        c.port(p.external, `ports[${i}].external`);
        c.check(
            p.protocol === "tcp" || p.protocol === "udp",
            `ports[${i}].protocol`,
            `is ${JSON.stringify(p.protocol)}`,
            'use "tcp" or "udp", or leave it out ("tcp")',
        );
        c.check(
            typeof p.ip === "string" && isIP(p.ip) !== 0,
            `ports[${i}].ip`,
            `is "${p.ip}", not a host address`,
            'use an IP address such as "127.0.0.1" (or "0.0.0.0" for every address), or leave it out ("127.0.0.1")',
        );
        const first = ports.findIndex(
            (q) => q.external === p.external && q.protocol === p.protocol && (q.ip === p.ip || anyAddress(q.ip, p.ip)),
        );
        c.check(
            first === i,
            `ports[${i}].external`,
            `is ${p.external}/${p.protocol}, already published by ports[${first}]`,
            "publish each host port once",
        );
    });
}

function anyAddress(a: string, b: string): boolean {
    return [a, b].some((x) => x === "0.0.0.0" || x === "::");
}

/** Checks the mounts; returns them resolved. */
function checkVolumes(c: ArgChecker, volumes: readonly ServiceVolume[]): ResolvedServiceVolume[] {
    const out: ResolvedServiceVolume[] = [];
    volumes.forEach((v, i) => {
        const arg = `volumes[${i}]`;
        const given = [v.name, v.volume, v.hostPath].filter((x) => x !== undefined).length;
        c.check(
            given === 1,
            arg,
            given === 0 ? "names no source" : "names more than one source",
            "set exactly one of name (a volume the Service creates), volume (an existing one) or hostPath",
        );
        c.check(
            typeof v.containerPath === "string" && v.containerPath.startsWith("/"),
            `${arg}.containerPath`,
            `is ${JSON.stringify(v.containerPath)}, not an absolute path`,
            'use an absolute path in the container, e.g. "/data"',
        );
        const samePath = volumes.findIndex((w) => w.containerPath === v.containerPath);
        c.check(
            samePath === i,
            `${arg}.containerPath`,
            `is "${v.containerPath}", already mounted by volumes[${samePath}]`,
            "mount each container path once",
        );
        if (v.name !== undefined) {
            c.check(
                isDnsLabel(v.name),
                `${arg}.name`,
                `is "${v.name}", not a DNS label`,
                "use lower-case letters, digits and inner hyphens",
            );
            const sameName = volumes.findIndex((w) => w.name === v.name);
            c.check(
                sameName === i,
                `${arg}.name`,
                `is "${v.name}" as volumes[${sameName}] is`,
                "name each volume once",
            );
        }
        if (v.hostPath !== undefined)
            c.check(
                v.hostPath.startsWith("/"),
                `${arg}.hostPath`,
                `is "${v.hostPath}", not an absolute path`,
                "use an absolute directory on the Docker host",
            );
        if (v.volume !== undefined)
            c.check(
                v.volume instanceof docker.Volume || (typeof v.volume === "string" && v.volume !== ""),
                `${arg}.volume`,
                "is neither a docker.Volume nor a volume name",
                "pass a docker.Volume or the Docker name of an existing volume",
            );
        const source: ResolvedServiceVolume["source"] =
            v.name !== undefined
                ? { kind: "created", name: v.name, retainOnDelete: v.retainOnDelete ?? true }
                : v.volume !== undefined
                  ? { kind: "volume", volume: v.volume }
                  : { kind: "hostPath", hostPath: v.hostPath ?? "" };
        out.push({ source, containerPath: v.containerPath, readOnly: v.readOnly ?? false });
    });
    return out;
}

/**
 * One container or N replicas of any image on the cluster's tiers.
 */
export class Service extends pulumi.ComponentResource {
    /** Replica ids, in order (["r0"] for one container). */
    public readonly replicaIds: readonly string[];
    /** Replica id → container. */
    public readonly containers: Readonly<Record<string, docker.Container>>;
    /** Replica id → its health gate (undefined when waitForHealthy is false). */
    public readonly healthGates: Readonly<Record<string, ContainerHealthGate | undefined>>;
    /** Docker names of the containers, in replica order. */
    public readonly containerNames: pulumi.Output<string[]>;
    /** Host names every container answers to on the tiers (Docker DNS round-robins over the replicas). */
    public readonly hosts: readonly string[];
    /** The first of `hosts`: what other containers connect to. */
    public readonly host: string;
    /** Per replica id, the host names that container answers to. */
    public readonly replicaHosts: Readonly<Record<string, readonly string[]>>;
    /** Tiers the containers are on. */
    public readonly tiers: readonly string[];
    /** Published ports, defaults applied. */
    public readonly ports: readonly ResolvedServicePort[];
    /** Volumes the Service created, by their `name`. */
    public readonly volumes: Readonly<Record<string, docker.Volume>>;
    /** The containers' ids, known once every container is created (and healthy, with waitForHealthy). */
    public readonly readyIds: pulumi.Output<string[]>;

    constructor(name: string, args: ServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const r = resolveServiceArgs(name, args);
        super("dockercluster:service:Service", name, {}, opts);
        r.network.claim(r.claim);
        // A child that was a hand-made resource at the stack's root keeps its identity through an alias.
        const adopted = (oldName: string): pulumi.CustomResourceOptions =>
            r.adopt ? { aliases: [{ name: oldName, parent: pulumi.rootStackResource }] } : {};

        const image =
            typeof r.image === "string"
                ? new docker.RemoteImage(
                      `${name}-image`,
                      { name: r.image, keepLocally: true },
                      { parent: this, ...(r.adopt ? adopted(`${r.adopt.container}-image`) : {}) },
                  ).imageId
                : r.image;

        const volumes: Record<string, docker.Volume> = {};
        const mounts: docker.types.input.ContainerVolume[] = r.volumes.map((v) => {
            const common = { containerPath: v.containerPath, readOnly: v.readOnly };
            switch (v.source.kind) {
                case "created": {
                    const logical = `${name}-vol-${v.source.name}`;
                    const vol = new docker.Volume(
                        logical,
                        {
                            name: dockerName(logical),
                            labels: labelList(componentLabels(name, `volume:${v.source.name}`)),
                        },
                        { parent: this, retainOnDelete: v.source.retainOnDelete },
                    );
                    volumes[v.source.name] = vol;
                    return { ...common, volumeName: vol.name };
                }
                case "volume":
                    return {
                        ...common,
                        volumeName: typeof v.source.volume === "string" ? v.source.volume : v.source.volume.name,
                    };
                case "hostPath":
                    return { ...common, hostPath: v.source.hostPath };
            }
        });

        const envs = envList({ ...r.env, ...secretFileEnv(r.secretFiles) });
        const uploads = secretFileUploads(r.secretFiles);
        const containers: Record<string, docker.Container> = {};
        const gates: Record<string, ContainerHealthGate | undefined> = {};
        const replicaHosts: Record<string, readonly string[]> = {};
        r.replicaIds.forEach((id, i) => {
            const logical = r.logicalNames[i];
            replicaHosts[id] = r.replicaHosts[i];
            const container = new docker.Container(
                logical,
                {
                    ...containerSettingsInputs(r.settings),
                    name: r.dockerNames[i],
                    image,
                    ...(r.command ? { command: [...r.command] } : {}),
                    ...(envs ? { envs } : {}),
                    ...(uploads.length > 0 ? { uploads } : {}),
                    ...(r.hostname !== undefined
                        ? { hostname: r.replicaIds.length > 1 ? `${r.hostname}-${id}` : r.hostname }
                        : {}),
                    networksAdvanced: r.network.attach(r.tiers, r.replicaHosts[i]),
                    ...(mounts.length > 0 ? { volumes: mounts } : {}),
                    ...(r.ports.length > 0 ? { ports: r.ports.map((p) => ({ ...p })) } : {}),
                    ...(r.healthcheck ? { healthcheck: healthcheckInput(r.healthcheck) } : {}),
                    restart: r.restart,
                    labels: labelList(
                        r.adopt?.labels ?? {
                            ...r.labels,
                            ...componentLabels(name, "service"),
                            "dockercluster.instance": id,
                        },
                    ),
                    ...resourceInputs(r.resources),
                },
                // Fixed Docker names: a replacement must delete the old container first.
                {
                    parent: this,
                    deleteBeforeReplace: true,
                    dependsOn: [...r.startAfter],
                    ...(r.adopt ? adopted(r.adopt.container) : {}),
                },
            );
            containers[id] = container;
            gates[id] = r.waitForHealthy
                ? replicaHealthGate(`${logical}-healthy`, container, r.healthTimeoutSeconds, this)
                : undefined;
        });

        this.replicaIds = r.replicaIds;
        this.containers = containers;
        this.healthGates = gates;
        this.containerNames = pulumi.all(r.replicaIds.map((id) => containers[id].name));
        this.hosts = r.aliases;
        this.host = r.aliases[0];
        this.replicaHosts = replicaHosts;
        this.tiers = r.tiers;
        this.ports = r.ports;
        this.volumes = volumes;
        this.readyIds = pulumi.all(
            r.replicaIds.map((id) => pulumi.all([containers[id].id, gates[id]?.id ?? ""]).apply(([cid]) => cid)),
        );
        this.registerOutputs({
            containerNames: this.containerNames,
            hosts: this.hosts,
            ports: this.ports,
        });
    }
}

/** `KEY=value` sorted by key; an Output (secret when a value is), or undefined when there is no variable. */
function envList(env: Readonly<Record<string, pulumi.Input<string>>>): pulumi.Output<string[]> | undefined {
    const keys = Object.keys(env).sort();
    if (keys.length === 0) return undefined;
    return pulumi.all(keys.map((k) => pulumi.output(env[k]))).apply((vals) => keys.map((k, i) => `${k}=${vals[i]}`));
}
