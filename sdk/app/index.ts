/**
 * AppServerPool: N replicas of an app image (seed 000's "two or three app servers behind a load balancer").
 *
 * - Each replica `dependsOn` the database bootstrap, so the app starts only once roles, database, migrations and
 *   content exist (seed 000 steps 1–6) — no wait-for-it, no "first replica does the init" trick.
 * - Replicas get the application role's `DATABASE_URL`, never the owner password.
 * - Seed 000 steps 7–8 (locale files, app configuration): `configFiles` and `contentFiles` are written into two
 *   shared volumes by a data-only "files" container (created, never started; the docker provider uploads files
 *   into its volume mounts before it would start). Each volume is named by the digest of its files, so it holds
 *   exactly the current files (see `sharedVolumeName`). Replicas mount them read-only at APP_CONFIG_DIR and
 *   CONTENT_DIR, start after the files container, and carry a label with the files' digest, so changing a file
 *   replaces the replicas and every one of them sees the new files.
 * - Rolling updates. Each replica is named `<name>-<id>-<generation>`, the generation being a digest of what the
 *   replicas are made of and known when the program runs (image revision, command, env, shared files, resources,
 *   health check, …; see `rolloutGeneration`). A change of any of them is a new generation: new replicas under new
 *   names, started `updateBatchSize` at a time, each gated on its health check (`ContainerHealthGate`); the load
 *   balancer's config then names them (reload), and the old generation, no longer in the program, is removed at
 *   the end of `pulumi up`, after the load balancer's drain. A replica that never becomes healthy fails `up` with
 *   its name and last health output, before the load balancer or the old replicas are touched.
 * - Replica ids are stable: `r0`, `r1`, … or `replicaNames`; scaling 2→3 adds `r2` only, 3→2 removes it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import {
    checkHealthcheck,
    checkResources,
    ContainerResources,
    fileUpload,
    filesDigest,
    FileUpload,
    healthcheckInput,
    HealthcheckArgs,
    httpHealthcheck,
    isSafeRelativePath,
    isSafeUrlPath,
    readTree,
    resourceInputs,
    RestartPolicy,
} from "../container";
import { createHash } from "crypto";
import { ContainerHealthGate } from "../../provider/health";
import { ADDRESS_LABEL, ServiceDiscovery } from "../discovery";
import { imageRevision } from "../image";
import { dockerName, isDnsLabel, labelList, replicaIdsFor, standardLabels } from "../naming";
import { checkAliases, checkTierNames, TieredNetwork } from "../network";
import { PostgresCluster } from "../postgres";
import { UpstreamServer } from "../loadbalancer/nginxConf";
import { ArgChecker } from "../validation";

/** Mount point of the shared configuration volume (read-only in the replicas). */
export const APP_CONFIG_DIR = "/etc/app";
/** Mount point of the shared content volume. */
export const CONTENT_DIR = "/srv/content";
/** Environment variables the pool sets itself; `env` may not override them. */
export const RESERVED_ENV = ["DATABASE_URL", "PORT", "APP_CONFIG_DIR", "CONTENT_DIR", "INSTANCE"] as const;
/** Label carrying the digest of the shared files. */
export const FILES_DIGEST_LABEL = "dockercluster.files-sha256";
/** Label carrying a replica's rollout generation. */
export const GENERATION_LABEL = "dockercluster.generation";
/** Hex digits of a rollout generation. */
export const GENERATION_LENGTH = 8;

