/** The migration lint (provider/lint.ts): pure, so these tests need no server. */
import { LINT_RULES, LintFinding, LintRule, lintMigrations } from "../../provider/lint";

/** Lints one file (or several) and keeps what a reviewer reads first: file, line and rule. */
function lint(
    files: string | Record<string, string>,
    options?: Parameters<typeof lintMigrations>[2],
): { file: string; line: number; rule: LintRule }[] {
    const list = typeof files === "string" ? { "V2__change.sql": files } : files;
    return lintMigrations(
        "app",
        Object.entries(list).map(([file, sql]) => ({ file, sql })),
        options,
    ).map(({ file, line, rule }) => ({ file, line, rule }));
}
const rulesOf = (sql: string) => lint(sql).map((f) => f.rule);
const full = (sql: string): LintFinding[] => lintMigrations("app", [{ file: "V2__change.sql", sql }]);

/**
 * Every rule: a statement that must fire on an existing table (one the batch did not create), and its safe twin,
 * which must not. The safe twin is the way the rule's message recommends, where there is one.
 */
const CATALOGUE: { rule: LintRule; risky: string; safe: string; names: string }[] = [
    { rule: "drop-table", risky: "DROP TABLE users;", safe: "DROP INDEX users_email_idx;", names: "users" },
    {
        rule: "drop-column",
        risky: "ALTER TABLE users DROP COLUMN legacy_flag;",
        safe: "ALTER TABLE users DROP CONSTRAINT users_legacy_check;",
        names: "users.legacy_flag",
    },
    {
        rule: "drop-schema",
        risky: "DROP SCHEMA reporting CASCADE;",
        safe: "CREATE SCHEMA scratch; DROP SCHEMA scratch CASCADE;",
        names: "reporting",
    },
    {
        rule: "drop-database",
        risky: "DROP DATABASE analytics;",
        safe: "CREATE DATABASE scratch; DROP DATABASE scratch;",
        names: "analytics",
    },
    {
        rule: "type-change",
        risky: "ALTER TABLE orders ALTER COLUMN total TYPE numeric(10, 2);",
        safe: "ALTER TABLE orders ADD COLUMN total_v2 numeric(10, 2);",
        names: "orders.total",
    },
    {
        rule: "set-not-null",
        risky: "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        safe:
            "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n" +
            "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        names: "users.email",
    },
    {
        rule: "not-null-column-without-default",
        risky: "ALTER TABLE users ADD COLUMN plan text NOT NULL;",
        safe: "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
        names: "users.plan",
    },
    {
        rule: "index-without-concurrently",
        risky: "CREATE INDEX users_email_idx ON users (email);",
        safe: "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
        names: "users",
    },
    {
        rule: "constraint-without-not-valid",
        risky: "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);",
        safe:
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n" +
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;",
        names: "orders",
    },
    {
        rule: "truncate",
        risky: "TRUNCATE sessions;",
        safe: "DELETE FROM sessions WHERE expires_at < now();",
        names: "sessions",
    },
    {
        rule: "delete-without-where",
        risky: "DELETE FROM sessions;",
        safe: "DELETE FROM sessions WHERE expires_at < now();",
        names: "sessions",
    },
    {
        rule: "update-without-where",
        risky: "UPDATE users SET plan = 'free';",
        safe: "UPDATE users SET plan = 'free' WHERE plan IS NULL;",
        names: "users",
    },
    {
        rule: "rename-table",
        risky: "ALTER TABLE users RENAME TO accounts;",
        safe: "CREATE VIEW accounts AS SELECT * FROM users;",
        names: "users",
    },
    {
        rule: "rename-column",
        risky: "ALTER TABLE users RENAME COLUMN mail TO email;",
        safe: "ALTER TABLE users ADD COLUMN email text;",
        names: "users.mail",
    },
];

