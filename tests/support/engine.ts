/**
 * The real Pulumi engine from jest: each operation runs `tests/support/engine-cli.ts` in a plain Node process
 * (the Automation API with the CLI of scripts/pulumi.sh, a file backend and a PULUMI_HOME of the stack's own).
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DOCKER_HOST } from "./docker-api";

const ROOT = path.resolve(__dirname, "../..");

export interface EngineRequest {
    op: "preview" | "up" | "refresh" | "destroy";
    /** The stack's folder: backend state, PULUMI_HOME and the workspace. */
    dir: string;
    project: string;
    stack: string;
    /** The program: a module (path from the repository root) and the function it exports (or the module itself). */
    program: { module: string; export?: string };
    /** Project settings from this Pulumi.yaml (its name must be `project`); by default a bare Node.js project. */
    projectFile?: string;
    /** Stack config to set before the operation. */
    config?: Record<string, { value: string; secret?: boolean }>;
    /** `--diff`: the per-property display. */
    diff?: boolean;
    /** The Docker engine of the CLI and its plugins (DOCKER_HOST), e.g. a second engine. @default the tests' engine */
    dockerHost?: string;
}

export interface EngineResult {
    /** Everything the CLI printed. */
    output: string;
    /** The failure's message, or null. */
    error: string | null;
    /** Resource changes by kind ("create", "update", "same", ...). */
    changes?: Record<string, number>;
    outputs?: Record<string, { value: unknown; secret: boolean }>;
    /** Per resource (by name): ms from the operation's start to its step's start and end. */
    timeline?: Record<string, [number, number]>;
    /** The operation's wall time in ms, measured in the engine's client (after its own start-up). */
    totalMs?: number;
}

/** One resource of a stack's checkpoint, as the file backend stores it. */
export interface StateResource {
    urn: string;
    type: string;
    id?: string;
    inputs?: Record<string, unknown>;
    outputs?: Record<string, unknown>;
}

/** Every file the stack's file backend wrote (checkpoint, backups, history), as text. */
export function stateFiles(dir: string): string {
    const out: string[] = [];
    const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out.push(fs.readFileSync(p, "utf8"));
        }
    };
    walk(path.join(dir, "state"));
    return out.join("\n");
}

/** The resources of the stack's current checkpoint (secrets stay encrypted, as stored). */
export function stateResources(dir: string, project: string, stack: string): StateResource[] {
    const file = path.join(dir, "state", ".pulumi", "stacks", project, `${stack}.json`);
    return (JSON.parse(fs.readFileSync(file, "utf8")).checkpoint.latest?.resources ?? []) as StateResource[];
}

let cliEnv: NodeJS.ProcessEnv | undefined;
/** The environment of scripts/pulumi.sh env (the CLI built or found once per test process). */
export function engineEnv(): NodeJS.ProcessEnv {
    if (!cliEnv) {
        const lines = execFileSync("bash", [path.join(ROOT, "scripts/pulumi.sh"), "env"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
        });
        const env: NodeJS.ProcessEnv = { ...process.env };
        for (const line of lines.split("\n")) {
            const m = /^export (\w+)="?(.*?)"?$/.exec(line);
            if (m) env[m[1]] = m[2].replace(/\$PATH/g, process.env.PATH ?? "");
        }
        // The docker plugin finds its engine through DOCKER_HOST: the private engine unless the caller chose one.
        env.DOCKER_HOST ??= DOCKER_HOST;
        cliEnv = env;
    }
    return cliEnv;
}

/** A fresh folder for one stack; node_modules is linked in so the dynamic-provider plugin finds @pulumi/pulumi. */
export function stackDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pdc-engine-${prefix}-`));
    fs.mkdirSync(path.join(dir, "work"));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "work", "node_modules"));
    return dir;
}

/** Runs one engine operation and returns what happened (asynchronously, so a test can probe while it runs). */
export function engine(req: EngineRequest): Promise<EngineResult> {
    const args = [
        "-r",
        "ts-node/register/transpile-only",
        path.join(ROOT, "tests/support/engine-cli.ts"),
        JSON.stringify(req),
    ];
    const env = {
        ...engineEnv(),
        PULUMI_CONFIG_PASSPHRASE: "engine-tests",
        ...(req.dockerHost ? { DOCKER_HOST: req.dockerHost } : {}),
    };
    return new Promise((resolve, reject) => {
        execFile(
            process.execPath,
            args,
            { cwd: ROOT, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
            (err, stdout, stderr) => {
                if (err) reject(new Error(`engine-cli ${req.op} failed: ${err.message}\n${stderr}`));
                else resolve(JSON.parse(stdout) as EngineResult);
            },
        );
    });
}

/** One resource step the engine reported, in the order it reported them ("replaced docker:index:Container app-r0"). */
export function steps(output: string): string[] {
    const out: string[] = [];
    for (const line of output.split("\n")) {
        const m =
            /^\s*(?:\+\+|\+-|--|\+|-|~)\s+(\S+)\s+(\S+)\s+(created|updated|deleted|replaced|deleting original)\b/.exec(
                line,
            );
        if (m && m[1] !== "pulumi:pulumi:Stack") out.push(`${m[3]} ${m[1]} ${m[2]}`);
    }
    return out;
}