export interface AppServerPoolArgs {
    /** The cluster's networks. */
    readonly network: TieredNetwork;
    /** Tiers every replica joins. Must include the database's tier when `database` is set. @default ["app", "db"] */
    readonly tiers?: readonly string[];
    /** Image reference, e.g. `ServiceImage.ref`. */
    readonly image: pulumi.Input<string>;
    /** Number of replicas (1–100). Ignored names-wise when `replicaNames` is set (then they must agree). @default 2 */
    readonly replicas?: number;
    /** Explicit replica ids (DNS labels), e.g. ["blue", "green"]; use to remove a replica in the middle. @default r0 … r<replicas-1> */
    readonly replicaNames?: readonly string[];
    /** Host name all replicas share on their tiers (Docker DNS round-robin), the nginx upstream and Consul service name. @default name */
    readonly serviceName?: string;
    /** Port the app listens on (`PORT`). @default 8000 */
    readonly port?: number;
    /** Database whose application URL the replicas get as `DATABASE_URL`; replicas start after its bootstrap. @default undefined (no database) */
    readonly database?: PostgresCluster;
    /**
     * Further environment variables (plain or secret). Names must match `[A-Za-z_][A-Za-z0-9_]*`, may not be
     * DATABASE_URL, PORT, APP_CONFIG_DIR, CONTENT_DIR or INSTANCE (the pool sets them), and may not start with
     * `SERVICE_` (registrator would read them as service metadata). @default {}
     */
    readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Command overriding the image's CMD. @default the image's */
    readonly command?: readonly string[];
    /** Files for APP_CONFIG_DIR: relative path → UTF-8 text. Merged over `configDirectory`. @default {} */
    readonly configFiles?: Readonly<Record<string, string>>;
    /** Directory whose files are copied into APP_CONFIG_DIR (read when the program runs). @default undefined */
    readonly configDirectory?: string;
    /** Files for CONTENT_DIR (e.g. locale/en.json): relative path → UTF-8 text. Merged over `contentDirectory`. @default {} */
    readonly contentFiles?: Readonly<Record<string, string>>;
    /** Directory whose files are copied into CONTENT_DIR. @default undefined */
    readonly contentDirectory?: string;
    /** Health check. @default GET http://127.0.0.1:<port><healthPath> via bash, curl, wget, python3 or ruby (whichever the image has) */
    readonly healthcheck?: HealthcheckArgs;
    /**
     * Path of the health endpoint (used by the default health check, the Consul check and the load balancer's
     * readiness): "/" then letters, digits and `- . _ ~ / : @ + , = & ?`. @default "/healthz"
     */
    readonly healthPath?: string;
    /**
     * A replica counts as created only once healthy; the load balancer then starts after healthy apps. Needs a
     * health check: `healthcheck: { test: ["NONE"] }` requires `waitForHealthy: false`. @default true
     */
    readonly waitForHealthy?: boolean;
    /** Register with this service discovery (registrator labels `SERVICE_<port>_NAME` / `_TAGS` / `_CHECK_HTTP`). @default undefined */
    readonly discovery?: ServiceDiscovery;
    /** Consul tags (`SERVICE_<port>_TAGS`). @default [serviceName] */
    readonly serviceTags?: readonly string[];
    /** Extra container labels. @default {} */
    readonly labels?: Readonly<Record<string, string>>;
    /** CPU and memory limits per replica. @default no limits */
    readonly resources?: ContainerResources;
    /** Restart policy. @default "unless-stopped" */
    readonly restart?: RestartPolicy;
    /** Further resources every replica starts after (e.g. a message broker). @default [] */
    readonly startAfter?: readonly pulumi.Resource[];
    /**
     * Rollouts and scale-outs: how many new replicas start at once; each further batch waits until the previous one
     * is healthy. The old generation is removed only after the whole new one serves, so a rollout briefly runs up to
     * twice the replicas (plan memory for it). 1–100. @default 1
     */
    readonly updateBatchSize?: number;
    /** How long a replica being removed gets to finish its requests after SIGTERM before it is killed. 0–600. @default 10 */
    readonly stopGraceSeconds?: number;
    /** How long a new replica may take to become healthy before `pulumi up` fails (waitForHealthy). 1–3600. @default 180 */
    readonly healthTimeoutSeconds?: number;
}

/** Arguments with defaults applied. */
export interface ResolvedPoolArgs {
    readonly tiers: string[];
    readonly replicaIds: string[];
    readonly serviceName: string;
    readonly port: number;
    readonly healthPath: string;
    readonly waitForHealthy: boolean;
    readonly serviceTags: string[];
    readonly restart: RestartPolicy;
    readonly updateBatchSize: number;
    readonly stopGraceSeconds: number;
    readonly healthTimeoutSeconds: number;
}