describe("every rule fires on its case and stays quiet on its safe twin", () => {
    it.each(CATALOGUE)("$rule", ({ rule, risky, safe, names }) => {
        const found = full(risky);
        expect(found.map((f) => f.rule)).toEqual([rule]);
        // The message names the object, the risk and the safe way.
        expect(found[0].message).toContain(names);
        expect(found[0].message).toMatch(/Safe way: /);
        expect(found[0].message).toContain(`bootstrap:allow ${rule}`);
        expect(found[0]).toMatchObject({ set: "app", file: "V2__change.sql", line: 1 });
        expect(rulesOf(safe)).toEqual([]);
    });

    it("the catalogue covers every rule", () => {
        expect(CATALOGUE.map((c) => c.rule).sort()).toEqual([...LINT_RULES].sort());
    });

    it.each(CATALOGUE.filter((c) => !["drop-schema", "drop-database"].includes(c.rule)))(
        "$rule is quiet on a table created earlier in the same batch",
        ({ risky }) => {
            const create =
                "CREATE TABLE users (id bigint PRIMARY KEY, mail text, email text, legacy_flag boolean);\n" +
                "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total integer);\n" +
                "CREATE TABLE sessions (id uuid PRIMARY KEY, expires_at timestamptz);\n";
            expect(lint({ "V1__init.sql": create, "V2__change.sql": risky })).toEqual([]);
            expect(lint({ "V1__init.sql": risky })).not.toEqual([]);
        },
    );
});

