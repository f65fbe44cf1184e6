/**
 * ServiceDiscovery: a Consul server and registrator. Registrator watches the Docker socket and
 * registers every container that carries `SERVICE_<port>_NAME` (AppServerPool sets it when given a discovery),
 * with a Consul HTTP health check on the pool's health path, so consul-template sees only healthy instances.
 *
 * Registrator runs with `-internal` (no app port is published: only the load balancer publishes a port) and
 * `-useIpFromLabel dockercluster.address`: each replica carries its own network alias in that label, so the
 * registered address is a name every container on the discovery tier resolves, whatever the replica's other
 * networks are (plain `-internal` picks an arbitrary network's IP on multi-network containers). `-explicit`
 * keeps containers without a service name (Postgres, nginx, Consul itself) out of the catalog.
 *
 * ACLs (`acl`, on by default; ./acl.ts): Consul denies every request without a token, so a container on the tier
 * (which Consul must share with the replicas it health-checks) can neither read the catalog nor register an
 * address. Registrator and the load balancer's consul-template sidecar each get a token with only what they need.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import {
    checkLogging,
    checkPassThrough,
    checkResources,
    ContainerPassThrough,
    ContainerProfile,
    ContainerResources,
    ContainerSettings,
    containerSettings,
    containerSettingsInputs,
    healthcheckInput,
    LoggingArgs,
    resourceInputs,
    withDefaultMemory,
} from "../container";
import { componentLabels, dockerName, isDnsLabel, labelList } from "../naming";
import { checkNetworkArg, NetworkClaim, TieredNetwork } from "../network";
import { ArgChecker } from "../validation";
import {
    CONSUL_ACL_CONFIG,
    CONSUL_ACL_DIR,
    CONSUL_ACL_ROLES,
    CONSUL_MANAGEMENT_TOKEN_FILE,
    ConsulAclRole,
    ConsulAclSetup,
    consulAclPolicies,
    consulAclSetupScript,
    consulPolicyFile,
    consulTokenFile,
    renderConsulAclConfig,
} from "./acl";

export {
    CONSUL_ACL_CONFIG,
    CONSUL_ACL_DIR,
    CONSUL_ACL_ROLES,
    CONSUL_MANAGEMENT_TOKEN_FILE,
    ConsulAclSetup,
    consulAclPolicies,
    consulAclSetupProvider,
    consulAclSetupScript,
    consulPolicyFile,
    consulTokenFile,
    renderConsulAclConfig,
    type ConsulAclRole,
    type ConsulAclSetupArgs,
    type ConsulAclSetupInputs,
} from "./acl";

export const DEFAULT_CONSUL_IMAGE = "hashicorp/consul:1.15";
/** `master`: the first registrator build with `-useIpFromLabel` (v7, the `latest` tag, predates it). */
export const DEFAULT_REGISTRATOR_IMAGE = "gliderlabs/registrator:master";
/** The label that carries a container's registration address. @internal */
export const ADDRESS_LABEL = "dockercluster.address";
export const CONSUL_HTTP_PORT = 8500;

/**
 * Memory limits (MiB) of the two containers when `resources` / `registratorResources` leave `memoryMb` out. The
 * Consul server used 23 MiB (`docker stats` in tests/sdk/discovery-runtime.test.ts, after its load and a restart,
 * four services registered): ten times that. Registrator cannot run here (no image); a small Go program that
 * watches the Docker socket, so the consul-template sidecar's limit.
 */
export const DEFAULT_CONSUL_MEMORY_MB = 256;
export const DEFAULT_REGISTRATOR_MEMORY_MB = 64;

/**
 * Consul's hardening: read-only root (its data is the image's /consul/data volume), /tmp on tmpfs, and only the
 * capabilities the official image's entrypoint needs to chown its folders and drop to the consul user (su-exec).
 */
