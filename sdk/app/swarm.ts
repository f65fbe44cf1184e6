/**
 * AppServerPool on a swarm (`TieredNetwork` target "swarm"): one `docker.Service` with N replicas instead of N
 * containers. Swarm itself rolls it (start-first, `updateBatchSize` at a time, rolled back when a new task fails its
 * health check), so there is no rollout generation in names and no health gate per replica: `convergeConfig` makes
 * `pulumi up` wait until every task runs healthy.
 *
 * The service is reached by its name in DNS round-robin mode (`dnsrr`), not through a VIP: the VIP needs IPVS in
 * the nodes' kernels, which not every kernel has (tests/infra/README.md), and a load balancer that resolves the
 * name sees every healthy task either way.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import {
    ContainerResources,
    ContainerSettings,
    filesDigest,
    HealthcheckArgs,
    RestartPolicy,
    SECRETS_DIR,
    SecretFile,
    secretFileEnv,
    swarmHealthcheckInput,
    checkSwarmResources,
    swarmDuration,
    swarmTaskInputs,
} from "../container";
import { swarmImageRef } from "../image";
import { componentLabels, dockerName, labelList } from "../naming";
import { SWARM_NOT_YET, SWARM_NOT_YET_FIX, TieredNetwork } from "../network";
import { ArgChecker } from "../validation";

/** The pool's arguments that have no swarm form yet: refused with a swarm network rather than ignored. */
export const SWARM_UNSUPPORTED_POOL_ARGS = ["discovery", "replicaNames", "volumes", "ports", "container"] as const;

/** Swarm refuses a config of 0 bytes or of this many bytes or more (measured on Docker 20.10). */
export const SWARM_CONFIG_MAX_BYTES = 1024000;
/** Swarm's longest config or secret name. */
const SWARM_OBJECT_NAME_MAX = 64;
/** Mode of a shared file in a replica: the docker provider's for an upload, so both targets show the same. */
const SHARED_FILE_MODE = 0o644;

/** Records a problem for each argument of {@link SWARM_UNSUPPORTED_POOL_ARGS} that is set. */
export function checkSwarmPoolArgs(c: ArgChecker, args: Readonly<Record<string, unknown>>): void {
    c.unset(args, SWARM_UNSUPPORTED_POOL_ARGS, SWARM_NOT_YET, SWARM_NOT_YET_FIX);
    // A service's env is in its spec, which `docker service inspect` shows anyone holding the manager's socket.
    c.check(
        args.database === undefined || args.databaseUrlAs === "file",
        "databaseUrlAs",
        'must be "file" with a database on a swarm network (the URL holds the password: a swarm secret, not env)',
        'set databaseUrlAs: "file" (the app reads the path in DATABASE_URL_FILE)',
    );
    checkSwarmResources(c, "resources", args.resources as ContainerResources | undefined);
}

/**
 * Checks the shared files against what a swarm config can hold: more than 0 and fewer than
 * {@link SWARM_CONFIG_MAX_BYTES} bytes. `source(role, path)` names the argument a file came from.
 */
export function checkSwarmPoolFiles(
    c: ArgChecker,
    files: { readonly config: Readonly<Record<string, Buffer>>; readonly content: Readonly<Record<string, Buffer>> },
    source: (role: "config" | "content", path: string) => string,
): void {
    for (const role of ["config", "content"] as const) {
        for (const [path, bytes] of Object.entries(files[role])) {
            c.check(
                bytes.length > 0 && bytes.length < SWARM_CONFIG_MAX_BYTES,
                source(role, path),
                `is ${bytes.length} bytes; a swarm config holds 1 to ${SWARM_CONFIG_MAX_BYTES - 1}`,
                bytes.length === 0
                    ? "give the file some content (a newline will do) or leave it out"
                    : 'bake large files into the image instead, or use a TieredNetwork with target "host"',
            );
        }
    }
}

/** What the swarm form is built from (the resolved pool arguments it uses). */
export interface SwarmPoolSpec {
    readonly network: TieredNetwork;
    readonly image: pulumi.Input<string>;
    readonly tiers: readonly string[];
    readonly replicas: number;
    readonly serviceName: string;
    readonly port: number;
    readonly appContract: boolean;
    readonly configDir: string;
    readonly contentDir: string;
    readonly env: Readonly<Record<string, pulumi.Input<string>>>;
    readonly command: readonly string[] | undefined;
    readonly healthcheck: HealthcheckArgs | undefined;
    readonly waitForHealthy: boolean;
    readonly secretFiles: Readonly<Record<string, SecretFile>>;
    /** APP_CONFIG_DIR's files (relative path → bytes). */
    readonly configFiles: Readonly<Record<string, Buffer>>;
    /** CONTENT_DIR's files. */
    readonly contentFiles: Readonly<Record<string, Buffer>>;
    readonly resources: ContainerResources | undefined;
    readonly restart: RestartPolicy;
    /** The replicas' container settings; the swarm form takes their log driver and options. */
    readonly settings: ContainerSettings;
    readonly labels: Readonly<Record<string, string>>;
    readonly updateBatchSize: number;
    readonly stopGraceSeconds: number;
    readonly healthTimeoutSeconds: number;
    readonly dependsOn: readonly pulumi.Resource[];
}

/** The children of the swarm form. */
export interface SwarmPool {
    readonly service: docker.Service;
    /** Secret file name → its swarm secret. */
    readonly secrets: Readonly<Record<string, docker.Secret>>;
    /** `config/<path>` or `content/<path>` → the swarm config holding that shared file. */
    readonly configs: Readonly<Record<string, docker.ServiceConfig>>;
}