describe("statement forms", () => {
    it("reads DROP TABLE lists, IF EXISTS, CASCADE, and one finding per existing table", () => {
        expect(
            lint("CREATE TABLE tmp_import (id int);\nDROP TABLE IF EXISTS tmp_import, legacy_events, audit CASCADE;"),
        ).toEqual([
            { file: "V2__change.sql", line: 2, rule: "drop-table" },
            { file: "V2__change.sql", line: 2, rule: "drop-table" },
        ]);
        expect(full("DROP TABLE IF EXISTS legacy_events, audit CASCADE;").map((f) => f.message.split(" ")[2])).toEqual([
            "legacy_events",
            "audit",
        ]);
    });

    it("a table dropped by the batch and made again is new again; one dropped and not made again is gone", () => {
        expect(
            lint("CREATE TABLE t (id int);\nDROP TABLE t;\nCREATE TABLE t (id int, v text);\nCREATE INDEX ON t (v);"),
        ).toEqual([]);
    });

    it("reads every ALTER TABLE action of a comma list, with IF EXISTS, ONLY and optional COLUMN", () => {
        const sql =
            "ALTER TABLE IF EXISTS ONLY public.users\n" +
            "  ADD COLUMN nickname text,\n" +
            "  DROP legacy_flag CASCADE,\n" +
            "  DROP COLUMN IF EXISTS old_mail,\n" +
            "  ALTER email SET DATA TYPE varchar(320),\n" +
            "  ALTER COLUMN name DROP NOT NULL,\n" +
            "  ALTER COLUMN name SET DEFAULT '',\n" +
            "  DROP CONSTRAINT users_name_key;";
        expect(rulesOf(sql)).toEqual(["drop-column", "drop-column", "type-change"]);
        expect(full(sql)[2].message).toContain("varchar(320)");
    });

    it("ADD COLUMN NOT NULL: a default, an identity, a serial or a generated value fills the rows; a primary key does not", () => {
        expect(rulesOf("ALTER TABLE users ADD COLUMN created_at timestamptz DEFAULT now() NOT NULL;")).toEqual([]);
        expect(
            rulesOf("ALTER TABLE users ADD COLUMN IF NOT EXISTS n bigint GENERATED ALWAYS AS IDENTITY NOT NULL;"),
        ).toEqual([]);
        expect(rulesOf("ALTER TABLE users ADD COLUMN seq bigserial NOT NULL;")).toEqual([]);
        expect(rulesOf("ALTER TABLE users ADD COLUMN total int NOT NULL GENERATED ALWAYS AS (a + b) STORED;")).toEqual(
            [],
        );
        expect(rulesOf("ALTER TABLE users ADD COLUMN note text;")).toEqual([]);
        expect(rulesOf("ALTER TABLE users ADD COLUMN note text CHECK (note <> 'x');")).toEqual([]);
        expect(rulesOf("ALTER TABLE users ADD uid uuid PRIMARY KEY;")).toEqual(["not-null-column-without-default"]);
        expect(rulesOf("alter table users add column plan text not null references plans (id);")).toEqual([
            "not-null-column-without-default",
        ]);
    });

    it("CREATE INDEX: UNIQUE, IF NOT EXISTS, no name, USING; ON ONLY (a partitioned parent) and DROP INDEX are quiet", () => {
        expect(
            rulesOf("CREATE UNIQUE INDEX IF NOT EXISTS users_email_key ON users USING btree (lower(email));"),
        ).toEqual(["index-without-concurrently"]);
        expect(rulesOf("create index on\n  measurements (logdate) where logdate > '2024-01-01';")).toEqual([
            "index-without-concurrently",
        ]);
        expect(
            rulesOf(
                "CREATE INDEX measurements_logdate_idx ON ONLY measurements (logdate);\n" +
                    "CREATE INDEX CONCURRENTLY m2024_logdate_idx ON measurements_y2024 (logdate);\n" +
                    "ALTER INDEX measurements_logdate_idx ATTACH PARTITION m2024_logdate_idx;",
            ),
        ).toEqual([]);
        expect(rulesOf("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON users (email);")).toEqual([]);
        expect(rulesOf("DROP INDEX CONCURRENTLY IF EXISTS users_email_key;\nDROP INDEX users_name_idx;")).toEqual([]);
        expect(full("CREATE UNIQUE INDEX users_email_key ON public.users (email);")[0].message).toContain(
            "users_email_key on existing table public.users",
        );
    });

    it("ADD PRIMARY KEY / UNIQUE builds an index unless it adopts one (USING INDEX)", () => {
        expect(rulesOf("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);")).toEqual([
            "index-without-concurrently",
        ]);
        expect(rulesOf("ALTER TABLE users ADD PRIMARY KEY (id);")).toEqual(["index-without-concurrently"]);
        expect(rulesOf("ALTER TABLE users ADD CONSTRAINT u UNIQUE (email) USING INDEX TABLESPACE fast;")).toEqual([
            "index-without-concurrently",
        ]);
        expect(
            rulesOf(
                "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n" +
                    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
            ),
        ).toEqual([]);
    });

    it("CHECK and FOREIGN KEY without NOT VALID; the NOT VALID twin is quiet", () => {
        expect(rulesOf("ALTER TABLE orders ADD CHECK (total >= 0);")).toEqual(["constraint-without-not-valid"]);
        expect(rulesOf("ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0) NOT VALID;")).toEqual([]);
        expect(rulesOf("ALTER TABLE orders ADD FOREIGN KEY (user_id) REFERENCES users;")).toEqual([
            "constraint-without-not-valid",
        ]);
    });

    it("SET NOT NULL stays a finding when the not-null check is NOT VALID and never validated, or covers another column", () => {
        const check = "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK ((email IS NOT NULL)) NOT VALID;\n";
        expect(rulesOf(check + "ALTER TABLE users ALTER COLUMN email SET NOT NULL;")).toEqual(["set-not-null"]);
        expect(
            rulesOf(
                check +
                    "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\nALTER TABLE users ALTER COLUMN name SET NOT NULL;",
            ),
        ).toEqual(["set-not-null"]);
        expect(
            rulesOf(
                check +
                    'ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;\nALTER TABLE public.users ALTER COLUMN "email" SET NOT NULL;',
            ),
        ).toEqual([]);
        // A check added valid (a scan under lock of its own, reported) also lets SET NOT NULL skip its scan.
        expect(
            rulesOf(
                "ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL);\nALTER TABLE users ALTER email SET NOT NULL;",
            ),
        ).toEqual(["constraint-without-not-valid"]);
    });

    it("TRUNCATE reads TABLE, ONLY, lists and options", () => {
        expect(rulesOf("TRUNCATE TABLE ONLY sessions, tokens RESTART IDENTITY CASCADE;")).toEqual([
            "truncate",
            "truncate",
        ]);
        expect(full("TRUNCATE TABLE ONLY sessions, tokens RESTART IDENTITY CASCADE;")[1].message).toContain(
            "TRUNCATE tokens",
        );
    });

    it("DELETE / UPDATE: a WHERE of a subquery or of a CASE does not count; USING, FROM and WHERE CURRENT OF are read", () => {
        expect(rulesOf("UPDATE users SET plan = (SELECT id FROM plans WHERE name = 'free');")).toEqual([
            "update-without-where",
        ]);
        expect(rulesOf("UPDATE ONLY users u SET plan = p.id FROM plans p WHERE p.name = u.plan_name;")).toEqual([]);
        expect(
            rulesOf("UPDATE users SET tier = CASE WHEN paid THEN 'pro' ELSE 'free' END WHERE tier IS NULL;"),
        ).toEqual([]);
        expect(rulesOf("DELETE FROM ONLY sessions s USING users u WHERE s.user_id = u.id AND u.deleted;")).toEqual([]);
        expect(rulesOf("DELETE FROM sessions WHERE id IN (SELECT id FROM sessions);")).toEqual([]);
        expect(rulesOf("DELETE FROM sessions RETURNING id;")).toEqual(["delete-without-where"]);
        expect(
            rulesOf(
                "DO $$ DECLARE c CURSOR FOR SELECT * FROM users; BEGIN OPEN c; FETCH c; UPDATE users SET a = 1 WHERE CURRENT OF c; END $$;",
            ),
        ).toEqual([]);
        expect(
            rulesOf(
                "INSERT INTO users (id, plan) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET plan = excluded.plan;",
            ),
        ).toEqual([]);
    });

    it("WITH: a data-modifying CTE and the main statement are both read", () => {
        expect(
            rulesOf("WITH gone AS (DELETE FROM sessions RETURNING user_id)\nUPDATE users SET active = false;"),
        ).toEqual(["delete-without-where", "update-without-where"]);
        expect(
            rulesOf(
                "WITH RECURSIVE stale (id) AS (SELECT id FROM sessions WHERE expires_at < now())\n" +
                    "DELETE FROM sessions WHERE id IN (SELECT id FROM stale);",
            ),
        ).toEqual([]);
    });

    it("renames: of an existing table or column fire; of a new table the newness follows the new name", () => {
        expect(rulesOf("ALTER TABLE users RENAME CONSTRAINT a TO b;")).toEqual([]);
        expect(rulesOf("ALTER TABLE users RENAME name TO full_name;")).toEqual(["rename-column"]);
        expect(
            lint(
                "CREATE TABLE staging_users (id int);\nALTER TABLE staging_users RENAME TO users2;\n" +
                    "CREATE INDEX ON users2 (id);\nALTER TABLE users2 RENAME COLUMN id TO user_id;",
            ),
        ).toEqual([]);
        expect(
            rulesOf(
                "CREATE TABLE staging_users (id int);\nALTER TABLE staging_users RENAME TO users2;\nCREATE INDEX ON staging_users (id);",
            ),
        ).toEqual(["index-without-concurrently"]);
    });

    it("CREATE TABLE … AS, TEMP and UNLOGGED tables are new; CREATE … IF NOT EXISTS is not (the table may exist, with rows)", () => {
        expect(rulesOf("CREATE TABLE users_copy AS SELECT * FROM users;\nCREATE INDEX ON users_copy (id);")).toEqual(
            [],
        );
        expect(rulesOf("CREATE TEMP TABLE t (id int);\nDELETE FROM t;")).toEqual([]);
        expect(rulesOf("CREATE UNLOGGED TABLE t (id int);\nTRUNCATE t;")).toEqual([]);
        expect(rulesOf("CREATE TABLE IF NOT EXISTS users (id int);\nCREATE INDEX ON users (id);")).toEqual([
            "index-without-concurrently",
        ]);
        expect(rulesOf("CREATE SCHEMA IF NOT EXISTS app;\nDROP SCHEMA app;")).toEqual(["drop-schema"]);
    });
});

