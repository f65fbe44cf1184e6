/**
 * NginxLoadBalancer on a swarm (`TieredNetwork` target "swarm"): one `docker.Service` running nginx on a config
 * rendered for swarm (each request re-resolves its pool's DNS round-robin name through swarm's DNS server, see
 * `NginxConfigSpec.resolver`), the config a `docker.ServiceConfig` named by its digest. See sdk/README.md
 * "Scaling out: Docker Swarm".
 *
 * Why stop-first: the published port is in host mode (the ingress mesh needs IPVS, tests/infra/README.md), and a
 * node cannot give one host port to two tasks, so a new task can only start once the old one has stopped: a config
 * change refuses new connections for a moment (1.7 s measured with the image by ID, 21 s by a tag whose registry
 * lookup timed out; tests/engine/swarm.test.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import {
    checkSwarmResources,
    ContainerResources,
    ContainerSettings,
    swarmHealthcheckInput,
    httpHealthcheck,
    RestartPolicy,
    swarmDuration,
    swarmTaskInputs,
} from "../container";
import { componentLabels, dockerName, labelList } from "../naming";
import { checkSwarmNode, SWARM_NOT_YET, SWARM_NOT_YET_FIX, TieredNetwork } from "../network";
import { ArgChecker } from "../validation";

/** The load balancer's arguments that have no swarm form yet: refused with a swarm network rather than ignored. */
export const SWARM_UNSUPPORTED_LB_ARGS = [
    "static",
    "tls",
    "discovery",
    "consulTemplateImage",
    "drainSeconds",
    "container",
    "templateContainer",
    "templateResources",
] as const;

/** Swarm's DNS server, in every task's network namespace. */
export const SWARM_DNS = "127.0.0.11";
/** Where the config is mounted: the image's own nginx.conf, so `nginx -t` and `nginx -s reload` in a task see it. */
export const SWARM_NGINX_CONF_PATH = "/etc/nginx/nginx.conf";
/** Grace period of nginx's graceful stop (SIGQUIT): the provider's delete fails when a task outlives it (5 s did). */
export const SWARM_NGINX_STOP_GRACE_SECONDS = 30;

/**
 * Records a problem for each argument of {@link SWARM_UNSUPPORTED_LB_ARGS} that is set, for `hostIp`, the
 * consul-template mode and `swarmNode`'s form.
 */
export function checkSwarmLbArgs(c: ArgChecker, args: Readonly<Record<string, unknown>>): void {
    c.unset(args, SWARM_UNSUPPORTED_LB_ARGS, SWARM_NOT_YET, SWARM_NOT_YET_FIX);
    c.check(
        args.mode === undefined || args.mode === "static",
        "mode",
        `is ${JSON.stringify(args.mode)}, which has no swarm form yet (the network's target is "swarm")`,
        'leave it out (the pools\' service names are resolved per request), or use a TieredNetwork with target "host"',
    );
    // A service's published port has no host address: host mode binds every address of the node.
    c.check(
        args.hostIp === undefined,
        "hostIp",
        "cannot be set on a swarm network (a swarm service publishes its port on every address of its node)",
        "leave it out; pin nginx with swarmNode to know which node's addresses serve the port",
    );
    checkSwarmResources(c, "resources", args.resources as ContainerResources | undefined);
    checkSwarmNode(c, args.swarmNode, undefined);
}

/** What the swarm form is built from. */
export interface SwarmLbSpec {
    readonly network: TieredNetwork;
    readonly tiers: readonly string[];
    readonly image: pulumi.Input<string>;
    readonly hostPort: number;
    readonly listenPort: number;
    readonly healthPath: string;
    /** The rendered config and its digest (the config's name carries it). */
    readonly conf: string;
    readonly digest: string;
    readonly swarmNode: string | undefined;
    readonly env: Readonly<Record<string, pulumi.Input<string>>>;
    /** nginx's read-only root, tmpfs paths and capabilities (the host form's profile). */
    readonly tmpfs: readonly string[];
    readonly capAdds: readonly string[];
    /** The host form's memory limit, restart policy and log settings (`nginxSettings`), as the task's. */
    readonly resources: ContainerResources | undefined;
    readonly restart: RestartPolicy;
    readonly nginxSettings: ContainerSettings;
    /** The pools' services: nginx starts once they run. */
    readonly dependsOn: readonly pulumi.Resource[];
}

/** The children of the swarm form. */
export interface SwarmLb {
    readonly service: docker.Service;
    readonly config: docker.ServiceConfig;
}

/** Builds the config and the service under `parent`. */
export function buildSwarmLb(name: string, s: SwarmLbSpec, parent: pulumi.Resource): SwarmLb {
    // A swarm config cannot change: a new text is a new config (new name), created before the service moves to it.
    const config = new docker.ServiceConfig(
        `${name}-conf`,
        {
            name: dockerName(`${name}-conf-${s.digest}`),
            data: Buffer.from(s.conf, "utf8").toString("base64"),
        },
        { parent },
    );
    // One node cannot give its host port to two tasks: the old one stops before the new one starts.
    const rollout = { parallelism: 1, order: "stop-first" };
    const service = new docker.Service(
        `${name}-service`,
        {
            name: dockerName(name),
            labels: labelList(componentLabels(name, "nginx")),
            mode: { replicated: { replicas: 1 } },
            endpointSpec: {
                mode: "dnsrr",
                ports: [{ targetPort: s.listenPort, publishedPort: s.hostPort, publishMode: "host", protocol: "tcp" }],
            },
            taskSpec: {
                containerSpec: {
                    image: s.image,
                    // nginx itself, not the image's entrypoint scripts (they would edit files of a read-only root).
                    commands: ["nginx"],
                    args: ["-g", "daemon off;"],
                    ...(Object.keys(s.env).length > 0 ? { env: { ...s.env } } : {}),
                    configs: [
                        {
                            configId: config.id,
                            configName: config.name,
                            fileName: SWARM_NGINX_CONF_PATH,
                            fileMode: 0o444,
                        },
                    ],
                    readOnly: true,
                    mounts: s.tmpfs.map((target) => ({ type: "tmpfs", target })),
                    capDrops: ["ALL"],
                    capAdds: [...s.capAdds],
                    healthcheck: swarmHealthcheckInput({
                        ...httpHealthcheck(s.listenPort, s.healthPath),
                        interval: "5s",
                        startPeriod: "30s",
                        retries: 3,
                    }),
                    stopGracePeriod: swarmDuration(`${SWARM_NGINX_STOP_GRACE_SECONDS}s`),
                },
                ...(s.swarmNode !== undefined
                    ? { placement: { constraints: [`node.hostname == ${s.swarmNode}`] } }
                    : {}),
                networksAdvanceds: s.network.attachService(s.tiers, [name]),
                ...swarmTaskInputs(s.resources, s.restart, s.nginxSettings),
            },
            updateConfig: { ...rollout, failureAction: "rollback" },
            rollbackConfig: { ...rollout, failureAction: "pause" },
            // `pulumi up` waits until the task runs healthy.
            convergeConfig: { delay: "1s", timeout: "120s" },
        },
        { parent, dependsOn: [...s.dependsOn] },
    );
    return { service, config };
}
