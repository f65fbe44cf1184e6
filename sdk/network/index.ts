/**
 * Tiered networks: the web/app/db layout, generalised to named tiers.
 *
 * Each tier is one Docker bridge network. A container joins the tiers it must talk on; Docker's DNS answers a
 * name only on the networks both containers share, so a container on the web tier cannot even resolve the
 * database's name. Mark the database tier `internal` and it has no route off the host either.
 *
 * With `target: "swarm"` each tier is a swarm-scoped overlay network instead (the engine must be a swarm manager),
 * and the components built on the network run as swarm services; see sdk/README.md "Scaling out: Docker Swarm".
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { componentLabels, dockerName, isDnsLabel, labelList } from "../naming";
import { ArgChecker } from "../validation";

/** Settings of one tier (one Docker network). */
export interface TierArgs {
    /** Docker `internal` network: containers on it reach each other but nothing outside the tier. @default false */
    readonly internal?: boolean;
    /** Network driver. @default "bridge" */
    readonly driver?: string;
    /** IPv4 subnet in CIDR form, e.g. "10.20.0.0/24". @default chosen by Docker */
    readonly subnet?: string;
    /** Extra labels on the network. @default {} */
    readonly labels?: Readonly<Record<string, string>>;
    /**
     * Swarm only: plain containers (not services) may join the overlay, as the database's admin proxy does.
     * Bridges are always attachable, so it is refused with `target: "host"`.
     * @default true with target "swarm"
     */
    readonly attachable?: boolean;
}

/**
 * Where the cluster runs: `"host"`, containers on one Docker engine (bridge networks); `"swarm"`, services on a
 * Docker swarm (overlay networks), whose manager the docker provider talks to.
 */
export type NetworkTarget = "host" | "swarm";

/** The targets, for checks and messages. */
export const NETWORK_TARGETS: readonly NetworkTarget[] = ["host", "swarm"];

/** The problem and fix for an argument a component does not take on a swarm network yet. */
export const SWARM_NOT_YET = 'has no swarm form yet (the network\'s target is "swarm")';
export const SWARM_NOT_YET_FIX = 'leave it out, or use a TieredNetwork with target "host"';

/** The conventional three tiers: `web` (load balancer), `app` (app servers), `db` (internal, database only). */
export const STANDARD_TIERS: Readonly<Record<string, TierArgs>> = Object.freeze({
    web: {},
    app: {},
    db: { internal: true },
});

export interface TieredNetworkArgs {
    /**
     * Tier name → settings. Tier names are DNS labels (lower-case letters, digits, inner hyphens).
     * @default STANDARD_TIERS ({ web: {}, app: {}, db: { internal: true } })
     */
    readonly tiers?: Readonly<Record<string, TierArgs>>;
    /**
     * Where the cluster runs; the components built on this network read it from here. `"swarm"` makes each tier an
     * overlay network (driver `overlay`, swarm scope).
     * @default "host"
     */
    readonly target?: NetworkTarget;
}

/** One network attachment, as `docker.Container`'s `networksAdvanced` takes it. */
export type NetworkAttachment = docker.types.input.ContainerNetworksAdvanced;

/**
 * Records a problem under `swarmNode` unless it is a node host name; `required`: why it may not be left out
 * (undefined: optional).
 */
export function checkSwarmNode(c: ArgChecker, node: unknown, required: string | undefined): void {
    if (node === undefined && required === undefined) return;
    c.check(
        typeof node === "string" && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(node),
        "swarmNode",
        node === undefined
            ? `is required on a swarm network (${required})`
            : `is ${JSON.stringify(node)}, not a node host name`,
        "give the host name of the node the docker provider talks to (`docker info -f '{{.Name}}'`)",
    );
}

