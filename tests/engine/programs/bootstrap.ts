/**
 * The real-engine tests' program: a `Bootstrap` against the tests' Postgres, everything it does chosen by stack
 * config, so a test changes the program's inputs the way a user does (`pulumi config set`, a new migration file).
 *
 * Config: pgHost, pgPort, pgUser, adminPassword (secret), database, owner, appRole, appPassword (secret),
 * migrations (a directory), and optionally `after`: the name of a second database whose bootstrap depends on
 * the first (it stands for whatever must start only once the bootstrap is done).
 */
import * as pulumi from "@pulumi/pulumi";
import { Bootstrap } from "../../../provider";

export function bootstrapProgram(): Record<string, pulumi.Output<unknown>> {
    const cfg = new pulumi.Config();
    const connection = {
        host: cfg.require("pgHost"),
        port: cfg.requireNumber("pgPort"),
        user: cfg.require("pgUser"),
        password: cfg.requireSecret("adminPassword"),
    };
    const owner = cfg.require("owner");
    const appRole = cfg.require("appRole");
    const boot = new Bootstrap("db", {
        connection,
        roles: [{ name: owner }, { name: appRole, password: cfg.requireSecret("appPassword"), memberOf: [] }],
        database: { name: cfg.require("database"), owner },
        migrationSets: [{ name: "app", directory: cfg.require("migrations") }],
        applicationRole: appRole,
    });
    const after = cfg.get("after");
    if (after) new Bootstrap("after", { connection, database: { name: after } }, { dependsOn: boot });
    return { applicationUrl: boot.applicationUrl, applied: boot.applied, drift: boot.drift, roleNames: boot.roleNames };
}
