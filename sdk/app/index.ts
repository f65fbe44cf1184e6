/**
 * AppServerPool: N replicas of an app image, the "two or three app servers behind a load balancer".
 *
 * - Each replica `dependsOn` the database bootstrap, so the app starts only once roles, database, migrations and
 *   content exist — no wait-for-it, no "first replica does the init" trick.
 * - Replicas get the application role's `DATABASE_URL`, never the owner password.
 * - Locale files and app configuration: `configFiles` and `contentFiles` are written into two
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
 * - Defaults and apps not written for the pool. The defaults are this project's app contract (PORT, INSTANCE,
 *   APP_CONFIG_DIR, CONTENT_DIR injected; config and content volumes even when empty; the `/healthz` check and
 *   the wait for it; 2 replicas). They stay the default because changing any of them would change every existing
 *   stack on upgrade (new env or mounts replace the replicas); `appContract: false` opts into general-purpose
 *   defaults instead (see its doc). New arguments (`volumes`, `ports`, `appContract: false`) enter the rollout
 *   generation only when used. The container settings (`container`, `logging` and their defaults: bounded logs,
 *   no-new-privileges) always do, so adding those defaults rolled existing pools once (issue 16).
 * - `ports`: a host port is bound by one container, so a pool publishing one runs 1 replica, and its replica is
 *   named without the generation and replaced in place (delete, then create): old and new cannot run side by side.
 */
import { createHash } from "crypto";
import { isIP } from "net";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import {
    checkHealthcheck,
    checkLogging,
    checkPassThrough,
    checkResources,
    ContainerPassThrough,
    ContainerResources,
    ContainerSettings,
    containerSettings,
    containerSettingsInputs,
    filesDigest,
    healthcheckInput,
    HealthcheckArgs,
    httpHealthcheck,
    isSafeRelativePath,
    isSafeUrlPath,
    LoggingArgs,
    overlayFiles,
    PublishedPort,
    resourceInputs,
    RestartPolicy,
    SecretFile,
    secretFileEnv,
    secretFilesSpec,
    secretFileUploads,
    checkSecretFiles,
    UpstreamServer,
    uploadsUnder,
    VolumeMount,
} from "../container";
import { ADDRESS_LABEL, ServiceDiscovery } from "../discovery";
import { imageRevision } from "../image";
import { componentLabels, dockerName, isDnsLabel, labelList, replicaIdsFor } from "../naming";
import { AliasClaim, checkNetworkArg, HostPortClaim, NetworkClaim, TieredNetwork } from "../network";
import { PostgresCluster } from "../postgres";
import { ArgChecker } from "../validation";
import { ContainerHealthGate, replicaHealthGate } from "./healthGate";
import { buildSwarmPool, checkSwarmPoolArgs, checkSwarmPoolFiles } from "./swarm";

export {
    ContainerHealthGate,
    containerHealthGateProvider,
    replicaHealthGate,
    type ContainerHealthGateArgs,
} from "./healthGate";