/** One network attachment of a swarm service, as `docker.Service`'s `taskSpec.networksAdvanceds` takes it. */
export type ServiceNetworkAttachment = docker.types.input.ServiceTaskSpecNetworksAdvanced;

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Checks tier names and settings; records problems in `c`. Pure. */
function validateTiers(c: ArgChecker, tiers: Readonly<Record<string, TierArgs>>, target: NetworkTarget): void {
    const names = Object.keys(tiers);
    c.check(
        names.length > 0,
        "tiers",
        "is empty",
        "declare at least one tier, e.g. { app: {}, db: { internal: true } }",
    );
    for (const t of names) {
        c.check(
            isDnsLabel(t),
            `tiers.${t}`,
            "is not a valid tier name",
            "use lower-case letters, digits and inner hyphens (a DNS label)",
        );
        const s = tiers[t] ?? {};
        if (target === "swarm") {
            c.check(
                s.driver === undefined || s.driver === "overlay",
                `tiers.${t}.driver`,
                `is "${s.driver}", but a swarm's services join only overlay networks`,
                'leave it out (target "swarm" uses "overlay")',
            );
        } else {
            c.check(
                s.attachable === undefined,
                `tiers.${t}.attachable`,
                'has no meaning with target "host" (bridge networks are always attachable)',
                'leave it out, or set target: "swarm"',
            );
        }
        if (s.subnet !== undefined) {
            const m = CIDR.exec(s.subnet);
            const ok = m !== null && m.slice(1, 5).every((o) => Number(o) <= 255) && Number(m[5]) <= 32;
            c.check(
                ok,
                `tiers.${t}.subnet`,
                `is "${s.subnet}", not an IPv4 CIDR`,
                'write it like "10.20.0.0/24" or leave it out',
            );
        }
    }
    const subnets = names.map((t) => tiers[t]?.subnet).filter((s): s is string => s !== undefined);
    const dup = subnets.find((s, i) => subnets.indexOf(s) !== i);
    c.check(dup === undefined, "tiers", `use the subnet ${dup} twice`, "give each tier its own subnet");
}

/** Checks `wanted` tier names against `known`; records problems under `argument`. */
function checkTierNames(c: ArgChecker, argument: string, wanted: readonly string[], known: readonly string[]): void {
    c.check(wanted.length > 0, argument, "is empty", `join at least one of the network's tiers (${known.join(", ")})`);
    for (const t of wanted) {
        c.check(
            known.includes(t),
            argument,
            `names the unknown tier "${t}"`,
            `use one of the network's tiers: ${known.join(", ")}`,
        );
    }
    const dup = wanted.find((t, i) => wanted.indexOf(t) !== i);
    c.check(dup === undefined, argument, `lists the tier "${dup}" twice`, "list each tier once");
}

/** Host names a component's containers answer to on its tiers, from one of its arguments. */
export interface AliasClaim {
    /** The argument the names come from, e.g. "serviceName". */
    readonly argument: string;
    readonly names: readonly string[];
    /** The fix named when another component already answers to one of them. */
    readonly fix: string;
}

/** A host port a component publishes, from one of its arguments. */
export interface HostPortClaim {
    /** The argument, e.g. "hostPort"; also names the claim in another component's error. */
    readonly argument: string;
    readonly ip: string;
    readonly port: number;
    /** A TCP and a UDP port of one number do not clash. @default "tcp" */
    readonly protocol?: "tcp" | "udp";
    /** The fix named when the port is taken. */
    readonly fix: string;
}

/**
 * What one component takes on a {@link TieredNetwork}: the tiers it joins, the host names its containers answer to
 * there, and the host ports it publishes. Built and checked when the component resolves its arguments
 * ({@link TieredNetwork.checkClaim}), recorded when it is constructed ({@link TieredNetwork.claim}).
 */
export interface NetworkClaim {
    /** The component as errors name it, e.g. `AppServerPool "app"`. */
    readonly owner: string;
    /** Its argument naming the tiers, e.g. "tiers" or "tier". */
    readonly tiersArgument: string;
    readonly tiers: readonly string[];
    /** @default [] */
    readonly aliases?: readonly AliasClaim[];
    /** @default [] */
    readonly hostPorts?: readonly HostPortClaim[];
    /** The network targets the component can run on; another target is refused under `network`. @default ["host"] */
    readonly targets?: readonly NetworkTarget[];
}

/**
 * Records a problem in `c` unless `network` is a {@link TieredNetwork} (a plain-JavaScript caller may pass
 * anything). Narrows `network`.
 */
export function checkNetworkArg(c: ArgChecker, network: unknown): network is TieredNetwork {
    return c.check(
        network instanceof TieredNetwork,
        "network",
        "is not a TieredNetwork",
        "pass the cluster's TieredNetwork",
    );
}

