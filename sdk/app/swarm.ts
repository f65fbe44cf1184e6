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
import { goDuration, HealthcheckArgs, SECRETS_DIR, SecretFile, secretFileEnv } from "../container";
import { componentLabels, dockerName } from "../naming";
import { SWARM_NOT_YET, SWARM_NOT_YET_FIX, TieredNetwork } from "../network";
import { ArgChecker } from "../validation";

/** The pool's arguments that have no swarm form yet: refused with a swarm network rather than ignored. */
export const SWARM_UNSUPPORTED_POOL_ARGS = [
    "discovery",
    "replicaNames",
    "configDirectory",
    "configFiles",
    "contentDirectory",
    "contentFiles",
    "volumes",
    "ports",
    "container",
    "logging",
    "resources",
    "restart",
] as const;

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
}

/**
 * Builds the service and its secrets under `parent`. A swarm secret cannot change: a new value gets a new secret
 * (its name carries a random suffix renewed with the value), created before the service moves to it and the old
 * one deleted after (Docker refuses to delete a secret a service uses).
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
                labels: labels(componentLabels(name, `secret:${file}`)),
            },
            { parent },
        );
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
            labels: labels({ ...s.labels, ...componentLabels(name, "service") }),
            mode: { replicated: { replicas: s.replicas } },
            endpointSpec: { mode: "dnsrr" },
            taskSpec: {
                containerSpec: {
                    image: s.image,
                    // A container's `command` is the image's CMD: a service's `args` (its `commands` is the entrypoint).
                    ...(s.command ? { args: [...s.command] } : {}),
                    env,
                    secrets: Object.entries(s.secretFiles).map(([file, f]) => ({
                        secretId: secrets[file].id,
                        secretName: secrets[file].name,
                        fileName: `${SECRETS_DIR}/${file}`,
                        fileMode: parseInt(f.mode ?? "0444", 8),
                        fileUid: String(f.owner ?? 0),
                        fileGid: String(f.group ?? 0),
                    })),
                    ...(h
                        ? {
                              healthcheck: {
                                  tests: [...h.test],
                                  interval: goDuration(h.interval ?? "2s"),
                                  timeout: goDuration(h.timeout ?? "3s"),
                                  startPeriod: goDuration(h.startPeriod ?? "60s"),
                                  retries: h.retries ?? 5,
                              },
                          }
                        : {}),
                    // The provider's delete also waits for the tasks' containers to be removed, at most this long, then
                    // fails the delete (a task that needs the whole grace period can fail `pulumi destroy`).
                    stopGracePeriod: `${s.stopGraceSeconds}s`,
                },
                networksAdvanceds: s.network.attachService(s.tiers, [s.serviceName]),
            },
            // Swarm's own rolling update: a new task is started and healthy before an old one stops.
            updateConfig: { ...rollout, failureAction: "rollback" },
            rollbackConfig: { ...rollout, failureAction: "pause" },
            ...(s.waitForHealthy ? { convergeConfig: { delay: "1s", timeout: `${s.healthTimeoutSeconds}s` } } : {}),
        },
        { parent, dependsOn: [...s.dependsOn] },
    );
    return { service, secrets };
}

function labels(l: Readonly<Record<string, string>>): { label: string; value: string }[] {
    return Object.keys(l)
        .sort()
        .map((label) => ({ label, value: l[label] }));
}