/** Applies defaults and validates every argument; throws an ArgumentError before anything is created. Pure. */
export function resolvePoolArgs(name: string, args: AppServerPoolArgs): ResolvedPoolArgs {
    const c = new ArgChecker("AppServerPool", name);
    const tiers = [...(args.tiers ?? ["app", "db"])];
    const serviceName = args.serviceName ?? name;
    const port = args.port ?? 8000;
    const healthPath = args.healthPath ?? "/healthz";

    c.check(
        args.network instanceof TieredNetwork,
        "network",
        "is not a TieredNetwork",
        "pass the cluster's TieredNetwork",
    );
    const net = args.network instanceof TieredNetwork ? args.network : undefined;
    if (net) checkTierNames(c, "tiers", tiers, net.tierNames);

    c.integer(args.replicas, "replicas", 1, 100, "run at least 1 replica (and at most 100)");
    if (args.replicas !== undefined && typeof args.replicas !== "number") {
        c.check(
            false,
            "replicas",
            `is ${JSON.stringify(args.replicas)}, not a number`,
            "set replicas to a whole number from 1 to 100",
        );
    }
    if (args.replicaNames !== undefined) {
        c.check(
            args.replicaNames.length >= 1,
            "replicaNames",
            "is empty",
            "list at least one replica id, or leave it out and set replicas",
        );
        for (const id of args.replicaNames) {
            c.check(
                isDnsLabel(id),
                "replicaNames",
                `contains "${id}", not a DNS label`,
                "use lower-case letters, digits and inner hyphens",
            );
        }
        const dup = args.replicaNames.find((n, i) => args.replicaNames!.indexOf(n) !== i);
        c.check(dup === undefined, "replicaNames", `lists "${dup}" twice`, "list each replica once");
        if (args.replicas !== undefined) {
            c.check(
                args.replicas === args.replicaNames.length,
                "replicas",
                `is ${args.replicas} but replicaNames lists ${args.replicaNames.length}`,
                "set only one of them, or make them agree",
            );
        }
    }
    const n = args.replicas ?? 2;
    const ids = replicaIdsFor(Number.isInteger(n) && n >= 1 && n <= 100 ? n : 0, args.replicaNames);

    c.check(
        isDnsLabel(serviceName),
        "serviceName",
        `is "${serviceName}", not a DNS label`,
        "set serviceName to lower-case letters, digits and inner hyphens",
    );
    for (const id of ids) {
        // The longest host name is a generation's: `<serviceName>-<id>-<generation>`.
        const host = `${serviceName}-${id}-${"0".repeat(GENERATION_LENGTH)}`;
        c.check(
            isDnsLabel(host),
            "replicaNames",
            `gives the host name "${host}" (with its generation), not a DNS label (at most 63 characters)`,
            "use a shorter serviceName or shorter replica ids",
        );
    }
    if (net) {
        checkAliases(
            c,
            "serviceName",
            net,
            tiers,
            [serviceName],
            "set serviceName (default: the pool's name) to a name no other container on those tiers uses",
        );
        checkAliases(
            c,
            "replicaNames",
            net,
            tiers,
            ids.map((id) => `${serviceName}-${id}`),
            "change serviceName or replicaNames so the replica host names are unique on those tiers",
        );
    }
    c.port(port, "port");
    // healthPath goes into nginx.conf, the shell health check and a registrator label: only plain path characters.
    c.check(
        isSafeUrlPath(healthPath),
        "healthPath",
        `is ${JSON.stringify(healthPath)}, not a plain URL path`,
        'use "/" followed by letters, digits and - . _ ~ / : @ + , = & ? (no spaces, quotes, ";", "$", "%", braces or backslashes)',
    );
    c.check(
        args.image !== undefined && args.image !== "",
        "image",
        "is empty",
        "pass an image reference, e.g. ServiceImage.ref",
    );

    for (const k of Object.keys(args.env ?? {})) {
        const reserved = (RESERVED_ENV as readonly string[]).includes(k);
        c.check(
            !reserved,
            `env.${k}`,
            "conflicts with a variable the pool sets",
            k === "PORT"
                ? "set the port argument instead"
                : k === "DATABASE_URL"
                  ? "pass database instead"
                  : "remove it",
        );
        c.check(
            /^[A-Za-z_][A-Za-z0-9_]*$/.test(k),
            `env.${k}`,
            "is not a valid variable name",
            "use letters, digits and underscores",
        );
        c.check(
            !k.startsWith("SERVICE_"),
            `env.${k}`,
            "would be read by registrator as service metadata",
            "use serviceTags / discovery, or rename it",
        );
    }
    for (const [arg, files] of [
        ["configFiles", args.configFiles],
        ["contentFiles", args.contentFiles],
    ] as const) {
        for (const p of Object.keys(files ?? {})) {
            c.check(
                isSafeRelativePath(p),
                `${arg}["${p}"]`,
                "is not a safe relative path",
                'use a path like "app.json" or "locale/en.json"',
            );
        }
    }

    if (args.database !== undefined) {
        c.check(
            args.database instanceof PostgresCluster,
            "database",
            "is not a PostgresCluster",
            "pass the cluster's PostgresCluster",
        );
        if (args.database instanceof PostgresCluster) {
            c.check(
                tiers.includes(args.database.tier),
                "tiers",
                `(${tiers.join(", ")}) do not include the database's tier "${args.database.tier}"`,
                `add "${args.database.tier}" to tiers so the replicas can reach ${args.database.host}:5432`,
            );
        }
    }
    if (args.discovery !== undefined) {
        c.check(
            args.discovery instanceof ServiceDiscovery,
            "discovery",
            "is not a ServiceDiscovery",
            "pass the cluster's ServiceDiscovery",
        );
        if (args.discovery instanceof ServiceDiscovery) {
            c.check(
                tiers.includes(args.discovery.tier),
                "tiers",
                `(${tiers.join(", ")}) do not include the discovery tier "${args.discovery.tier}"`,
                `add "${args.discovery.tier}" so Consul can health-check the replicas`,
            );
        }
    }
    const serviceTags = [...(args.serviceTags ?? [serviceName])];
    for (const t of serviceTags)
        c.check(/^[A-Za-z0-9_.-]+$/.test(t), "serviceTags", `contains "${t}"`, "use letters, digits, '_', '.' and '-'");
    checkHealthcheck(c, "healthcheck", args.healthcheck, args.waitForHealthy ?? true);
    checkResources(c, "resources", args.resources);
    c.integer(
        args.updateBatchSize,
        "updateBatchSize",
        1,
        100,
        "set updateBatchSize to a whole number from 1 to 100, or leave it out (1)",
    );
    c.integer(
        args.stopGraceSeconds,
        "stopGraceSeconds",
        0,
        600,
        "set stopGraceSeconds to a whole number of seconds from 0 to 600, or leave it out (10)",
    );
    c.integer(
        args.healthTimeoutSeconds,
        "healthTimeoutSeconds",
        1,
        3600,
        "set healthTimeoutSeconds to a whole number of seconds from 1 to 3600, or leave it out (180)",
    );
    c.throwIfAny();
    return {
        tiers,
        replicaIds: ids,
        serviceName,
        port,
        healthPath,
        waitForHealthy: args.waitForHealthy ?? true,
        serviceTags,
        restart: args.restart ?? "unless-stopped",
        updateBatchSize: args.updateBatchSize ?? 1,
        stopGraceSeconds: args.stopGraceSeconds ?? 10,
        healthTimeoutSeconds: args.healthTimeoutSeconds ?? 180,
    };
}