/** One tier's settings with defaults applied. */
export interface ResolvedTier {
    readonly internal: boolean;
    readonly driver: string;
    readonly subnet: string | undefined;
    readonly labels: Readonly<Record<string, string>>;
    /** Swarm only (undefined with target "host", so host networks keep their inputs). */
    readonly attachable: boolean | undefined;
}

/** TieredNetwork's arguments with every default applied. */
export interface ResolvedNetworkArgs {
    readonly target: NetworkTarget;
    /** Tier names, in declaration order. */
    readonly tierNames: readonly string[];
    readonly tiers: Readonly<Record<string, ResolvedTier>>;
}

/** Applies defaults and checks every argument; throws an ArgumentError before anything is created. Pure. */
export function resolveNetworkArgs(name: string, args: TieredNetworkArgs): ResolvedNetworkArgs {
    const given = args.tiers ?? STANDARD_TIERS;
    const c = new ArgChecker("TieredNetwork", name);
    const target = args.target ?? "host";
    c.check(
        NETWORK_TARGETS.includes(target),
        "target",
        `is "${String(target)}"`,
        `use one of ${NETWORK_TARGETS.map((t) => `"${t}"`).join(", ")}`,
    );
    validateTiers(c, given, target);
    c.throwIfAny();
    const swarm = target === "swarm";
    const tierNames = Object.keys(given);
    const tiers = Object.fromEntries(
        tierNames.map((t): [string, ResolvedTier] => {
            const s = given[t] ?? {};
            return [
                t,
                {
                    internal: s.internal ?? false,
                    driver: s.driver ?? (swarm ? "overlay" : "bridge"),
                    subnet: s.subnet,
                    labels: s.labels ?? {},
                    attachable: swarm ? (s.attachable ?? true) : undefined,
                },
            ];
        }),
    );
    return { target, tierNames, tiers };
}

/**
 * A set of named Docker networks ("tiers"). Containers of the other components join tiers by name; unknown tier
 * names are rejected when those components are constructed.
 */
export class TieredNetwork extends pulumi.ComponentResource {
    /** Where the cluster runs: containers on one engine ("host") or swarm services ("swarm"). */
    public readonly target: NetworkTarget;
    /** Tier names, in declaration order. */
    public readonly tierNames: readonly string[];
    /** Tier name → its Docker network. */
    public readonly networks: Readonly<Record<string, docker.Network>>;
    /** Tier name → Docker network name (`<project>-<stack>-<name>-<tier>`). */
    public readonly networkNames: Readonly<Record<string, pulumi.Output<string>>>;
    /** Tier name → whether it is internal. */
    public readonly internal: Readonly<Record<string, boolean>>;
    /** Published host ports, each with the claim's owner and argument, e.g. `NginxLoadBalancer "web" (hostPort)`. */
    private readonly hostPorts: { ip: string; port: number; protocol: "tcp" | "udp"; owner: string }[] = [];
    /** `<tier>/<alias>` → the component whose containers answer to that name. */
    private readonly aliases = new Map<string, string>();

    constructor(name: string, args: TieredNetworkArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        const r = resolveNetworkArgs(name, args);
        super("dockercluster:network:TieredNetwork", name, {}, opts);

        this.target = r.target;
        this.tierNames = r.tierNames;
        const networks: Record<string, docker.Network> = {};
        const networkNames: Record<string, pulumi.Output<string>> = {};
        const internal: Record<string, boolean> = {};
        for (const tier of r.tierNames) {
            const s = r.tiers[tier];
            const logical = `${name}-${tier}`;
            const net = new docker.Network(
                logical,
                {
                    name: dockerName(logical),
                    driver: s.driver,
                    internal: s.internal,
                    ...(s.attachable !== undefined ? { attachable: s.attachable } : {}),
                    ...(s.subnet !== undefined ? { ipamConfigs: [{ subnet: s.subnet }] } : {}),
                    labels: labelList({ ...componentLabels(name, `tier:${tier}`), ...s.labels }),
                },
                { parent: this, deleteBeforeReplace: true },
            );
            networks[tier] = net;
            networkNames[tier] = net.name;
            internal[tier] = s.internal;
        }
        this.networks = networks;
        this.networkNames = networkNames;
        this.internal = internal;
        this.registerOutputs({ networkNames: this.networkNames, tierNames: this.tierNames });
    }

