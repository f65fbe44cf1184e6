/** Shared bootstrap fixtures for the provider tests: two migration sets (app, sso) and content. */
import { BootstrapArgs } from "../../provider/resource";
import { BootstrapInputs } from "../../provider/types";
import { inputsFor, uniqueName } from "../support/pg";

export interface Fixture {
    db: string;
    owner: string;
    app: string;
    ownerPassword: string;
    appPassword: string;
    args: Omit<BootstrapArgs, "connection">;
    inputs: () => BootstrapInputs;
}

export function fixture(): Fixture {
    const db = uniqueName("db");
    const owner = uniqueName("own");
    const app = uniqueName("app");
    const ownerPassword = `own-secret-${Math.random().toString(36).slice(2)}`;
    const appPassword = `app-secret-${Math.random().toString(36).slice(2)}`;
    const args: Omit<BootstrapArgs, "connection"> = {
        roles: [
            { name: owner, password: ownerPassword },
            { name: app, password: appPassword, connectionLimit: 20 },
        ],
        database: { name: db, owner, extensions: ["pgcrypto"] },
        migrationSets: [
            {
                name: "app",
                scripts: {
                    "V1__init.sql": `CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL);\nGRANT SELECT, INSERT ON item TO "${app}";`,
                    "V1.1__add_price.sql": "ALTER TABLE item ADD COLUMN price numeric NOT NULL DEFAULT 0;",
                    "R__item_view.sql": "CREATE OR REPLACE VIEW item_names AS SELECT name FROM item;",
                },
            },
            {
                name: "sso",
                schema: "sso",
                scripts: { "V1__sso_schema.sql": "CREATE TABLE sso.account (id serial PRIMARY KEY, login text UNIQUE NOT NULL);" },
            },
        ],
        content: { items: { "001_welcome.sql": "INSERT INTO item (name) SELECT 'welcome' WHERE NOT EXISTS (SELECT 1 FROM item WHERE name = 'welcome');" } },
    };
    return { db, owner, app, ownerPassword, appPassword, args, inputs: () => inputsFor(args) };
}

/** The args with one migration set's scripts replaced. */
export function withScripts(args: Omit<BootstrapArgs, "connection">, set: string, scripts: Record<string, string>): Omit<BootstrapArgs, "connection"> {
    return { ...args, migrationSets: (args.migrationSets ?? []).map((s) => (s.name === set ? { ...s, scripts } : s)) };
}
