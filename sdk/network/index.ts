/**
 * Tiered networks: seed 002's web/app/db layout, generalised to named tiers.
 *
 * Each tier is one Docker bridge network. A container joins the tiers it must talk on; Docker's DNS answers a
 * name only on the networks both containers share, so a container on the web tier cannot even resolve the
 * database's name. Mark the database tier `internal` and it has no route off the host either.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { dockerName, isDnsLabel, labelList, standardLabels } from "../naming";
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
}

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
}

/** One network attachment, as `docker.Container`'s `networksAdvanced` takes it. */
export type NetworkAttachment = docker.types.input.ContainerNetworksAdvanced;

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Checks tier names and settings; records problems in `c`. Pure. */
export function validateTiers(c: ArgChecker, tiers: Readonly<Record<string, TierArgs>>): void {
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

/**
 * Records a problem in `c` for every entry of `wanted` that is not one of `known` (and for an empty list).
 * `argument` names the caller's argument, e.g. "tiers".
 */
export function checkTierNames(
    c: ArgChecker,
    argument: string,
    wanted: readonly string[],
    known: readonly string[],
): void {
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

/**
 * Records a problem in `c` for each of `aliases` that another component already answers to on one of `tiers` of
 * `network`: Docker DNS would round-robin the name across both, sending some connections to the wrong container.
 */
export function checkAliases(
    c: ArgChecker,
    argument: string,
    network: TieredNetwork,
    tiers: readonly string[],
    aliases: readonly string[],
    fix: string,
): void {
    for (const tier of tiers) {
        for (const alias of aliases) {
            const owner = network.aliasOwner(tier, alias);
            c.check(
                owner === undefined,
                argument,
                `gives the host name "${alias}", which ${owner} already answers to on tier "${tier}"`,
                fix,
            );
        }
    }
}

/**
 * A set of named Docker networks ("tiers"). Containers of the other components join tiers by name; unknown tier
 * names are rejected when those components are constructed.
 */
export class TieredNetwork extends pulumi.ComponentResource {
    /** Tier names, in declaration order. */
    public readonly tierNames: readonly string[];
    /** Tier name → its Docker network. */
    public readonly networks: Readonly<Record<string, docker.Network>>;
    /** Tier name → Docker network name (`<project>-<stack>-<name>-<tier>`). */
    public readonly networkNames: Readonly<Record<string, pulumi.Output<string>>>;
    /** Tier name → whether it is internal. */
    public readonly internal: Readonly<Record<string, boolean>>;
    private readonly hostPorts: { ip: string; port: number; owner: string }[] = [];
    /** `<tier>/<alias>` → the component whose containers answer to that name. */
    private readonly aliases = new Map<string, string>();

    constructor(name: string, args: TieredNetworkArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
        const tiers = args.tiers ?? STANDARD_TIERS;
        const c = new ArgChecker("TieredNetwork", name);
        validateTiers(c, tiers);
        c.throwIfAny();
        super("dockercluster:network:TieredNetwork", name, {}, opts);

        const project = pulumi.getProject();
        const stack = pulumi.getStack();
        this.tierNames = Object.keys(tiers);
        const networks: Record<string, docker.Network> = {};
        const networkNames: Record<string, pulumi.Output<string>> = {};
        const internal: Record<string, boolean> = {};
        for (const tier of this.tierNames) {
            const s = tiers[tier] ?? {};
            const logical = `${name}-${tier}`;
            const net = new docker.Network(
                logical,
                {
                    name: dockerName(logical),
                    driver: s.driver ?? "bridge",
                    internal: s.internal ?? false,
                    ...(s.subnet !== undefined ? { ipamConfigs: [{ subnet: s.subnet }] } : {}),
                    labels: labelList({ ...standardLabels(project, stack, name, `tier:${tier}`), ...(s.labels ?? {}) }),
                },
                { parent: this, deleteBeforeReplace: true },
            );
            networks[tier] = net;
            networkNames[tier] = net.name;
            internal[tier] = s.internal ?? false;
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
    hostPortOwner(ip: string, port: number): string | undefined {
        const any = (a: string): boolean => a === "0.0.0.0" || a === "::";
        for (const claim of this.hostPorts) {
            if (claim.port === port && (claim.ip === ip || any(claim.ip) || any(ip))) return claim.owner;
        }
        return undefined;
    }

    /** Which component's containers already answer to host name `alias` on `tier`, or undefined. */
    aliasOwner(tier: string, alias: string): string | undefined {
        return this.aliases.get(`${tier}/${alias}`);
    }

    /**
     * Records that `owner`'s containers answer to `aliases` on `tiers`, so a later component using one of those
     * names on the same tier is rejected (see {@link checkAliases}). One owner may use a name on several containers.
     */
    claimAliases(tiers: readonly string[], aliases: readonly string[], owner: string): void {
        for (const tier of tiers) for (const alias of aliases) this.aliases.set(`${tier}/${alias}`, owner);
    }

    /** Records that `owner` publishes `ip:port`, so a later component publishing the same port is rejected. */
    claimHostPort(ip: string, port: number, owner: string): void {
        this.hostPorts.push({ ip, port, owner });
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
}