export const CONSUL_PROFILE: ContainerProfile = {
    readOnly: true,
    tmpfs: { "/tmp": "" },
    capabilities: { drops: ["ALL"], adds: ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"] },
};
/** Registrator's hardening: read-only root, /tmp on tmpfs, no capabilities (it only reads the Docker socket, as root). */
export const REGISTRATOR_PROFILE: ContainerProfile = {
    readOnly: true,
    tmpfs: { "/tmp": "" },
    capabilities: { drops: ["ALL"] },
};

/**
 * The Consul server's arguments (after the image's entry point): one server, its own leader, UI and HTTP on every
 * interface; with `acl`, its ACL config file too. @internal
 */
export function consulAgentCommand(alias: string, datacenter: string, acl = false): string[] {
    return [
        "agent",
        "-server",
        "-bootstrap-expect=1",
        "-ui",
        "-client=0.0.0.0",
        `-datacenter=${datacenter}`,
        `-node=${alias}`,
        ...(acl ? [`-config-file=${CONSUL_ACL_CONFIG}`] : []),
    ];
}

/**
 * Consul's health check: a leader is elected (raft peers listed). With ACLs it reads that with the management
 * token's file (operator:read is denied to anonymous requests; the other tokens exist only after the setup, which
 * waits for this check). @internal
 */
export function consulHealthTest(acl = false): string[] {
    return [
        "CMD",
        "consul",
        "operator",
        "raft",
        "list-peers",
        ...(acl ? [`-token-file=${CONSUL_MANAGEMENT_TOKEN_FILE}`] : []),
    ];
}

/** The Consul server's environment: gossip and RPC bound to the container's first interface. @internal */
export const CONSUL_ENV: readonly string[] = ["CONSUL_BIND_INTERFACE=eth0"];

export interface ServiceDiscoveryArgs {
    /** The cluster's networks. */
    readonly network: TieredNetwork;
    /** The tier Consul and registrator join; pools registering and the load balancer must join it too. @default "app" */
    readonly tier?: string;
    /** Consul's host name on that tier. @default "consul" */
    readonly alias?: string;
    /** Consul image. @default "hashicorp/consul:1.15" */
    readonly consulImage?: pulumi.Input<string>;
    /** Registrator image (needs `-useIpFromLabel`). @default "gliderlabs/registrator:master" */
    readonly registratorImage?: pulumi.Input<string>;
    /** Docker socket on the host, mounted read-only into registrator. @default "/var/run/docker.sock" */
    readonly dockerSocket?: string;
    /** Re-register everything every N seconds (recovers a restarted Consul). @default 30 */
    readonly resyncSeconds?: number;
    /** Publish Consul's HTTP API/UI on 127.0.0.1:<port>. @default undefined (not published) */
    readonly uiHostPort?: number;
    /** Consul datacenter name. @default "dc1" */
    readonly datacenter?: string;
    /**
     * Consul's ACLs, default-deny: requests without a token are refused (registering, key/value, ACLs: 403; the
     * catalog and health read as empty). Registrator and consul-template each get a generated token (a secret)
     * with only what they need; Consul's initial management token is generated too (`managementToken`).
     *
     * `false` runs Consul without ACLs, as before this option existed: anything on the tier can register an
     * address under any service name, and so route the load balancer's traffic to it. Turning ACLs on for an
     * existing stack replaces Consul, registrator and the consul-template sidecar (nginx keeps serving the
     * upstreams it last rendered; registrator registers every replica again when it starts).
     * @default true
     */
    readonly acl?: boolean;
    /** Limits for the Consul container; `memoryMb` left out is the default. @default { memoryMb: 256 } */
    readonly resources?: ContainerResources;
    /** Limits for the registrator container; `memoryMb` left out is the default. @default { memoryMb: 64 } */
    readonly registratorResources?: ContainerResources;
    /**
     * Where both containers log. @default { driver: "json-file", options: { "max-size": "10m", "max-file": "3" } }
     * (Docker's json-file alone never rotates)
     */
    readonly logging?: LoggingArgs;
    /**
     * Further settings of the Consul container (see `ContainerPassThrough`), over its defaults: read-only root,
     * tmpfs /tmp, capabilities CHOWN, SETGID, SETUID only, no-new-privileges. Settings the component makes itself
     * are refused, naming the argument to use. @default {}
     */
    readonly consulContainer?: ContainerPassThrough;
    /**
     * Further settings of the registrator container, over its defaults: read-only root, tmpfs /tmp, no
     * capabilities, no-new-privileges. @default {}
     */
    readonly registratorContainer?: ContainerPassThrough;
}

/** The Consul container's settings the component makes itself, with the argument to use instead ("" for none). */
const CONSUL_MANAGED: Readonly<Record<string, string>> = {
    image: "consulImage",
    name: "alias",
    command: "alias / datacenter",
    envs: "",
    networksAdvanced: "tier",
    networkMode: "tier",
    ports: "uiHostPort",
    healthcheck: "",
    restart: "",
    labels: "",
    memory: "resources",
    memorySwap: "resources",
    cpuShares: "resources",
};
/** The registrator container's settings the component makes itself. */
const REGISTRATOR_MANAGED: Readonly<Record<string, string>> = {
    image: "registratorImage",
    name: "",
    command: "resyncSeconds",
    volumes: "dockerSocket",
    mounts: "dockerSocket",
    networksAdvanced: "tier",
    networkMode: "tier",
    restart: "",
    labels: "",
    memory: "registratorResources",
    memorySwap: "registratorResources",
    cpuShares: "registratorResources",
};

/** ServiceDiscovery's arguments with every default applied. */
export interface ResolvedDiscoveryArgs {
    readonly network: TieredNetwork;
    readonly tier: string;
    readonly alias: string;
    readonly consulImage: pulumi.Input<string>;
    readonly registratorImage: pulumi.Input<string>;
    readonly dockerSocket: string;
    readonly resyncSeconds: number;
    readonly uiHostPort: number | undefined;
    readonly datacenter: string;
    readonly acl: boolean;
    /** Consul's limits, the default memory applied. */
    readonly resources: ContainerResources;
    readonly registratorResources: ContainerResources;
    /** The Consul container's settings: `consulContainer` over CONSUL_PROFILE, no-new-privileges and `logging`. */
    readonly consulSettings: ContainerSettings;
    /** The registrator container's settings: `registratorContainer` over REGISTRATOR_PROFILE and the rest. */
    readonly registratorSettings: ContainerSettings;
    /** Consul's host name on its tier and the published UI port, for `network.claim`. */
    readonly claim: NetworkClaim;
}

/** Applies defaults and checks every argument; throws an ArgumentError before anything is created. Pure. */
export function resolveDiscoveryArgs(name: string, args: ServiceDiscoveryArgs): ResolvedDiscoveryArgs {
    const tier = args.tier ?? "app";
    const alias = args.alias ?? "consul";
    const resyncSeconds = args.resyncSeconds ?? 30;
    const datacenter = args.datacenter ?? "dc1";
    const claim: NetworkClaim = {
        owner: `ServiceDiscovery "${name}"`,
        tiersArgument: "tier",
        tiers: [tier],
        aliases: [
            { argument: "alias", names: [alias], fix: "set alias to a name no other container on the tier uses" },
        ],
        hostPorts:
            args.uiHostPort === undefined
                ? []
                : [{ argument: "uiHostPort", ip: "127.0.0.1", port: args.uiHostPort, fix: "pick another port" }],
    };
    const c = new ArgChecker("ServiceDiscovery", name);
    if (checkNetworkArg(c, args.network)) {
        args.network.checkClaim(c, claim);
        if (args.network.hasTier(tier)) {
            c.check(
                !args.network.internal[tier],
                "tier",
                `"${tier}" is internal`,
                "registrator and consul need a non-internal tier shared with the apps",
            );
        }
    }
    c.check(
        isDnsLabel(alias),
        "alias",
        `is "${alias}", not a DNS label`,
        "use lower-case letters, digits and inner hyphens",
    );
    c.integer(resyncSeconds, "resyncSeconds", 0, 86400);
    c.check(
        /^[a-z0-9-]+$/.test(datacenter),
        "datacenter",
        `is "${datacenter}"`,
        "use lower-case letters, digits and hyphens",
    );
    c.port(args.uiHostPort, "uiHostPort");
    c.check(
        args.acl === undefined || typeof args.acl === "boolean",
        "acl",
        `is ${JSON.stringify(args.acl)}`,
        "use true (ACLs, the default) or false",
    );
    checkResources(c, "resources", args.resources);
    checkResources(c, "registratorResources", args.registratorResources);
    checkLogging(c, "logging", args.logging);
    checkPassThrough(c, "consulContainer", args.consulContainer, CONSUL_MANAGED);
    checkPassThrough(c, "registratorContainer", args.registratorContainer, REGISTRATOR_MANAGED);
    c.throwIfAny();
    return {
        network: args.network,
        tier,
        alias,
        consulImage: args.consulImage ?? DEFAULT_CONSUL_IMAGE,
        registratorImage: args.registratorImage ?? DEFAULT_REGISTRATOR_IMAGE,
        dockerSocket: args.dockerSocket ?? "/var/run/docker.sock",
        resyncSeconds,
        uiHostPort: args.uiHostPort,
        datacenter,
        acl: args.acl ?? true,
        resources: withDefaultMemory(args.resources, DEFAULT_CONSUL_MEMORY_MB),
        registratorResources: withDefaultMemory(args.registratorResources, DEFAULT_REGISTRATOR_MEMORY_MB),
        consulSettings: containerSettings(args.logging, args.consulContainer, CONSUL_PROFILE),
        registratorSettings: containerSettings(args.logging, args.registratorContainer, REGISTRATOR_PROFILE),
        claim,
    };
}

/**
 * A Consul server and registrator on one tier.
 */
export class ServiceDiscovery extends pulumi.ComponentResource {
    /** The Consul server container. */
    public readonly consul: docker.Container;
    /** The registrator container. */
    public readonly registrator: docker.Container;
    /** Tier Consul is on. */
    public readonly tier: string;
    /** Consul's host name on that tier. */
    public readonly host: string;
    /** Consul's HTTP address as seen from the tier, e.g. "consul:8500". */
    public readonly address: string;
    /** Whether Consul's ACLs are on (`acl`). */
    public readonly acl: boolean;
    /** Creates the ACL policies and tokens once Consul runs (with `acl`). */
    public readonly aclSetup: ConsulAclSetup | undefined;
    /** The volume holding Consul's ACL config, token and policy files (with `acl`). */
    public readonly aclVolume: docker.Volume | undefined;
    /** Consul's initial management token (a secret; with `acl`): for operators, e.g. `consul acl` or the UI. */
    public readonly managementToken: pulumi.Output<string> | undefined;
    /** consul-template's token (a secret; with `acl`): reads services and health only. */
    public readonly consulTemplateToken: pulumi.Output<string> | undefined;

    constructor(name: string, args: ServiceDiscoveryArgs, opts: pulumi.ComponentResourceOptions = {}) {
        const r = resolveDiscoveryArgs(name, args);
        super("dockercluster:discovery:ServiceDiscovery", name, {}, opts);
        r.network.claim(r.claim);

        const consulImage = new docker.RemoteImage(
            `${name}-consul-image`,
            { name: r.consulImage, keepLocally: true },
            { parent: this },
        );
        const registratorImage = new docker.RemoteImage(
            `${name}-registrator-image`,
            { name: r.registratorImage, keepLocally: true },
            { parent: this },
        );

        // ACLs: every token generated (Consul takes UUIDs as SecretIDs), kept secret in the state.
        const tokens = r.acl
            ? (Object.fromEntries(
                  (["management", ...CONSUL_ACL_ROLES] as const).map((role) => [
                      role,
                      pulumi.secret(
                          new random.RandomUuid(
                              `${name}-${role}-token`,
                              {},
                              { parent: this, additionalSecretOutputs: ["result"] },
                          ).result,
                      ),
                  ]),
              ) as Record<"management" | ConsulAclRole, pulumi.Output<string>>)
            : undefined;
        const policies = consulAclPolicies(r.alias);
        // Consul's root is read-only and Docker refuses uploads into one: the ACL files go to a volume of their own.
        this.aclVolume = tokens
            ? new docker.Volume(
                  `${name}-consul-acl`,
                  { name: dockerName(`${name}-consul-acl`), labels: labelList(componentLabels(name, "consul-acl")) },
                  { parent: this },
              )
            : undefined;
        const aclFiles: docker.types.input.ContainerUpload[] = tokens
            ? [
                  {
                      file: CONSUL_ACL_CONFIG,
                      content: pulumi
                          .all([tokens.management, tokens.agent])
                          .apply(([m, a]) => renderConsulAclConfig(m, a)),
                      permissions: "0444",
                  },
                  { file: CONSUL_MANAGEMENT_TOKEN_FILE, content: tokens.management, permissions: "0444" },
                  ...CONSUL_ACL_ROLES.flatMap((role) => [
                      { file: consulTokenFile(role), content: tokens[role], permissions: "0444" },
                      { file: consulPolicyFile(role), content: policies[role], permissions: "0444" },
                  ]),
              ]
            : [];

        this.consul = new docker.Container(
            `${name}-consul`,
            {
                ...containerSettingsInputs(r.consulSettings),
                name: dockerName(`${name}-consul`),
                image: consulImage.imageId,
                command: consulAgentCommand(r.alias, r.datacenter, r.acl),
                envs: [...CONSUL_ENV],
                networksAdvanced: r.network.attach([r.tier], [r.alias]),
                ...(r.uiHostPort !== undefined
                    ? { ports: [{ internal: CONSUL_HTTP_PORT, external: r.uiHostPort, ip: "127.0.0.1" }] }
                    : {}),
                // Only with ACLs: without, Consul's inputs stay exactly as they were (no replacement on upgrade).
                ...(this.aclVolume
                    ? {
                          volumes: [{ volumeName: this.aclVolume.name, containerPath: CONSUL_ACL_DIR }],
                          uploads: aclFiles,
                      }
                    : {}),
                healthcheck: healthcheckInput({
                    test: consulHealthTest(r.acl),
                    interval: "2s",
                    startPeriod: "60s",
                    retries: 10,
                }),
                wait: true,
                waitTimeout: 120,
                restart: "unless-stopped",
                labels: labelList(componentLabels(name, "consul")),
                ...resourceInputs(r.resources),
            },
            { parent: this, deleteBeforeReplace: true },
        );

        this.aclSetup = tokens
            ? new ConsulAclSetup(
                  `${name}-acl`,
                  {
                      container: this.consul.name,
                      script: consulAclSetupScript(),
                      policies: { ...policies },
                      triggers: [this.consul.id],
                  },
                  { parent: this, dependsOn: [this.consul] },
              )
            : undefined;

        this.registrator = new docker.Container(
            `${name}-registrator`,
            {
                ...containerSettingsInputs(r.registratorSettings),
                name: dockerName(`${name}-registrator`),
                // Registrator's Consul client (api v1.2.3) reads its token from CONSUL_HTTP_TOKEN only, no file
                // (CONSUL_HTTP_TOKEN_FILE came later), and its root is read-only: the token is in its environment,
                // which `docker inspect` shows to those with the Docker API, as registrator itself has.
                ...(tokens ? { envs: [pulumi.interpolate`CONSUL_HTTP_TOKEN=${tokens.registrator}`] } : {}),
                image: registratorImage.imageId,
                command: [
                    "-internal",
                    "-explicit",
                    `-useIpFromLabel=${ADDRESS_LABEL}`,
                    `-resync=${r.resyncSeconds}`,
                    "-retry-attempts=-1",
                    "-retry-interval=2000",
                    `consul://${r.alias}:${CONSUL_HTTP_PORT}`,
                ],
                volumes: [{ hostPath: r.dockerSocket, containerPath: "/tmp/docker.sock", readOnly: true }],
                networksAdvanced: r.network.attach([r.tier], []),
                restart: "unless-stopped",
                labels: labelList(componentLabels(name, "registrator")),
                ...resourceInputs(r.registratorResources),
            },
            {
                parent: this,
                deleteBeforeReplace: true,
                dependsOn: this.aclSetup ? [this.consul, this.aclSetup] : [this.consul],
            },
        );

        this.tier = r.tier;
        this.host = r.alias;
        this.address = `${r.alias}:${CONSUL_HTTP_PORT}`;
        this.acl = r.acl;
        this.managementToken = tokens?.management;
        this.consulTemplateToken = tokens?.["consul-template"];
        this.registerOutputs({
            consulName: this.consul.name,
            registratorName: this.registrator.name,
            address: this.address,
        });
    }
}
