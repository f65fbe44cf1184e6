/**
 * A private Postgres cluster a test can start and stop at will (for readiness waits and server crashes), so
 * the shared cluster other tests use is never disturbed. Uses the Debian server binaries.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const BIN =
    process.env.PDC_PG_BIN ??
    fs
        .readdirSync("/usr/lib/postgresql")
        .sort()
        .map((v) => `/usr/lib/postgresql/${v}/bin`)
        .pop()!;
const asRoot = process.getuid?.() === 0;

function run(cmd: string, args: string[]): string {
    const [file, argv] = asRoot
        ? ["runuser", ["-u", "postgres", "--", path.join(BIN, cmd), ...args]]
        : [path.join(BIN, cmd), args];
    return execFileSync(file, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export class PrivateCluster {
    readonly dir: string;
    readonly password = `private-${Math.random().toString(36).slice(2)}`;

    /** `parent`: where its data directory goes (the benchmarks use memory, to measure without disk noise). */
    constructor(
        readonly port: number,
        parent: string = os.tmpdir(),
    ) {
        this.dir = fs.mkdtempSync(path.join(parent, "pdc-private-pg-"));
        if (asRoot) execFileSync("chown", ["postgres", this.dir]);
        const pw = path.join(this.dir, "pw");
        fs.writeFileSync(pw, this.password + "\n");
        if (asRoot) execFileSync("chown", ["postgres", pw]);
        run("initdb", [
            "-D",
            path.join(this.dir, "data"),
            "-U",
            "postgres",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            `--pwfile=${pw}`,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]);
    }

    start(): void {
        run("pg_ctl", [
            "-D",
            path.join(this.dir, "data"),
            "-l",
            path.join(this.dir, "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.dir} -c fsync=off`,
            "start",
        ]);
    }

    /** Stops the server; "immediate" is a crash (no checkpoint, connections cut). */
    stop(mode: "fast" | "immediate" = "fast"): void {
        run("pg_ctl", ["-D", path.join(this.dir, "data"), "-m", mode, "-w", "stop"]);
    }

    destroy(): void {
        try {
            this.stop("immediate");
        } catch {
            /* already stopped */
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }

    get connection() {
        return { host: "127.0.0.1", port: this.port, user: "postgres", password: this.password };
    }
}