    /**
     * Who already publishes host port `port` on `ip` in this cluster (components that share this network), or
     * undefined. `0.0.0.0` and `::` conflict with every address.
     */
    private hostPortOwner(ip: string, port: number, protocol: "tcp" | "udp"): string | undefined {
        const any = (a: string): boolean => a === "0.0.0.0" || a === "::";
        for (const claim of this.hostPorts) {
            if (claim.port === port && claim.protocol === protocol && (claim.ip === ip || any(claim.ip) || any(ip)))
                return claim.owner;
        }
        return undefined;
    }

    /** Which component's containers already answer to host name `alias` on `tier`, or undefined. */
    private aliasOwner(tier: string, alias: string): string | undefined {
        return this.aliases.get(`${tier}/${alias}`);
    }

    /**
     * Checks `claim` against this network and what other components claimed before; records each problem in `c`
     * under the claim's argument: a tier this network does not have (or one listed twice), a host name another
     * component already answers to on one of the tiers (Docker DNS would round-robin it across both, sending some
     * connections to the wrong container), a host port another component publishes. The component records `claim`
     * with {@link claim} once it is constructed.
     */
    checkClaim(c: ArgChecker, claim: NetworkClaim): void {
        // Refused rather than built as plain containers next to a swarm's services, which would not see them.
        c.check(
            (claim.targets ?? ["host"]).includes(this.target),
            "network",
            `targets "${this.target}", which ${claim.owner} does not support yet`,
            'use a TieredNetwork with target "host" (the default); see sdk/README.md "Scaling out: Docker Swarm"',
        );
        checkTierNames(c, claim.tiersArgument, claim.tiers, this.tierNames);
        for (const { argument, names, fix } of claim.aliases ?? []) {
            for (const tier of claim.tiers) {
                for (const alias of names) {
                    const owner = this.aliasOwner(tier, alias);
                    c.check(
                        owner === undefined,
                        argument,
                        `gives the host name "${alias}", which ${owner} already answers to on tier "${tier}"`,
                        fix,
                    );
                }
            }
        }
        for (const { argument, ip, port, protocol, fix } of claim.hostPorts ?? []) {
            if (!Number.isInteger(port)) continue; // reported by the component's own port check
            const owner = this.hostPortOwner(ip, port, protocol ?? "tcp");
            const shown = protocol === "udp" ? `${port}/udp` : `${port}`;
            c.check(owner === undefined, argument, `${shown} is already published by ${owner}`, fix);
        }
    }

    /**
     * Records `claim` (checked by {@link checkClaim}), so a later component using one of its host names on the
     * same tier, or one of its host ports, is rejected. One owner may use a name on several containers.
     */
    claim(claim: NetworkClaim): void {
        for (const { names } of claim.aliases ?? [])
            for (const tier of claim.tiers)
                for (const alias of names) this.aliases.set(`${tier}/${alias}`, claim.owner);
        for (const { argument, ip, port, protocol } of claim.hostPorts ?? [])
            this.hostPorts.push({ ip, port, protocol: protocol ?? "tcp", owner: `${claim.owner} (${argument})` });
    }

    /** Whether `tier` is one of this network's tiers. */
    hasTier(tier: string): boolean {
        return this.tierNames.includes(tier);
    }

    /**
     * `networksAdvanced` entries joining `tiers`, each with the given network `aliases` (the names other containers
     * on that tier resolve to this container). Throws on an unknown tier; components check names earlier.
     */
    attach(tiers: readonly string[], aliases: readonly string[]): NetworkAttachment[] {
        return tiers.map((tier) => {
            const net = this.networks[tier];
            if (net === undefined) {
                throw new Error(`TieredNetwork: unknown tier "${tier}"; use one of: ${this.tierNames.join(", ")}`);
            }
            return { name: net.name, aliases: [...aliases] };
        });
    }

    /**
     * `taskSpec.networksAdvanceds` entries of a swarm service joining `tiers` with `aliases` (target "swarm").
     * Throws on an unknown tier; components check names earlier.
     */
    attachService(tiers: readonly string[], aliases: readonly string[]): ServiceNetworkAttachment[] {
        return this.attach(tiers, aliases).map((a) => ({ name: a.name, aliases: a.aliases }));
    }
}