/**
 * The rollout generation of a pool: the first GENERATION_LENGTH hex digits of a sha256 over what its replicas
 * are made of, as far as it is known when the program runs. Values known only later (an image given as a bare
 * Output, a secret env value) enter by name only: their change replaces the replicas in place instead (a restart).
 * Pure.
 */
export function rolloutGeneration(spec: {
    image: string | undefined;
    command: readonly string[] | undefined;
    env: Readonly<Record<string, pulumi.Input<string>>>;
    filesDigest: string;
    [k: string]: unknown;
}): string {
    const env = Object.keys(spec.env)
        .sort()
        .map((k) => [k, typeof spec.env[k] === "string" ? spec.env[k] : "<known at deployment>"]);
    const canonical = JSON.stringify(
        { ...spec, image: spec.image ?? "<known at deployment>", env },
        (_k, v: unknown) =>
            v && typeof v === "object" && !Array.isArray(v)
                ? Object.fromEntries(
                      Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
                  )
                : v,
    );
    return createHash("sha256").update(canonical).digest("hex").slice(0, GENERATION_LENGTH);
}

/** The files for one shared volume: directory files overlaid by inline files, as uploads under `mount`. */
export function sharedFiles(
    mount: string,
    directory: string | undefined,
    inline: Readonly<Record<string, string>> | undefined,
    what: string,
): { uploads: FileUpload[]; files: Record<string, Buffer> } {
    const files: Record<string, Buffer> = { ...(directory ? readTree(directory, what) : {}) };
    for (const [p, text] of Object.entries(inline ?? {})) files[p] = Buffer.from(text, "utf8");
    const uploads = Object.keys(files)
        .sort()
        .map((p) => fileUpload(`${mount}/${p}`, files[p]));
    return { uploads, files };
}