describe("names", () => {
    it('users, "users" and public.users are one table; "Users" is another; other schemas are apart', () => {
        expect(
            rulesOf(
                'CREATE TABLE users (id int);\nCREATE INDEX ON public.users (id);\nCREATE INDEX ON "users" (id);\nCREATE INDEX ON PUBLIC.USERS (id);',
            ),
        ).toEqual([]);
        expect(rulesOf('CREATE TABLE users (id int);\nCREATE INDEX ON "Users" (id);')).toEqual([
            "index-without-concurrently",
        ]);
        expect(rulesOf("CREATE TABLE users (id int);\nCREATE INDEX ON audit.users (id);")).toEqual([
            "index-without-concurrently",
        ]);
        expect(rulesOf('CREATE TABLE "Users" (id int);\nDROP TABLE "Users";')).toEqual([]);
    });

    it("defaultSchema sets the schema of unqualified names", () => {
        const sql = "CREATE TABLE app.users (id int);\nCREATE INDEX ON users (id);";
        expect(lint(sql).map((f) => f.rule)).toEqual(["index-without-concurrently"]);
        expect(lint(sql, { defaultSchema: "app" })).toEqual([]);
    });

    it("every table of a schema created in the batch is new, however it was made", () => {
        expect(
            rulesOf(
                "CREATE SCHEMA billing;\nCREATE TABLE billing.invoices (id int);\nCREATE INDEX ON billing.invoices (id);\n" +
                    "ALTER TABLE billing.invoices ADD COLUMN total int NOT NULL;\nDROP SCHEMA billing CASCADE;",
            ),
        ).toEqual([]);
        expect(rulesOf("CREATE SCHEMA AUTHORIZATION reporter;\nTRUNCATE reporter.daily;")).toEqual([]);
    });
});