/** Mount point of the shared configuration volume (read-only in the replicas). */
export const APP_CONFIG_DIR = "/etc/app";
/** Mount point of the shared content volume. */
export const CONTENT_DIR = "/srv/content";
/** The database URL's secret file name with `databaseUrlAs: "file"`. */
const DATABASE_URL_FILE_NAME = "database-url";
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
    /**
     * Number of replicas (1–100). Ignored names-wise when `replicaNames` is set (then they must agree).
     * @default 2 (1 with `appContract: false`: a first try of an app not written for the pool)
     */
    readonly replicas?: number;
    /** Explicit replica ids (DNS labels), e.g. ["blue", "green"]; use to remove a replica in the middle. @default r0 … r<replicas-1> */
    readonly replicaNames?: readonly string[];
    /** Host name all replicas share on their tiers (Docker DNS round-robin), the nginx upstream and Consul service name. @default name */
    readonly serviceName?: string;
    /** Port the app listens on (the load balancer's upstream port; also `PORT` under the app contract). @default 8000 */
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
    /**
     * Files for APP_CONFIG_DIR: relative path → UTF-8 text. Merged over `configDirectory`. On a swarm network each
     * file is a swarm config (1 byte to just under 1000 KiB). @default {}
     */
    readonly configFiles?: Readonly<Record<string, string>>;
    /** Directory whose files are copied into APP_CONFIG_DIR (read when the program runs). @default undefined */
    readonly configDirectory?: string;
    /** Files for CONTENT_DIR (e.g. locale/en.json): relative path → UTF-8 text. Merged over `contentDirectory`. @default {} */
    readonly contentFiles?: Readonly<Record<string, string>>;
    /** Directory whose files are copied into CONTENT_DIR. @default undefined */
    readonly contentDirectory?: string;
    /**
     * Health check. @default GET http://127.0.0.1:<port><healthPath> via bash, curl, wget, python3 or ruby
     * (whichever the image has); with `appContract: false` only when `healthPath` is given, else none (the image's
     * own HEALTHCHECK, if it has one)
     */
    readonly healthcheck?: HealthcheckArgs;
    /**
     * Path of the health endpoint (used by the default health check, the Consul check and the load balancer's
     * readiness): "/" then letters, digits and `- . _ ~ / : @ + , = & ?`. @default "/healthz" ("/" with
     * `appContract: false`, for the load balancer's readiness and Consul only: no container health check)
     */
    readonly healthPath?: string;
    /**
     * A replica counts as created only once healthy; the load balancer then starts after healthy apps. Needs a
     * health check: `healthcheck: { test: ["NONE"] }` requires `waitForHealthy: false`. @default true (with
     * `appContract: false`: true only when `healthcheck` or `healthPath` is given)
     */
    readonly waitForHealthy?: boolean;
    /** Register with this service discovery (registrator labels `SERVICE_<port>_NAME` / `_TAGS` / `_CHECK_HTTP`). @default undefined */
    readonly discovery?: ServiceDiscovery;
    /** Consul tags (`SERVICE_<port>_TAGS`). @default [serviceName] */
    readonly serviceTags?: readonly string[];
    /** Extra container labels. @default {} */
    readonly labels?: Readonly<Record<string, string>>;
    /** CPU and memory limits per replica (on a swarm network `memoryMb` only, the task's limit). @default no limits */
    readonly resources?: ContainerResources;
    /**
     * Restart policy. On a swarm network the task's restart condition: "no" is "none", "on-failure" itself, "always"
     * and "unless-stopped" are "any" (after swarm's 5 s delay). @default "unless-stopped"
     */
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
    /**
     * Whether the app follows this pool's own app contract. `true` (today's behaviour, kept so existing stacks do
     * not change): `PORT`, `INSTANCE`, `APP_CONFIG_DIR` and `CONTENT_DIR` are injected, the config and content
     * volumes are created and mounted even when empty, every replica gets the `/healthz` health check and `up`
     * waits for it (`healthTimeoutSeconds`), 2 replicas. `false`, for any other image: only `DATABASE_URL` (with
     * `database`) and `env` are set (so `env` may set PORT and the rest itself), a config or content volume only
     * when it has files, a health check and the wait only when `healthcheck` or `healthPath` is given, 1 replica.
     * Each of those can still be set explicitly. @default true
     */
    readonly appContract?: boolean;
    /**
     * Volumes and host directories mounted into every replica: `{ name, containerPath }` creates the volume
     * `<pool>-vol-<name>` (kept when removed or destroyed unless `retainOnDelete: false`, like the database's
     * data), `{ volume, containerPath }` mounts one made elsewhere (e.g. `otherPool.volumes.uploads`, to share
     * it between an app and its worker), `{ hostPath, containerPath }` a host directory. Read-write unless
     * `readOnly`. A rolling update runs old and new replicas on the same volume side by side. @default []
     */
    readonly volumes?: readonly VolumeMount[];
    /**
     * Host ports the replica publishes (TCP or UDP), claimed on the network like nginx's. A host port can be bound
     * by one container only, so it needs `replicas: 1`, and a change then restarts the replica in place (delete,
     * then create: a short outage) instead of a rolling update. @default []
     */
    readonly ports?: readonly PublishedPort[];
    /**
     * Further container settings for every replica (user, readOnly, tmpfs, securityOpts, capabilities,
     * sysctls, ulimits, init, shmSize, …). Settings the pool makes itself (image, envs, volumes, ports,
     * healthcheck, labels, restart, logs, …) are refused, naming the argument to use. `securityOpts` adds to
     * `no-new-privileges:true` (a `no-new-privileges:false` entry replaces it). Part of the rollout generation: a
     * change rolls the replicas. @default {}
     */
    readonly container?: ContainerPassThrough;
    /**
     * Secrets handed to every replica as files `/run/secrets/<key>` (never as environment variables, which the
     * Docker API shows), each optionally announced by a `*_FILE` variable holding its path, e.g.
     * `{ "admin-password": { value: password.result, env: "ADMIN_PASSWORD_FILE" } }`. A changed value restarts the
     * replicas in place, as a changed secret `env` value does. Not with `container.readOnly` (Docker refuses
     * uploads into a read-only root). @default {}
     */
    readonly secretFiles?: Readonly<Record<string, SecretFile>>;
    /**
     * How replicas get the database URL (with `database`): `"env"` as `DATABASE_URL`, or `"file"` as the secret file
     * `/run/secrets/database-url` with its path in `DATABASE_URL_FILE`, for images that read it so (the URL holds
     * the app role's password). @default "env"
     */
    readonly databaseUrlAs?: "env" | "file";
    /**
     * Where the replicas log (`docker logs` reads json-file, local and journald). Part of the rollout generation.
     * @default { driver: "json-file", options: { "max-size": "10m", "max-file": "3" } } (Docker's json-file alone never rotates)
     */
    readonly logging?: LoggingArgs;
}