/**
 * Docker name of a shared-files volume: `<logicalName>-<digest of its files>`, scoped to project and stack.
 *
 * Why a new volume per file set: the docker provider can only add or overwrite files in a volume (uploads into a
 * created container), never remove one, and emptying a volume would mean running a shell in the app's image. A
 * volume named by its files' digest holds exactly the current files: a changed (or emptied) set gets a fresh
 * volume, the files container (replaced: new uploads) fills it, the replicas (replaced: new mount, new digest
 * label) mount it, and Pulumi deletes the old volume at the end, once nothing uses it (create-before-delete).
 * Only this pool's files live in these volumes (replicas mount them read-only), so nothing of the user's is lost.
 */
export function sharedVolumeName(logicalName: string, files: Readonly<Record<string, Buffer>>): string {
    return dockerName(`${logicalName}-${filesDigest(files).slice(0, 12)}`);
}

/** The registrator labels of one replica (seed 003's SERVICE_<port>_NAME / _TAGS, plus a Consul HTTP check). */
export function discoveryLabels(
    serviceName: string,
    port: number,
    tags: readonly string[],
    healthPath: string,
    address: string,
): Record<string, string> {
    return {
        [`SERVICE_${port}_NAME`]: serviceName,
        [`SERVICE_${port}_TAGS`]: tags.join(","),
        [`SERVICE_${port}_CHECK_HTTP`]: healthPath,
        [`SERVICE_${port}_CHECK_INTERVAL`]: "5s",
        [`SERVICE_${port}_CHECK_TIMEOUT`]: "3s",
        [ADDRESS_LABEL]: address,
    };
}

/**
 * N replicas of an app behind stable names, sharing config and content volumes.
 */
export class AppServerPool extends pulumi.ComponentResource {
    /** Replica ids, in order (e.g. ["r0", "r1"]). */
    public readonly replicaIds: readonly string[];
    /** Replica host names on the pool's tiers (`<serviceName>-<id>`); also each replica's INSTANCE. */
    public readonly instanceNames: readonly string[];
    /** Replica id → container. */
    public readonly containers: Readonly<Record<string, docker.Container>>;
    /** Replica id → its health gate (undefined when waitForHealthy is false). */
    public readonly healthGates: Readonly<Record<string, ContainerHealthGate | undefined>>;
    /** The current rollout generation (see `rolloutGeneration`). */
    public readonly generation: string;
    /** The replicas' container ids, known once every replica is healthy: what a load balancer waits for. */
    public readonly servingIds: pulumi.Output<string[]>;
    /** Docker names of the replica containers. */
    public readonly containerNames: pulumi.Output<string[]>;
    /** The shared host name / upstream / Consul service name. */
    public readonly serviceName: string;
    /** The app port. */
    public readonly port: number;
    /** Path the replicas answer health on (also probed end to end by a load balancer's readiness check). */
    public readonly healthPath: string;
    /** Tiers the replicas are on. */
    public readonly tiers: readonly string[];
    /** The upstream servers of the pool (the generation's host names `<serviceName>-<id>-<generation>` and port), for a load balancer. */
    public readonly upstreamServers: readonly UpstreamServer[];
    /** The shared configuration volume (named by its files' digest, see `sharedVolumeName`). */
    public readonly configVolume: docker.Volume;
    /** The shared content volume (named by its files' digest). */
    public readonly contentVolume: docker.Volume;
    /** The data-only container that puts the shared files into the volumes (undefined when there are none). */
    public readonly filesContainer: docker.Container | undefined;
    /** Digest of the shared files. */
    public readonly filesDigest: string;
    /** The discovery the replicas register with, if any. */
    public readonly discovery: ServiceDiscovery | undefined;