describe("what is never a finding", () => {
    it("comments and string literals of every kind", () => {
        const sql = [
            "-- DROP TABLE users;",
            "/* TRUNCATE sessions; /* nested: DELETE FROM users; */ still a comment: UPDATE users SET a = 1; */",
            "INSERT INTO notes (body) VALUES ('DROP TABLE users; DELETE FROM users', E'it\\'s; TRUNCATE users', $q$ALTER TABLE users DROP COLUMN id;$q$);",
            "INSERT INTO notes (body) VALUES ('it''s; UPDATE users SET a = 1');",
            "COMMENT ON TABLE users IS 'DROP TABLE users is forbidden';",
            'SELECT 1 AS "DELETE FROM users";',
        ].join("\n");
        expect(lint(sql)).toEqual([]);
    });

    it("function and procedure bodies, dollar- or single-quoted, and BEGIN ATOMIC bodies; the statement after one is read", () => {
        const sql = `CREATE OR REPLACE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM sessions;
    DROP TABLE users;
END
$fn$;
CREATE FUNCTION purge2() RETURNS void LANGUAGE sql AS 'TRUNCATE sessions';
CREATE PROCEDURE purge3() LANGUAGE sql
BEGIN ATOMIC
    DELETE FROM sessions;
    UPDATE users SET active = false;
END;
UPDATE users SET active = true;`;
        expect(lint(sql)).toEqual([{ file: "V2__change.sql", line: 13, rule: "update-without-where" }]);
    });

    it("common safe DDL of a later migration", () => {
        const sql = `ALTER TABLE users ADD COLUMN bio text;
ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE users ALTER COLUMN bio SET DEFAULT '';
ALTER TABLE users ADD CONSTRAINT bio_len CHECK (length(bio) < 5000) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT bio_len;
CREATE INDEX CONCURRENTLY users_active_idx ON users (active) WHERE active;
DROP INDEX CONCURRENTLY IF EXISTS users_old_idx;
CREATE VIEW active_users AS SELECT * FROM users WHERE active;
CREATE SEQUENCE invoice_no;
COMMENT ON COLUMN users.bio IS 'free text';
GRANT SELECT ON users TO reporter;
INSERT INTO plans (name) VALUES ('free') ON CONFLICT DO NOTHING;
ANALYZE users;`;
        expect(lint(sql)).toEqual([]);
    });
});