/** AppServerPool's arguments with every default applied, the shared files read and the rollout generation. */
export interface ResolvedPoolArgs {
    /** The network's target is "swarm": one swarm service instead of containers (sdk/app/swarm.ts). */
    readonly swarm: boolean;
    readonly network: TieredNetwork;
    readonly image: pulumi.Input<string>;
    readonly tiers: string[];
    readonly replicaIds: string[];
    /** Per replica, `<serviceName>-<id>`: its host name on the tiers and its INSTANCE. */
    readonly instanceNames: string[];
    /** Per replica, `<serviceName>-<id>-<generation>`: the generation's host name (upstream, Consul address). */
    readonly generationHosts: string[];
    readonly serviceName: string;
    readonly port: number;
    readonly database: PostgresCluster | undefined;
    readonly env: Readonly<Record<string, pulumi.Input<string>>>;
    readonly command: readonly string[] | undefined;
    /** APP_CONFIG_DIR's files (relative path → bytes): `configDirectory` overlaid by `configFiles`. */
    readonly configFiles: Readonly<Record<string, Buffer>>;
    /** CONTENT_DIR's files: `contentDirectory` overlaid by `contentFiles`. */
    readonly contentFiles: Readonly<Record<string, Buffer>>;
    /** Digest of both file sets. */
    readonly filesDigest: string;
    /** Undefined: none set (the image's own, if any). */
    readonly healthcheck: HealthcheckArgs | undefined;
    readonly healthPath: string;
    readonly waitForHealthy: boolean;
    readonly appContract: boolean;
    /** Whether the config / content volumes exist and are mounted (always under the app contract). */
    readonly mountConfig: boolean;
    readonly mountContent: boolean;
    readonly volumes: readonly VolumeMount[];
    readonly ports: readonly PublishedPort[];
    readonly container: ContainerPassThrough | undefined;
    /** The secret files, the database URL's among them when `databaseUrlAs` is "file". */
    readonly secretFiles: Readonly<Record<string, SecretFile>>;
    readonly databaseUrlAs: "env" | "file";
    /** Every replica's container settings: the pass-through over no-new-privileges and `logging` (defaults applied). */
    readonly settings: ContainerSettings;
    /** Replicas keep their name across changes (replaced in place): a published host port cannot be held twice. */
    readonly inPlace: boolean;
    readonly discovery: ServiceDiscovery | undefined;
    readonly serviceTags: string[];
    readonly labels: Readonly<Record<string, string>>;
    readonly resources: ContainerResources | undefined;
    readonly restart: RestartPolicy;
    readonly startAfter: readonly pulumi.Resource[];
    readonly updateBatchSize: number;
    readonly stopGraceSeconds: number;
    readonly healthTimeoutSeconds: number;
    /** See `rolloutGeneration`. */
    readonly generation: string;
    /** The replicas' host names on their tiers, for `network.claim`. */
    readonly claim: NetworkClaim;
}

/**
 * Applies defaults and checks every argument, then reads the shared files and computes the rollout generation;
 * throws an ArgumentError before anything is created. Pure but for reading `configDirectory` and `contentDirectory`.
 */
