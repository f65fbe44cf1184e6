/** Shared bootstrap fixtures for the provider tests: two migration sets (app, sso) and content. */
import { BootstrapArgs } from "../../provider";
import { BootstrapInputs } from "../../provider/types";
import { inputsFor, uniqueName } from "./pg";

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
                scripts: {
                    "V1__sso_schema.sql":
                        "CREATE TABLE sso.account (id serial PRIMARY KEY, login text UNIQUE NOT NULL);",
                },
            },
        ],
        content: {
            items: {
                "001_welcome.sql":
                    "INSERT INTO item (name) SELECT 'welcome' WHERE NOT EXISTS (SELECT 1 FROM item WHERE name = 'welcome');",
            },
        },
    };
    return { db, owner, app, ownerPassword, appPassword, args, inputs: () => inputsFor(args) };
}

/** The args with one migration set's scripts replaced. */
export function withScripts(
    args: Omit<BootstrapArgs, "connection">,
    set: string,
    scripts: Record<string, string>,
): Omit<BootstrapArgs, "connection"> {
    return { ...args, migrationSets: (args.migrationSets ?? []).map((s) => (s.name === set ? { ...s, scripts } : s)) };
}

/** A Flyway folder as a team keeps it: CRLF, a byte-order mark, a subfolder, a lone CONCURRENTLY file, a script config, callbacks, placeholders, an undo file, a misnamed one. */
export const V1 =
    "CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL);\r\nINSERT INTO item (name) VALUES ('first');\r\n";
export const dropIn: Record<string, string> = {
    "V1__init.sql": V1,
    "V2__made_by.sql":
        "\uFEFFALTER TABLE item ADD COLUMN made_by text NOT NULL DEFAULT '${flyway:user}';\nCOMMENT ON TABLE item IS '${owner_note}';\n",
    "indexes/V3__name_index.sql": "CREATE INDEX CONCURRENTLY item_name_idx ON item (name);\n",
    "V4__backfill.sql":
        "UPDATE item SET name = upper(name) WHERE id > 0;\nCREATE INDEX CONCURRENTLY item_made_by_idx ON item (made_by);\n",
    "V4__backfill.sql.conf": "executeInTransaction=false\n",
    "views/R__item_names.sql": "CREATE OR REPLACE VIEW item_names AS SELECT name FROM item;\n",
    "beforeMigrate.sql": "CREATE TABLE IF NOT EXISTS migrate_log (at serial, what text);\n",
    "afterEachMigrate.sql": "INSERT INTO migrate_log (what) VALUES ('after each');\n",
    "afterMigrate.sql": "INSERT INTO migrate_log (what) VALUES ('after all');\n",
    "afterMigrateError.sql": "INSERT INTO migrate_log (what) VALUES ('error');\n",
    "U2__made_by.sql": "ALTER TABLE item DROP COLUMN made_by;\n",
    "README.sql": "this is not SQL and is never run\n",
};
export const dropInPlaceholders = { owner_note: "owned by the shop team" };