describe("DO blocks run now, so their body is read", () => {
    it("finds a statement in a PL/pgSQL body, with the line of the statement", () => {
        const sql = `DO $$
DECLARE
    n integer;
BEGIN
    SELECT count(*) INTO n FROM users;
    IF n > 0 THEN
        UPDATE users SET plan = CASE WHEN paid THEN 'pro' ELSE 'free' END WHERE plan IS NULL;
    ELSE
        DELETE FROM users;
    END IF;
    <<outer>>
    FOR r IN SELECT id FROM orders LOOP
        TRUNCATE order_lines;
    END LOOP;
EXCEPTION WHEN others THEN
    RAISE NOTICE 'DROP TABLE users';
END
$$;`;
        expect(lint(sql)).toEqual([
            { file: "V2__change.sql", line: 9, rule: "delete-without-where" },
            { file: "V2__change.sql", line: 13, rule: "truncate" },
        ]);
    });

    it("the guarded-DDL idiom is read, and is quiet when safe", () => {
        const guarded = (action: string) => `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'orders_user_fk') THEN
    ${action};
  END IF;
END $$;`;
        expect(
            rulesOf(
                guarded("ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)"),
            ),
        ).toEqual(["constraint-without-not-valid"]);
        expect(
            rulesOf(
                guarded(
                    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
                ),
            ),
        ).toEqual([]);
    });

    it("tables made in a DO block count as new; other languages, and EXECUTE strings, are not read", () => {
        expect(rulesOf("DO $$ BEGIN CREATE TABLE t (id int); END $$;\nCREATE INDEX ON t (id);")).toEqual([]);
        expect(rulesOf("DO LANGUAGE plperl $$ my $x = 'DELETE FROM users'; $$;")).toEqual([]);
        expect(rulesOf("DO $$ BEGIN EXECUTE 'DROP TABLE users'; END $$;")).toEqual([]);
        expect(rulesOf("DO LANGUAGE 'plpgsql' $$ BEGIN DELETE FROM users; END $$;")).toEqual(["delete-without-where"]);
        expect(rulesOf("DO 'BEGIN DELETE FROM users; END';")).toEqual(["delete-without-where"]);
    });
});

describe("lines, case and layout", () => {
    it("reports the line of the statement's first keyword, not of the comment above it, in any case and layout", () => {
        const sql =
            "-- V2: tidy up\n\n/* the old\n   table */\n  drop\n    TABLE\n  Legacy_Events ;\nSELECT 1;\n\n\nTruncate\tsessions";
        expect(lint(sql)).toEqual([
            { file: "V2__change.sql", line: 5, rule: "drop-table" },
            { file: "V2__change.sql", line: 11, rule: "truncate" },
        ]);
        expect(full(sql)[0].message).toContain("DROP TABLE Legacy_Events ");
    });

    it("counts lines the same with CRLF line endings", () => {
        expect(lint("SELECT 1;\r\n\r\nDROP TABLE a;\r\nDELETE FROM b;")).toEqual([
            { file: "V2__change.sql", line: 3, rule: "drop-table" },
            { file: "V2__change.sql", line: 4, rule: "delete-without-where" },
        ]);
    });

    it("two statements on one line share it; a statement after a multi-line string is placed right", () => {
        expect(lint("DELETE FROM a; DELETE FROM b;\nINSERT INTO t VALUES ('x\ny\nz'); DROP TABLE c;")).toEqual([
            { file: "V2__change.sql", line: 1, rule: "delete-without-where" },
            { file: "V2__change.sql", line: 1, rule: "delete-without-where" },
            { file: "V2__change.sql", line: 4, rule: "drop-table" },
        ]);
    });

    it("a repeated statement gets each its own line", () => {
        expect(lint("DELETE FROM a;\nDELETE FROM a;\n\nDELETE FROM a;").map((f) => f.line)).toEqual([1, 2, 4]);
    });
});

