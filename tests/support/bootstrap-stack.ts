/**
 * One bootstrap of a database with one migration set, driven through the dynamic-provider host as the engine
 * drives it (check → create, then check → diff → update), and migration folders written to disk for it.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BootstrapMigrationSetArgs } from "../../provider";
import { inputsFor, query, uniqueName } from "./pg";
import { ProviderHost } from "./provider-host";

type Props = Record<string, any>;

const folders: string[] = [];

/** Writes `files` (relative path → exact text or bytes) into a new folder and returns its path. */
export function migrationFolder(files: Record<string, string | Buffer>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pdc-migrations-"));
    folders.push(dir);
    for (const [rel, body] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), body);
    }
    return dir;
}

/** Deletes every folder `migrationFolder` made. */
export function removeMigrationFolders(): void {
    for (const d of folders.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export class BootstrapStack {
    id = "";
    outs: Props = {};
    inputs: Props = {};
    constructor(
        private readonly host: ProviderHost,
        readonly table = "flyway_schema_history",
        readonly db = uniqueName("fw"),
    ) {}

    props(set: Partial<BootstrapMigrationSetArgs>): Props {
        return inputsFor({ database: { name: this.db }, migrationSets: [{ name: "app", table: this.table, ...set }] });
    }

    /** One `pulumi up`: "create", or the diff's answer ("some" ran an update, "none" did nothing). */
    async up(set: Partial<BootstrapMigrationSetArgs>): Promise<string> {
        const { inputs, failures } = await this.host.check(this.id ? this.inputs : {}, this.props(set));
        if (failures.length) throw new Error(`check failed: ${JSON.stringify(failures)}`);
        if (!this.id) {
            const r = await this.host.create(inputs);
            [this.id, this.outs, this.inputs] = [r.id, r.outs, inputs];
            return "create";
        }
        const { changes } = await this.host.diff(this.id, this.outs, inputs);
        if (changes === "some") this.outs = await this.host.update(this.id, this.outs, inputs);
        this.inputs = inputs;
        return changes;
    }

    /** An update that must fail: its error message ("" if it did not fail). */
    async refused(set: Partial<BootstrapMigrationSetArgs>): Promise<string> {
        const { inputs } = await this.host.check(this.inputs, this.props(set));
        return this.host.update(this.id, this.outs, inputs).then(
            () => "",
            (e: Error) => e.message,
        );
    }

    history(): Promise<Record<string, unknown>[]> {
        return query(
            this.db,
            `SELECT installed_rank, version, description, type, script, checksum, success FROM ${this.table} ORDER BY installed_rank`,
        );
    }
}
