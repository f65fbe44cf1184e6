/**
 * `Bootstrap`, the program-side resource: its arguments are prepared (read, checksummed, checked) by `prepare.ts`
 * and carried out by the dynamic provider in `provider.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BootstrapArgs } from "./args";
import { failureLines, prepareBootstrap, PreparedBootstrap, wireInputs } from "./prepare";
import { bootstrapProvider } from "./provider";
import { AppliedMigrations } from "./types";

/**
 * The database bootstrap as one tracked resource: waits for Postgres, creates roles and the database, applies
 * outstanding migrations per set and deploys content, once, under an advisory lock. See README "The bootstrap (provider/)".
 */
export class Bootstrap extends pulumi.dynamic.Resource {
    /** Applied migrations per set (script file → checksum), as recorded in the history tables. */
    public readonly applied!: pulumi.Output<AppliedMigrations>;
    /** Names of the managed roles. */
    public readonly roleNames!: pulumi.Output<string[]>;
    /** The database name. */
    public readonly databaseName!: pulumi.Output<string>;
    /** What the last refresh found different from the last `up` (empty when in shape); the next `up` repairs it. */
    public readonly drift!: pulumi.Output<string[]>;
    /** `postgresql://role:password@host:port/database` for the application role (secret). */
    public readonly applicationUrl: pulumi.Output<string>;

    /**
     * @param args the bootstrap's arguments, or a bootstrap a component prepared (and checked) with `prepareBootstrap`.
     * Arguments the provider would refuse throw here, all of them in one error, before the resource exists.
     */
    constructor(name: string, args: BootstrapArgs | PreparedBootstrap, opts: pulumi.CustomResourceOptions = {}) {
        const prepared = isPrepared(args) ? args : prepareBootstrap(args);
        if (prepared.failures.length > 0)
            throw new Error(`Bootstrap ${name}: arguments refused:\n${failureLines(prepared.failures)}`);
        const a = prepared.args;
        const roles = a.roles ?? [];
        const appRole = a.applicationRole ?? roles.find((r) => r.login !== false)?.name;
        const c = a.connection;
        const inputs = wireInputs(a, prepared.migrationSets, (v) => pulumi.secret(v));
        super(
            bootstrapProvider,
            name,
            inputs,
            {
                ...opts,
                additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "connection", "roles"],
            },
            "postgres",
            "Bootstrap",
        );

        const appPassword = roles.find((r) => r.name === appRole)?.password;
        const endpointHost = a.applicationEndpoint?.host ?? c.host;
        const endpointPort = a.applicationEndpoint?.port ?? c.port ?? 5432;
        this.applicationUrl = pulumi.secret(
            pulumi
                .all([endpointHost, endpointPort, appPassword ?? "", this.databaseName])
                .apply(([h, p, pw, db]) =>
                    appRole === undefined
                        ? ""
                        : `postgresql://${encodeURIComponent(appRole)}${pw ? `:${encodeURIComponent(pw)}` : ""}@${h}:${p}/${encodeURIComponent(db ?? a.database.name)}`,
                ),
        );
    }
}

function isPrepared(args: BootstrapArgs | PreparedBootstrap): args is PreparedBootstrap {
    return "failures" in args && "args" in args;
}