describe("allowing findings", () => {
    it("options.allow silences rules for the whole batch", () => {
        expect(lint("DROP TABLE a;\nTRUNCATE b;", { allow: ["drop-table"] }).map((f) => f.rule)).toEqual(["truncate"]);
    });

    it("a bootstrap:allow comment above, inside or after a statement allows it for that statement only", () => {
        const sql = [
            "-- bootstrap:allow drop-table",
            "DROP TABLE a;",
            "DROP TABLE b;",
            "DROP TABLE c; -- bootstrap:allow drop-table, truncate",
            "TRUNCATE d;",
            "TRUNCATE /* bootstrap:allow truncate */ e;",
            "DELETE FROM f; -- bootstrap:allow drop-table",
        ].join("\n");
        expect(lint(sql)).toEqual([
            { file: "V2__change.sql", line: 3, rule: "drop-table" },
            { file: "V2__change.sql", line: 5, rule: "truncate" },
            { file: "V2__change.sql", line: 7, rule: "delete-without-where" },
        ]);
        expect(lint("DROP TABLE a;\nDROP TABLE b; -- bootstrap:allow drop-table")).toEqual([
            { file: "V2__change.sql", line: 1, rule: "drop-table" },
        ]);
    });

    it("a marker in a string literal allows nothing; one in a DO body's comment allows that block", () => {
        expect(rulesOf("INSERT INTO t VALUES ('-- bootstrap:allow drop-table');\nDROP TABLE a;")).toEqual([
            "drop-table",
        ]);
        expect(rulesOf("DO $$ BEGIN\n  -- bootstrap:allow delete-without-where\n  DELETE FROM a;\nEND $$;")).toEqual(
            [],
        );
    });
});

describe("realistic migration folders", () => {
    it("a Rails structure.sql-style first migration has no findings", () => {
        const v1 = `SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SELECT pg_catalog.set_config('search_path', '', false);

CREATE TABLE public.users (
    id bigint NOT NULL,
    email character varying DEFAULT ''::character varying NOT NULL,
    encrypted_password character varying DEFAULT ''::character varying NOT NULL,
    created_at timestamp(6) without time zone NOT NULL
);

CREATE SEQUENCE public.users_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
ALTER SEQUENCE public.users_id_seq OWNED BY public.users.id;
ALTER TABLE ONLY public.users ALTER COLUMN id SET DEFAULT nextval('public.users_id_seq'::regclass);
ALTER TABLE ONLY public.users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX index_users_on_email ON public.users USING btree (email);

CREATE TABLE public.posts (id bigint NOT NULL, user_id bigint, title text);
ALTER TABLE ONLY public.posts ADD CONSTRAINT fk_rails_5b5ddfd518 FOREIGN KEY (user_id) REFERENCES public.users(id);
CREATE INDEX index_posts_on_user_id ON public.posts USING btree (user_id);
`;
        expect(lint({ "V20240101000000__create_schema.sql": v1 })).toEqual([]);
    });

    it("a Django sqlmigrate-style later migration: the risky statements, at their lines", () => {
        const v7 = `BEGIN;
--
-- Add field age to author
--
ALTER TABLE "library_author" ADD COLUMN "age" integer DEFAULT 0 NOT NULL;
ALTER TABLE "library_author" ALTER COLUMN "age" DROP DEFAULT;
--
-- Alter field name on author
--
ALTER TABLE "library_author" ALTER COLUMN "name" TYPE varchar(200);
--
-- Add field author to book
--
ALTER TABLE "library_book" ADD COLUMN "author_id" bigint NULL CONSTRAINT "library_book_author_id_fk" REFERENCES "library_author"("id") DEFERRABLE INITIALLY DEFERRED;
SET CONSTRAINTS "library_book_author_id_fk" IMMEDIATE;
CREATE INDEX "library_book_author_id_idx" ON "library_book" ("author_id");
--
-- Create model Loan
--
CREATE TABLE "library_loan" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, "book_id" bigint NOT NULL);
ALTER TABLE "library_loan" ADD CONSTRAINT "library_loan_book_id_fk" FOREIGN KEY ("book_id") REFERENCES "library_book" ("id") DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX "library_loan_book_id_idx" ON "library_loan" ("book_id");
--
-- Remove field isbn from book
--
ALTER TABLE "library_book" DROP COLUMN "isbn" CASCADE;
COMMIT;
`;
        expect(lint({ "V7__library_0007.sql": v7 })).toEqual([
            { file: "V7__library_0007.sql", line: 10, rule: "type-change" },
            { file: "V7__library_0007.sql", line: 16, rule: "index-without-concurrently" },
            { file: "V7__library_0007.sql", line: 26, rule: "drop-column" },
        ]);
        const messages = lintMigrations("library", [{ file: "V7__library_0007.sql", sql: v7 }]).map((f) => f.message);
        expect(messages[0]).toContain(`Changing the type of "library_author"."name" to varchar(200)`);
        expect(messages[2]).toContain(`Dropping column "library_book"."isbn"`);
    });

    it("a Flyway folder run from scratch and then upgraded: findings only for tables the batch did not create", () => {
        const files = {
            "V1__init.sql":
                "CREATE TABLE customer (id serial PRIMARY KEY, name text NOT NULL);\nCREATE INDEX customer_name_idx ON customer (name);\n",
            "V1.1__seed.sql":
                "INSERT INTO customer (name) VALUES ('acme'), ('globex');\nUPDATE customer SET name = upper(name);\n",
            "V2__contact.sql":
                "ALTER TABLE customer ADD COLUMN email text NOT NULL;\nALTER TABLE customer ALTER COLUMN name TYPE varchar(100);\n",
            "R__views.sql": "CREATE OR REPLACE VIEW customer_names AS SELECT name FROM customer;\n",
        };
        // From scratch, every table is the batch's own.
        expect(lint(files)).toEqual([]);
        // The upgrade runs V2 and the repeatable against a database where V1 and V1.1 were applied.
        expect(lint({ "V2__contact.sql": files["V2__contact.sql"], "R__views.sql": files["R__views.sql"] })).toEqual([
            { file: "V2__contact.sql", line: 1, rule: "not-null-column-without-default" },
            { file: "V2__contact.sql", line: 2, rule: "type-change" },
        ]);
    });
});

