/**
 * The real Flyway (13.12.2, open-source edition; tests/infra/flyway.sh) as the reference for the provider's Flyway
 * compatibility: the same files, Flyway's own record of them, compared with ours.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { flywayChecksum } from "../../provider/migrations";
import { createOracleDatabase, dropOracleDatabase, flywayHistory, runFlyway } from "../support/flyway";

jest.setTimeout(300_000);

/** Writes `files` (name → exact bytes) into a fresh folder. */
function folder(files: Record<string, string | Buffer>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oracle-"));
    for (const [name, body] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), body);
    }
    return dir;
}

describe("flywayChecksum matches the checksum real Flyway records", () => {
    const BOM = "\uFEFF";
    // One migrate over all of them: a JVM start costs seconds. Every file is valid SQL, each distinct.
    const cases: Record<string, string> = {
        lf: "CREATE TABLE lf (id int);\nINSERT INTO lf VALUES (1);\n",
        crlf: "CREATE TABLE crlf (id int);\r\nINSERT INTO crlf VALUES (1);\r\n",
        "lone cr": "CREATE TABLE lone_cr (id int);\rINSERT INTO lone_cr VALUES (1);\r",
        bom: `${BOM}CREATE TABLE bom (id int);\n`,
        "bom and crlf": `${BOM}CREATE TABLE bom_crlf (id int);\r\n`,
        // Only a leading BOM is dropped; one further in is part of the text (here inside a comment).
        "bom further in": `SELECT 1;\n${BOM}-- a comment after a BOM\n`,
        "blank lines": "\n\nCREATE TABLE blank (id int);\n\n\n\nINSERT INTO blank VALUES (1);\n\n",
        "trailing spaces": "CREATE TABLE trail_sp (id int);   \nINSERT INTO trail_sp VALUES (1);\t \n",
        "no final newline": "CREATE TABLE no_final (id int)",
        "non-ascii": "-- Ünïcödé: 日本語, emoji 🐘\nCREATE TABLE non_ascii (name text DEFAULT 'café');\n",
        "only a comment": "-- nothing to do here\n",
        "empty file": "",
        "whitespace only": "   \n\n\t\r\n",
        "block comment only": "/* nothing\n   at all */\n",
        placeholders: "CREATE TABLE ${tbl} (id int);\nCOMMENT ON TABLE ${tbl} IS '${note}';\n",
        "a large file":
            Array.from(
                { length: 3000 },
                (_, i) => `INSERT INTO lf VALUES (${i}); -- line ${i} ${"x".repeat(i % 80)}`,
            ).join("\n") + "\n",
    };
    const names = Object.keys(cases);
    let db = "";
    let recorded = new Map<string, number | null>();

    beforeAll(async () => {
        db = await createOracleDatabase();
        const files: Record<string, string> = {};
        names.forEach((name, i) => (files[`V${i + 1}__${name.replace(/[^a-z]+/g, "_")}.sql`] = cases[name]));
        const dir = folder(files);
        const run = await runFlyway("migrate", {
            database: db,
            locations: dir,
            settings: { "placeholders.tbl": "ph_table", "placeholders.note": "replaced" },
        });
        if (run.code !== 0) throw new Error(`flyway migrate failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
        const rows = await flywayHistory(db);
        recorded = new Map(
            rows.filter((r) => r.version !== null).map((r) => [names[Number(r.version) - 1], r.checksum]),
        );
    });
    afterAll(async () => {
        if (db) await dropOracleDatabase(db);
    });

    test("Flyway applied every case", () => {
        expect([...recorded.keys()].sort()).toEqual([...names].sort());
    });

    test.each(Object.keys(cases))("%s", (name) => {
        const checksum = recorded.get(name);
        expect(typeof checksum).toBe("number");
        expect(flywayChecksum(cases[name])).toBe(checksum);
    });

    test("line endings, blank lines and a BOM do not change Flyway's checksum; trailing spaces and placeholder values do", () => {
        // Guards the cases above against all being trivially equal: Flyway itself tells these apart.
        expect(recorded.get("crlf")).toBe(flywayChecksum(cases.crlf.replace(/\r\n/g, "\n")));
        expect(recorded.get("bom")).toBe(flywayChecksum(cases.bom.slice(1)));
        expect(recorded.get("blank lines")).toBe(flywayChecksum(cases["blank lines"].replace(/\n+/g, "\n")));
        expect(recorded.get("trailing spaces")).not.toBe(
            flywayChecksum(cases["trailing spaces"].replace(/[ \t]+\n/g, "\n")),
        );
        expect(recorded.get("placeholders")).not.toBe(
            flywayChecksum(cases.placeholders.replace(/\$\{tbl\}/g, "ph_table").replace(/\$\{note\}/g, "replaced")),
        );
    });
});