export function resolvePoolArgs(name: string, args: AppServerPoolArgs): ResolvedPoolArgs {
    const c = new ArgChecker("AppServerPool", name);
    const tiers = [...(args.tiers ?? ["app", "db"])];
    const serviceName = args.serviceName ?? name;
    const port = args.port ?? 8000;
    const appContract = args.appContract ?? true;
    const healthPath = args.healthPath ?? (appContract ? "/healthz" : "/");
    // Under the app contract every replica has the /healthz check; otherwise only one asked for.
    const hasHealthcheck = appContract || args.healthcheck !== undefined || args.healthPath !== undefined;
    const waitForHealthy =
        args.waitForHealthy ?? (appContract || (hasHealthcheck && args.healthcheck?.test[0] !== "NONE"));
    const network = checkNetworkArg(c, args.network);
    const swarm = network && args.network.target === "swarm";
    if (swarm) checkSwarmPoolArgs(c, args as unknown as Readonly<Record<string, unknown>>);
    const replicaIds = checkReplicas(c, args.replicas, args.replicaNames, appContract ? 2 : 1);
    const ports = [...(args.ports ?? [])];
    const hostPorts = checkPorts(c, ports, replicaIds.length);
    const instanceNames = replicaIds.map((id) => `${serviceName}-${id}`);
    const serviceAlias: AliasClaim = {
        argument: "serviceName",
        names: [serviceName],
        fix: "set serviceName (default: the pool's name) to a name no other container on those tiers uses",
    };
    const replicaAliases = (names: string[]): AliasClaim => ({
        argument: "replicaNames",
        names,
        fix: "change serviceName or replicaNames so the replica host names are unique on those tiers",
    });
    const claim: NetworkClaim = {
        owner: `AppServerPool "${name}"`,
        tiersArgument: "tiers",
        tiers,
        aliases: [serviceAlias, replicaAliases(instanceNames)],
        ...(hostPorts.length > 0 ? { hostPorts } : {}),
        targets: ["host", "swarm"],
    };
    if (network) args.network.checkClaim(c, claim);

    c.check(
        isDnsLabel(serviceName),
        "serviceName",
        `is "${serviceName}", not a DNS label`,
        "set serviceName to lower-case letters, digits and inner hyphens",
    );
    for (const instance of instanceNames) {
        // The longest host name is a generation's: `<serviceName>-<id>-<generation>`.
        const host = `${instance}-${"0".repeat(GENERATION_LENGTH)}`;
        c.check(
            isDnsLabel(host),
            "replicaNames",
            `gives the host name "${host}" (with its generation), not a DNS label (at most 63 characters)`,
            "use a shorter serviceName or shorter replica ids",
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
    checkEnv(c, args.env ?? {}, appContract ? RESERVED_ENV : args.database ? ["DATABASE_URL"] : []);
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
    checkPeers(c, tiers, args.database, args.discovery);
    const serviceTags = [...(args.serviceTags ?? [serviceName])];
    for (const t of serviceTags)
        c.check(/^[A-Za-z0-9_.-]+$/.test(t), "serviceTags", `contains "${t}"`, "use letters, digits, '_', '.' and '-'");
    checkHealthcheck(c, "healthcheck", args.healthcheck, waitForHealthy);
    c.check(
        hasHealthcheck || !waitForHealthy,
        "waitForHealthy",
        "is true but the replicas have no health check to wait for (appContract: false)",
        "give healthcheck or healthPath, or leave waitForHealthy out",
    );
    c.check(
        args.appContract === undefined || typeof args.appContract === "boolean",
        "appContract",
        `is ${JSON.stringify(args.appContract)}`,
        "set appContract to true or false, or leave it out (true)",
    );
    const volumes = [...(args.volumes ?? [])];
    checkVolumes(c, volumes);
    checkPassThrough(c, "container", args.container, POOL_MANAGED);
    const databaseUrlAs = args.databaseUrlAs ?? "env";
    c.check(
        databaseUrlAs === "env" || databaseUrlAs === "file",
        "databaseUrlAs",
        `is ${JSON.stringify(args.databaseUrlAs)}`,
        'set databaseUrlAs to "env" or "file", or leave it out ("env")',
    );
    c.check(
        databaseUrlAs === "env" || args.database !== undefined,
        "databaseUrlAs",
        'is "file" but the pool has no database',
        "give database, or leave databaseUrlAs out",
    );
    const userSecretFiles = args.secretFiles ?? {};
    const dbFile = databaseUrlAs === "file" && args.database !== undefined;
    c.check(
        !(dbFile && DATABASE_URL_FILE_NAME in userSecretFiles),
        `secretFiles["${DATABASE_URL_FILE_NAME}"]`,
        'is the database URL\'s file with databaseUrlAs: "file"',
        "give this secret another file name",
    );
    checkSecretFiles(
        c,
        "secretFiles",
        userSecretFiles,
        [
            ...Object.keys(args.env ?? {}),
            ...(appContract ? RESERVED_ENV : ["DATABASE_URL"]),
            ...(dbFile ? ["DATABASE_URL_FILE"] : []),
        ],
        { argument: "container.readOnly", set: args.container?.readOnly === true },
    );
    const secretFiles: Record<string, SecretFile> = { ...userSecretFiles };
    if (dbFile && args.database)
        secretFiles[DATABASE_URL_FILE_NAME] = { value: args.database.applicationUrl, env: "DATABASE_URL_FILE" };
    checkLogging(c, "logging", args.logging);
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

    const what = `AppServerPool "${name}"`;
    const configFiles = overlayFiles(args.configDirectory, args.configFiles, `${what} configDirectory`);
    const contentFiles = overlayFiles(args.contentDirectory, args.contentFiles, `${what} contentDirectory`);
    if (swarm) {
        // Each file becomes a swarm config, whose size swarm bounds: checked once the directories are read.
        const inline = { config: args.configFiles ?? {}, content: args.contentFiles ?? {} };
        checkSwarmPoolFiles(c, { config: configFiles, content: contentFiles }, (role, p) =>
            Object.prototype.hasOwnProperty.call(inline[role], p)
                ? `${role}Files["${p}"]`
                : `${role}Directory's file "${p}"`,
        );
        c.throwIfAny();
    }
    const digest = filesDigest({
        ...Object.fromEntries(Object.entries(configFiles).map(([k, v]) => [`config/${k}`, v])),
        ...Object.fromEntries(Object.entries(contentFiles).map(([k, v]) => [`content/${k}`, v])),
    });
    const healthcheck = args.healthcheck ?? (hasHealthcheck ? httpHealthcheck(port, healthPath) : undefined);
    const restart = args.restart ?? "unless-stopped";
    const mountConfig = appContract || Object.keys(configFiles).length > 0;
    const mountContent = appContract || Object.keys(contentFiles).length > 0;
    const settings = containerSettings(args.logging, args.container);
    const generation = rolloutGeneration({
        image: imageRevision(args.image),
        command: args.command,
        env: args.env ?? {},
        filesDigest: digest,
        database: args.database ? args.database.host : null,
        serviceName,
        port,
        tiers,
        healthcheck,
        healthPath,
        resources: args.resources ?? null,
        restart,
        labels: args.labels ?? {},
        discovery: args.discovery ? serviceTags : null,
        // Only what is set, so the generation of a program not using these arguments stays what it was.
        ...(appContract ? {} : { appContract }),
        ...(volumes.length > 0 ? { volumes: volumes.map(volumeSpec) } : {}),
        ...(ports.length > 0 ? { ports } : {}),
        ...(Object.keys(secretFiles).length > 0 ? { secretFiles: secretFilesSpec(secretFiles) } : {}),
        // Always: the logging and no-new-privileges defaults (issue 16) roll existing pools once, not in place.
        container: settings,
    });
    const generationHosts = instanceNames.map((instance) => `${instance}-${generation}`);
    return {
        swarm,
        network: args.network,
        image: args.image,
        tiers,
        replicaIds,
        instanceNames,
        generationHosts,
        serviceName,
        port,
        database: args.database,
        env: args.env ?? {},
        command: args.command,
        configFiles,
        contentFiles,
        filesDigest: digest,
        healthcheck,
        healthPath,
        waitForHealthy,
        appContract,
        mountConfig,
        mountContent,
        volumes,
        ports,
        container: args.container,
        secretFiles,
        databaseUrlAs,
        settings,
        inPlace: ports.length > 0,
        discovery: args.discovery,
        serviceTags,
        labels: args.labels ?? {},
        resources: args.resources,
        restart,
        startAfter: args.startAfter ?? [],
        updateBatchSize: args.updateBatchSize ?? 1,
        stopGraceSeconds: args.stopGraceSeconds ?? 10,
        healthTimeoutSeconds: args.healthTimeoutSeconds ?? 180,
        generation,
        // The generation's host names are claimed too (unchecked: their generation is known only now).
        claim: { ...claim, aliases: [serviceAlias, replicaAliases([...instanceNames, ...generationHosts])] },
    };
}

/** Checks `replicas` and `replicaNames`; returns the replica ids (none when the count is unusable). */
function checkReplicas(
    c: ArgChecker,
    replicas: number | undefined,
    replicaNames: readonly string[] | undefined,
    defaultReplicas: number,
): string[] {
    c.integer(replicas, "replicas", 1, 100, "run at least 1 replica (and at most 100)");
    if (replicaNames !== undefined) {
        c.dnsLabels(
            replicaNames,
            "replicaNames",
            "replica",
            "list at least one replica id, or leave it out and set replicas",
        );
        if (replicas !== undefined) {
            c.check(
                replicas === replicaNames.length,
                "replicas",
                `is ${replicas} but replicaNames lists ${replicaNames.length}`,
                "set only one of them, or make them agree",
            );
        }
    }
    const n = replicas ?? defaultReplicas;
    return replicaIdsFor(Number.isInteger(n) && n >= 1 && n <= 100 ? n : 0, replicaNames);
}

/** Checks the names of `env`: no variable the pool sets (`reserved`), none registrator would read. */
function checkEnv(c: ArgChecker, env: Readonly<Record<string, unknown>>, reserved: readonly string[]): void {
    for (const k of Object.keys(env)) {
        const isReserved = reserved.includes(k);
        c.check(
            !isReserved,
            `env.${k}`,
            "conflicts with a variable the pool sets",
            k === "PORT"
                ? "set the port argument instead"
                : k === "DATABASE_URL"
                  ? "pass database instead"
                  : "remove it",
        );
        c.envName(k, `env.${k}`);
        c.check(
            !k.startsWith("SERVICE_"),
            `env.${k}`,
            "would be read by registrator as service metadata",
            "use serviceTags / discovery, or rename it",
        );
    }
}

/** The container settings a replica gets from the pool's own arguments: each with the argument to use instead. */
const POOL_MANAGED: Readonly<Record<string, string>> = {
    image: "image",
    name: "serviceName / replicaNames",
    command: "command",
    envs: "env",
    networksAdvanced: "tiers",
    networkMode: "tiers",
    volumes: "volumes",
    mounts: "volumes",
    ports: "ports",
    healthcheck: "healthcheck",
    labels: "labels",
    restart: "restart",
    uploads: "secretFiles (or configFiles / contentFiles)",
    memory: "resources",
    memorySwap: "resources",
    cpuShares: "resources",
    destroyGraceSeconds: "stopGraceSeconds",
};

/**
 * Checks `ports`; returns their host-port claims. More than one replica cannot publish one host port (Docker binds
 * it to one container): refused.
 */
function checkPorts(c: ArgChecker, ports: readonly PublishedPort[], replicas: number): HostPortClaim[] {
    const claims: HostPortClaim[] = [];
    const seen = new Set<string>();
    ports.forEach((p, i) => {
        const arg = `ports[${i}]`;
        c.port(p.internal, `${arg}.internal`);
        c.port(p.external, `${arg}.external`);
        const protocol = p.protocol ?? "tcp";
        c.check(
            protocol === "tcp" || protocol === "udp",
            `${arg}.protocol`,
            `is ${JSON.stringify(p.protocol)}`,
            'use "tcp" or "udp", or leave it out ("tcp")',
        );
        const ip = p.ip ?? "0.0.0.0";
        c.check(isIP(ip) !== 0, `${arg}.ip`, `is "${ip}", not an IP address`, 'use e.g. "127.0.0.1", or leave it out');
        const external = p.external ?? p.internal;
        const key = `${ip}/${external}/${protocol}`;
        c.check(!seen.has(key), arg, `publishes ${protocol} ${ip}:${external} twice`, "list each host port once");
        seen.add(key);
        c.check(
            replicas <= 1,
            arg,
            `publishes host port ${external}, which only one container can bind, while the pool runs ${replicas} replicas`,
            "set replicas: 1, or publish the app through a NginxLoadBalancer (hostPort) that spreads over the replicas",
        );
        // The network tracks host ports by address and number: a TCP and a UDP port of one number claim it once.
        if (!claims.some((x) => x.ip === ip && x.port === external))
            claims.push({ argument: arg, ip, port: external, fix: `pick another ${arg}.external` });
    });
    return claims;
}

/** Checks `volumes`: one source each, absolute distinct container paths, none where the pool mounts its files. */
function checkVolumes(c: ArgChecker, volumes: readonly VolumeMount[]): void {
    const paths = new Set<string>();
    const names = new Set<string>();
    volumes.forEach((v, i) => {
        const arg = `volumes[${i}]`;
        const sources = [v.name, v.volume, v.hostPath].filter((x) => x !== undefined).length;
        c.check(sources === 1, arg, `names ${sources} sources`, "give exactly one of name, volume or hostPath");
        if (v.name !== undefined) {
            c.check(
                isDnsLabel(v.name),
                `${arg}.name`,
                `is "${v.name}", not a DNS label`,
                "use lower-case letters, digits and inner hyphens",
            );
            c.check(!names.has(v.name), `${arg}.name`, `"${v.name}" is listed twice`, "give each volume its own name");
            names.add(v.name);
        }
        if (v.volume !== undefined)
            c.check(
                v.volume instanceof docker.Volume || (typeof v.volume === "string" && v.volume !== ""),
                `${arg}.volume`,
                "is neither a docker.Volume nor a volume name",
                "pass a docker.Volume (e.g. another pool's volumes[name]) or a Docker volume name",
            );
        if (v.hostPath !== undefined)
            c.check(
                typeof v.hostPath === "string" && v.hostPath.startsWith("/"),
                `${arg}.hostPath`,
                `is ${JSON.stringify(v.hostPath)}, not an absolute path`,
                "give an absolute directory on the Docker host",
            );
        c.check(
            v.retainOnDelete === undefined || v.name !== undefined,
            `${arg}.retainOnDelete`,
            "is set on a volume the pool does not create",
            "set it only with name (the pool's own volume)",
        );
        const target = v.containerPath;
        const ok = c.check(
            typeof target === "string" && target.startsWith("/") && isSafeRelativePath(target.slice(1)),
            `${arg}.containerPath`,
            `is ${JSON.stringify(target)}, not an absolute path`,
            'give an absolute container path like "/data" (no "." or ".." segments)',
        );
        if (!ok) return;
        c.check(
            target !== APP_CONFIG_DIR && target !== CONTENT_DIR,
            `${arg}.containerPath`,
            `is ${target}, where the pool mounts its ${target === APP_CONFIG_DIR ? "configFiles" : "contentFiles"}`,
            "mount the volume elsewhere",
        );
        c.check(!paths.has(target), `${arg}.containerPath`, `${target} is mounted twice`, "mount each path once");
        paths.add(target);
    });
}

/** A volume mount as it enters the rollout generation (a volume resource by kind: its name is known later). */
function volumeSpec(v: VolumeMount): Record<string, unknown> {
    const source =
        v.name !== undefined
            ? { name: v.name }
            : v.hostPath !== undefined
              ? { hostPath: v.hostPath }
              : { volume: typeof v.volume === "string" ? v.volume : "<docker.Volume>" };
    return { ...source, containerPath: v.containerPath, readOnly: v.readOnly ?? false };
}

/** Checks the database and discovery the replicas use: the right kind, and on one of the replicas' tiers. */
function checkPeers(
    c: ArgChecker,
    tiers: readonly string[],
    database: PostgresCluster | undefined,
    discovery: ServiceDiscovery | undefined,
): void {
    if (database !== undefined) {
        c.check(
            database instanceof PostgresCluster,
            "database",
            "is not a PostgresCluster",
            "pass the cluster's PostgresCluster",
        );
        if (database instanceof PostgresCluster) {
            c.check(
                tiers.includes(database.tier),
                "tiers",
                `(${tiers.join(", ")}) do not include the database's tier "${database.tier}"`,
                `add "${database.tier}" to tiers so the replicas can reach ${database.host}:5432`,
            );
        }
    }
    if (discovery !== undefined) {
        c.check(
            discovery instanceof ServiceDiscovery,
            "discovery",
            "is not a ServiceDiscovery",
            "pass the cluster's ServiceDiscovery",
        );
        if (discovery instanceof ServiceDiscovery) {
            c.check(
                tiers.includes(discovery.tier),
                "tiers",
                `(${tiers.join(", ")}) do not include the discovery tier "${discovery.tier}"`,
                `add "${discovery.tier}" so Consul can health-check the replicas`,
            );
        }
    }
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

/** The registrator labels of one replica (SERVICE_<port>_NAME / _TAGS, plus a Consul HTTP check). @internal */
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
 * N replicas of an app behind stable names, sharing config and content volumes, optionally volumes of their own
 * (`volumes`), published ports (`ports`) and further container settings (`container`).
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
    /**
     * The shared configuration volume (named by its files' digest, see `sharedVolumeName`); undefined with
     * `appContract: false` and no config files.
     */
    public readonly configVolume: docker.Volume | undefined;
    /** The shared content volume (named by its files' digest); undefined with `appContract: false` and no content files. */
    public readonly contentVolume: docker.Volume | undefined;
    /** The volumes this pool created (`volumes` entries with `name`), by name: pass one to another pool to share it. */
    public readonly volumes: Readonly<Record<string, docker.Volume>>;
    /** The data-only container that puts the shared files into the volumes (undefined when there are none). */
    public readonly filesContainer: docker.Container | undefined;
    /** Digest of the shared files. */
    public readonly filesDigest: string;
    /** The discovery the replicas register with, if any. */
    public readonly discovery: ServiceDiscovery | undefined;
    /** With a swarm network: the one service running the replicas (undefined on a host network). */
    public readonly service: docker.Service | undefined;
    /** With a swarm network: secret file name → its swarm secret. @default {} on a host network */
    public readonly swarmSecrets: Readonly<Record<string, docker.Secret>>;
    /**
     * With a swarm network: `config/<path>` (a file of APP_CONFIG_DIR) or `content/<path>` (of CONTENT_DIR) → the
     * swarm config holding it. @default {} on a host network
     */
    public readonly swarmConfigs: Readonly<Record<string, docker.ServiceConfig>>;

    constructor(name: string, args: AppServerPoolArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const r = resolvePoolArgs(name, args);
        super("dockercluster:app:AppServerPool", name, {}, opts);
        r.network.claim(r.claim);

        this.serviceName = r.serviceName;
        this.port = r.port;
        this.healthPath = r.healthPath;
        this.tiers = r.tiers;
        this.replicaIds = r.replicaIds;
        this.instanceNames = r.instanceNames;
        this.discovery = r.discovery;
        this.filesDigest = r.filesDigest;
        this.generation = r.generation;
        this.upstreamServers = r.generationHosts.map((host) => ({ host, port: r.port }));

        if (r.swarm) {
            const dependsOn: pulumi.Resource[] = [...(r.database ? [r.database.bootstrap] : []), ...r.startAfter];
            const built = buildSwarmPool(
                name,
                {
                    ...r,
                    replicas: r.replicaIds.length,
                    configDir: APP_CONFIG_DIR,
                    contentDir: CONTENT_DIR,
                    dependsOn,
                },
                this,
            );
            this.service = built.service;
            this.swarmSecrets = built.secrets;
            this.swarmConfigs = built.configs;
            // The service's name (DNS round robin over its healthy tasks) is the one upstream.
            this.upstreamServers = [{ host: r.serviceName, port: r.port }];
            this.configVolume = undefined;
            this.contentVolume = undefined;
            this.volumes = {};
            this.filesContainer = undefined;
            this.containers = {};
            this.healthGates = {};
            // Known once the service has converged (with waitForHealthy): what a load balancer waits for.
            this.servingIds = built.service.id.apply((id) => [id]);
            this.containerNames = pulumi.output([]);
            this.registerOutputs({
                serviceName: this.serviceName,
                port: this.port,
                swarmService: built.service.name,
            });
            return;
        }
        this.service = undefined;
        this.swarmSecrets = {};
        this.swarmConfigs = {};

        // Named by their files' digest (see sharedVolumeName), so a change is a new volume created before the old
        // one is deleted: no deleteBeforeReplace, which would try to remove the old volume while replicas use it.
        const sharedVolume = (role: "config" | "content", files: Readonly<Record<string, Buffer>>): docker.Volume =>
            new docker.Volume(
                `${name}-${role}`,
                {
                    name: sharedVolumeName(`${name}-${role}`, files),
                    labels: labelList({ ...componentLabels(name, role), [FILES_DIGEST_LABEL]: filesDigest(files) }),
                },
                { parent: this },
            );
        this.configVolume = r.mountConfig ? sharedVolume("config", r.configFiles) : undefined;
        this.contentVolume = r.mountContent ? sharedVolume("content", r.contentFiles) : undefined;
        const filesMounts = (readOnly: boolean): docker.types.input.ContainerVolume[] => [
            ...(this.configVolume
                ? [
                      {
                          volumeName: this.configVolume.name,
                          containerPath: APP_CONFIG_DIR,
                          ...(readOnly ? { readOnly } : {}),
                      },
                  ]
                : []),
            ...(this.contentVolume
                ? [
                      {
                          volumeName: this.contentVolume.name,
                          containerPath: CONTENT_DIR,
                          ...(readOnly ? { readOnly } : {}),
                      },
                  ]
                : []),
        ];

        const volumes: Record<string, docker.Volume> = {};
        const mounts: docker.types.input.ContainerVolume[] = r.volumes.map((v) => {
            const readOnly = v.readOnly ?? false;
            if (v.hostPath !== undefined) return { hostPath: v.hostPath, containerPath: v.containerPath, readOnly };
            let volumeName: pulumi.Input<string>;
            if (v.name !== undefined) {
                const logical = `${name}-vol-${v.name}`;
                // Kept by default, like the database's data: uploads or plugins must survive a mistaken removal.
                volumes[v.name] = new docker.Volume(
                    logical,
                    { name: dockerName(logical), labels: labelList(componentLabels(name, `vol-${v.name}`)) },
                    { parent: this, retainOnDelete: v.retainOnDelete ?? true },
                );
                volumeName = volumes[v.name].name;
            } else volumeName = typeof v.volume === "string" ? v.volume : (v.volume as docker.Volume).name;
            return { volumeName, containerPath: v.containerPath, readOnly };
        });
        this.volumes = volumes;

        const uploads = [...uploadsUnder(APP_CONFIG_DIR, r.configFiles), ...uploadsUnder(CONTENT_DIR, r.contentFiles)];
        // Named by the files' digest: created before the old one is deleted (a delete-before-replace would first
        // delete what depends on the old one: the replicas still serving). Its image only lends the files a
        // container (never started): a new image is no reason to write the same files again.
        this.filesContainer =
            uploads.length === 0
                ? undefined
                : new docker.Container(
                      `${name}-files`,
                      {
                          name: dockerName(`${name}-files-${r.filesDigest.slice(0, 12)}`),
                          image: r.image,
                          start: false,
                          mustRun: false,
                          restart: "no",
                          volumes: filesMounts(false),
                          uploads,
                          labels: labelList({ ...componentLabels(name, "files"), [FILES_DIGEST_LABEL]: r.filesDigest }),
                      },
                      { parent: this, ignoreChanges: ["image"] },
                  );

        const dependsOn: pulumi.Resource[] = [];
        if (r.database) dependsOn.push(r.database.bootstrap);
        if (this.filesContainer) dependsOn.push(this.filesContainer);
        dependsOn.push(...r.startAfter);

        const containers: Record<string, docker.Container> = {};
        const gates: Record<string, ContainerHealthGate | undefined> = {};
        r.replicaIds.forEach((id, index) => {
            const instance = r.instanceNames[index];
            const host = r.generationHosts[index];
            // In place (ports): one name across changes, so the old replica is gone before the new one binds the port.
            const logical = r.inPlace ? `${name}-${id}` : `${name}-${id}-${r.generation}`;
            // Batches: replica k starts once replica k - updateBatchSize is healthy (or started, without gates).
            const previous = index >= r.updateBatchSize ? r.replicaIds[index - r.updateBatchSize] : undefined;
            const after = previous === undefined ? [] : [gates[previous] ?? containers[previous]];
            const container = new docker.Container(
                logical,
                {
                    ...containerSettingsInputs(r.settings),
                    name: dockerName(logical),
                    image: r.image,
                    ...(r.command ? { command: [...r.command] } : {}),
                    envs: replicaEnvs(r, instance),
                    ...(Object.keys(r.secretFiles).length > 0 ? { uploads: secretFileUploads(r.secretFiles) } : {}),
                    networksAdvanced: r.network.attach(r.tiers, [r.serviceName, instance, host]),
                    volumes: [...filesMounts(true), ...mounts],
                    ...(r.ports.length > 0
                        ? {
                              ports: r.ports.map((p) => ({
                                  internal: p.internal,
                                  external: p.external ?? p.internal,
                                  protocol: p.protocol ?? "tcp",
                                  ip: p.ip ?? "0.0.0.0",
                              })),
                          }
                        : {}),
                    ...(r.healthcheck ? { healthcheck: healthcheckInput(r.healthcheck) } : {}),
                    restart: r.restart,
                    destroyGraceSeconds: r.stopGraceSeconds,
                    labels: labelList({
                        ...r.labels,
                        ...componentLabels(name, "replica"),
                        "dockercluster.instance": instance,
                        [FILES_DIGEST_LABEL]: r.filesDigest,
                        [GENERATION_LABEL]: r.generation,
                        ...(r.discovery
                            ? discoveryLabels(r.serviceName, r.port, r.serviceTags, r.healthPath, host)
                            : {}),
                    }),
                    ...resourceInputs(r.resources),
                },
                // A change known only at deployment (see rolloutGeneration) replaces a replica under its own name.
                { parent: this, deleteBeforeReplace: true, dependsOn: [...dependsOn, ...after] },
            );
            containers[id] = container;
            gates[id] = r.waitForHealthy
                ? replicaHealthGate(`${logical}-healthy`, container, r.healthTimeoutSeconds, this)
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

/** A replica's environment, `KEY=value` sorted by key; secret when it holds the database URL. */
function replicaEnvs(r: ResolvedPoolArgs, instance: string): pulumi.Output<string[]> {
    const env: Record<string, pulumi.Input<string>> = {
        ...r.env,
        ...(r.appContract ? { PORT: String(r.port), APP_CONFIG_DIR, CONTENT_DIR, INSTANCE: instance } : {}),
        ...(r.database && r.databaseUrlAs === "env" ? { DATABASE_URL: r.database.applicationUrl } : {}),
        ...secretFileEnv(r.secretFiles),
    };
    const keys = Object.keys(env).sort();
    const envs = pulumi
        .all(keys.map((k) => pulumi.output(env[k])))
        .apply((vals) => keys.map((k, i) => `${k}=${vals[i]}`));
    return r.database && r.databaseUrlAs === "env" ? pulumi.secret(envs) : envs;
}