describe("odd input", () => {
    it("empty files, comment-only files and unterminated quotes or comments give no finding and no error", () => {
        for (const sql of [
            "",
            "   \n",
            "-- only a comment",
            "/* open comment DROP TABLE a;",
            "SELECT 'open string; DROP TABLE a;",
            "SELECT $x$ open dollar; DROP TABLE a;",
            'SELECT "open ident; DROP TABLE a;',
            "DROP",
            "DROP TABLE",
            "ALTER TABLE",
            "DO",
            "WITH x AS (",
        ]) {
            expect(lint(sql)).toEqual([]);
        }
    });

    it("never throws, and every line it reports is in the file (a bounded, seeded mix of SQL fragments)", () => {
        const parts = [
            "DROP",
            "TABLE",
            "ALTER",
            "ADD",
            "COLUMN",
            "(",
            ")",
            ",",
            ";",
            "'",
            '"',
            "$$",
            "$a$",
            "--",
            "\n",
            "/*",
            "*/",
            "x",
            ".",
            "DO",
            "BEGIN",
            "ATOMIC",
            "END",
            "WITH",
            "AS",
            "DELETE",
            "UPDATE",
            "SET",
            "NOT",
            "NULL",
            "TYPE",
            "CHECK",
            "IF",
            "THEN",
            "CREATE",
            "INDEX",
            "ON",
            "TRUNCATE",
            "RENAME",
            "TO",
            "E'",
            "\\",
            "<<",
            ">>",
            "-- bootstrap:allow drop-table",
        ];
        let seed = 7;
        const next = (n: number) => {
            seed = (seed * 1103515245 + 12345) % 2147483648;
            return Math.floor((seed / 2147483648) * n);
        };
        let findings = 0;
        for (let k = 0; k < 3000; k++) {
            const sql = Array.from({ length: 1 + next(40) }, () => parts[next(parts.length)]).join(next(2) ? " " : "");
            const lines = sql.split("\n").length;
            for (const f of lint(sql)) {
                expect(f.line).toBeGreaterThanOrEqual(1);
                expect(f.line).toBeLessThanOrEqual(lines);
                findings++;
            }
        }
        // The mix is risky often enough that the line check above is exercised.
        expect(findings).toBeGreaterThan(50);
    });
});