/**
 * Docker name of a shared file's swarm config: the pool, role and path, then the first 12 hex digits of the
 * digest of its role, path and bytes, at most 64 characters (swarm's limit; the digest is kept whole).
 */
export function swarmConfigName(name: string, role: "config" | "content", path: string, bytes: Buffer): string {
    const digest = filesDigest({ [`${role}/${path}`]: bytes }).slice(0, 12);
    const prefix = dockerName(`${name}-${role}-${path}`)
        .slice(0, SWARM_OBJECT_NAME_MAX - digest.length - 1)
        .replace(/[-_.]+$/, "");
    return `${prefix}-${digest}`;
}

/**
 * Builds the service, its secrets and configs under `parent`. A swarm secret or config cannot change: a new value
 * gets a new one (a secret's name carries a random suffix renewed with the value, a config's the digest of its
 * file), created before the service moves to it and the old one deleted after (Docker refuses to delete a secret
 * or config a service uses); each keeps its logical name, so Pulumi's default create-before-delete replacement
 * does exactly that.
 */
export function buildSwarmPool(name: string, s: SwarmPoolSpec, parent: pulumi.Resource): SwarmPool {
    const secrets: Record<string, docker.Secret> = {};
    for (const [file, f] of Object.entries(s.secretFiles)) {
        const value = pulumi.secret(pulumi.output(f.value));
        const suffix = new random.RandomId(
            `${name}-secret-${file}-id`,
            { byteLength: 4, keepers: { value } },
            { parent },
        );
        secrets[file] = new docker.Secret(
            `${name}-secret-${file}`,
            {
                name: pulumi.interpolate`${dockerName(`${name}-${file}`)}-${suffix.hex}`,
                data: value.apply((v) => Buffer.from(v, "utf8").toString("base64")),
                labels: labelList(componentLabels(name, `secret:${file}`)),
            },
            { parent },
        );
    }
    const configs: Record<string, docker.ServiceConfig> = {};
    const configMounts: docker.types.input.ServiceTaskSpecContainerSpecConfig[] = [];
    for (const [role, dir, files] of [
        ["config", s.configDir, s.configFiles],
        ["content", s.contentDir, s.contentFiles],
    ] as const) {
        for (const path of Object.keys(files).sort()) {
            const config = new docker.ServiceConfig(
                `${name}-${role}-${path}`,
                {
                    name: swarmConfigName(name, role, path, files[path]),
                    data: files[path].toString("base64"),
                    labels: labelList(componentLabels(name, `${role}:${path}`)),
                },
                { parent },
            );
            configs[`${role}/${path}`] = config;
            // Where the host form's read-only volume puts the file, root's and 0644 as its upload makes it.
            configMounts.push({
                configId: config.id,
                configName: config.name,
                fileName: `${dir}/${path}`,
                fileMode: SHARED_FILE_MODE,
                fileUid: "0",
                fileGid: "0",
            });
        }
    }
    const env: Record<string, pulumi.Input<string>> = {
        ...s.env,
        // INSTANCE is the task's slot: stable across a rolling update, like a container replica's id.
        ...(s.appContract
            ? {
                  PORT: String(s.port),
                  APP_CONFIG_DIR: s.configDir,
                  CONTENT_DIR: s.contentDir,
                  INSTANCE: `${s.serviceName}-{{.Task.Slot}}`,
              }
            : {}),
        ...secretFileEnv(s.secretFiles),
    };
    const h = s.healthcheck;
    const rollout = { parallelism: s.updateBatchSize, order: "start-first" };
    const service = new docker.Service(
        `${name}-service`,
        {
            name: dockerName(name),
            labels: labelList({ ...s.labels, ...componentLabels(name, "service") }),
            mode: { replicated: { replicas: s.replicas } },
            endpointSpec: { mode: "dnsrr" },
            taskSpec: {
                containerSpec: {
                    // Every node must find it: a ServiceImage's repository digest rather than its local ID.
                    image: swarmImageRef(s.image),
                    // A container's `command` is the image's CMD: a service's `args` (its `commands` is the entrypoint).
                    ...(s.command ? { args: [...s.command] } : {}),
                    // Left out when empty: the provider reads none back, and {} would differ once.
                    ...(Object.keys(env).length > 0 ? { env } : {}),
                    secrets: Object.entries(s.secretFiles).map(([file, f]) => ({
                        secretId: secrets[file].id,
                        secretName: secrets[file].name,
                        fileName: `${SECRETS_DIR}/${file}`,
                        fileMode: parseInt(f.mode ?? "0444", 8),
                        fileUid: String(f.owner ?? 0),
                        fileGid: String(f.group ?? 0),
                    })),
                    ...(configMounts.length > 0 ? { configs: configMounts } : {}),
                    ...(h ? { healthcheck: swarmHealthcheckInput(h) } : {}),
                    // The provider's delete also waits for the tasks' containers to be removed, at most this long, then
                    // fails the delete (a task that needs the whole grace period can fail `pulumi destroy`).
                    stopGracePeriod: swarmDuration(`${s.stopGraceSeconds}s`),
                },
                networksAdvanceds: s.network.attachService(s.tiers, [s.serviceName]),
                ...swarmTaskInputs(s.resources, s.restart, s.settings),
            },
            // Swarm's own rolling update: a new task is started and healthy before an old one stops.
            updateConfig: { ...rollout, failureAction: "rollback" },
            rollbackConfig: { ...rollout, failureAction: "pause" },
            ...(s.waitForHealthy ? { convergeConfig: { delay: "1s", timeout: `${s.healthTimeoutSeconds}s` } } : {}),
        },
        { parent, dependsOn: [...s.dependsOn] },
    );
    return { service, secrets, configs };
}