    constructor(name: string, args: AppServerPoolArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const r = resolvePoolArgs(name, args);
        const config = sharedFiles(
            APP_CONFIG_DIR,
            args.configDirectory,
            args.configFiles,
            `AppServerPool "${name}" configDirectory`,
        );
        const content = sharedFiles(
            CONTENT_DIR,
            args.contentDirectory,
            args.contentFiles,
            `AppServerPool "${name}" contentDirectory`,
        );
        super("dockercluster:app:AppServerPool", name, {}, opts);

        const project = pulumi.getProject();
        const stack = pulumi.getStack();
        const net = args.network;
        this.serviceName = r.serviceName;
        this.port = r.port;
        this.healthPath = r.healthPath;
        this.tiers = r.tiers;
        this.replicaIds = r.replicaIds;
        this.instanceNames = r.replicaIds.map((id) => `${r.serviceName}-${id}`);
        this.discovery = args.discovery;
        this.filesDigest = filesDigest({
            ...Object.fromEntries(Object.entries(config.files).map(([k, v]) => [`config/${k}`, v])),
            ...Object.fromEntries(Object.entries(content.files).map(([k, v]) => [`content/${k}`, v])),
        });
        const healthcheck = args.healthcheck ?? httpHealthcheck(r.port, r.healthPath);
        this.generation = rolloutGeneration({
            image: imageRevision(args.image),
            command: args.command,
            env: args.env ?? {},
            filesDigest: this.filesDigest,
            database: args.database ? args.database.host : null,
            serviceName: r.serviceName,
            port: r.port,
            tiers: r.tiers,
            healthcheck,
            healthPath: r.healthPath,
            resources: args.resources ?? null,
            restart: r.restart,
            labels: args.labels ?? {},
            discovery: args.discovery ? r.serviceTags : null,
        });
        const gen = this.generation;
        const hostOf = (id: string) => `${r.serviceName}-${id}-${gen}`;
        this.upstreamServers = r.replicaIds.map((id) => ({ host: hostOf(id), port: r.port }));
        args.network.claimAliases(
            r.tiers,
            [r.serviceName, ...this.instanceNames, ...r.replicaIds.map(hostOf)],
            `AppServerPool "${name}"`,
        );

        // Named by their files' digest (see sharedVolumeName), so a change is a new volume created before the old
        // one is deleted: no deleteBeforeReplace, which would try to remove the old volume while replicas use it.
        const sharedVolume = (role: "config" | "content", files: Record<string, Buffer>): docker.Volume =>
            new docker.Volume(
                `${name}-${role}`,
                {
                    name: sharedVolumeName(`${name}-${role}`, files),
                    labels: labelList({
                        ...standardLabels(project, stack, name, role),
                        [FILES_DIGEST_LABEL]: filesDigest(files),
                    }),
                },
                { parent: this },
            );
        this.configVolume = sharedVolume("config", config.files);
        this.contentVolume = sharedVolume("content", content.files);

        const uploads = [...config.uploads, ...content.uploads];
        // Named by the files' digest: created before the old one is deleted (a delete-before-replace would first
        // delete what depends on the old one: the replicas still serving). Its image only lends the files a
        // container (never started): a new image is no reason to write the same files again.
        this.filesContainer =
            uploads.length === 0
                ? undefined
                : new docker.Container(
                      `${name}-files`,
                      {
                          name: dockerName(`${name}-files-${this.filesDigest.slice(0, 12)}`),
                          image: args.image,
                          start: false,
                          mustRun: false,
                          restart: "no",
                          volumes: [
                              { volumeName: this.configVolume.name, containerPath: APP_CONFIG_DIR },
                              { volumeName: this.contentVolume.name, containerPath: CONTENT_DIR },
                          ],
                          uploads,
                          labels: labelList({
                              ...standardLabels(project, stack, name, "files"),
                              [FILES_DIGEST_LABEL]: this.filesDigest,
                          }),
                      },
                      { parent: this, ignoreChanges: ["image"] },
                  );

        const dependsOn: pulumi.Resource[] = [];
        if (args.database) dependsOn.push(args.database.bootstrap);
        if (this.filesContainer) dependsOn.push(this.filesContainer);
        dependsOn.push(...(args.startAfter ?? []));

        const containers: Record<string, docker.Container> = {};
        const gates: Record<string, ContainerHealthGate | undefined> = {};
        r.replicaIds.forEach((id, index) => {
            const instance = `${r.serviceName}-${id}`;
            const logical = `${name}-${id}-${gen}`;
            const plainEnv: Record<string, pulumi.Input<string>> = {
                ...(args.env ?? {}),
                PORT: String(r.port),
                APP_CONFIG_DIR,
                CONTENT_DIR,
                INSTANCE: instance,
            };
            if (args.database) plainEnv.DATABASE_URL = args.database.applicationUrl;
            const keys = Object.keys(plainEnv).sort();
            const envs = pulumi
                .all(keys.map((k) => pulumi.output(plainEnv[k])))
                .apply((vals) => keys.map((k, i) => `${k}=${vals[i]}`));

            const labels: Record<string, string> = {
                ...(args.labels ?? {}),
                ...standardLabels(project, stack, name, "replica"),
                "dockercluster.instance": instance,
                [FILES_DIGEST_LABEL]: this.filesDigest,
                [GENERATION_LABEL]: gen,
                ...(args.discovery
                    ? discoveryLabels(r.serviceName, r.port, r.serviceTags, r.healthPath, hostOf(id))
                    : {}),
            };
            // Batches: replica k starts once replica k - updateBatchSize is healthy (or started, without gates).
            const previous = index >= r.updateBatchSize ? r.replicaIds[index - r.updateBatchSize] : undefined;
            const after = previous === undefined ? [] : [gates[previous] ?? containers[previous]];
            const container = new docker.Container(
                logical,
                {
                    name: dockerName(logical),
                    image: args.image,
                    ...(args.command ? { command: [...args.command] } : {}),
                    envs: args.database ? pulumi.secret(envs) : envs,
                    networksAdvanced: net.attach(r.tiers, [r.serviceName, instance, hostOf(id)]),
                    volumes: [
                        { volumeName: this.configVolume.name, containerPath: APP_CONFIG_DIR, readOnly: true },
                        { volumeName: this.contentVolume.name, containerPath: CONTENT_DIR, readOnly: true },
                    ],
                    healthcheck: healthcheckInput(healthcheck),
                    restart: r.restart,
                    destroyGraceSeconds: r.stopGraceSeconds,
                    labels: labelList(labels),
                    ...resourceInputs(args.resources),
                },
                // A change known only at deployment (see rolloutGeneration) replaces a replica under its own name.
                { parent: this, deleteBeforeReplace: true, dependsOn: [...dependsOn, ...after] },
            );
            containers[id] = container;
            gates[id] = r.waitForHealthy
                ? new ContainerHealthGate(
                      `${logical}-healthy`,
                      { container: container.name, timeoutSeconds: r.healthTimeoutSeconds, triggers: [container.id] },
                      { parent: this, dependsOn: [container] },
                  )
                : undefined;
        });
        this.healthGates = gates;
        this.servingIds = pulumi.all(
            r.replicaIds.map((id) => pulumi.all([containers[id].id, gates[id]?.id ?? ""]).apply(([cid]) => cid)),
        );
        this.containers = containers;
        this.containerNames = pulumi.all(r.replicaIds.map((id) => containers[id].name));
        this.registerOutputs({
            containerNames: this.containerNames,
            instanceNames: this.instanceNames,
            serviceName: this.serviceName,
            port: this.port,
        });
    }
}
