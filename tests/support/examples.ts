/**
 * Helpers for the example-program tests: reading the examples' Pulumi.yaml / Pulumi.<stack>.yaml, and timing
 * mock evaluations.
 */
import * as fs from "fs";
import * as path from "path";
// js-yaml ships with jest (a dev dependency's dependency); only tests use it.

const yaml = require("js-yaml") as { load(src: string): unknown };
import { Graph, runProgram, RunOptions } from "./graph";

export const REPO = path.resolve(__dirname, "..", "..");

export interface ProjectFile {
    name: string;
    runtime: string;
    main?: string;
    description?: string;
    config: Record<string, { type: string; default?: unknown; description?: string; secret?: boolean }>;
}

export function projectFile(dir: string): ProjectFile {
    return yaml.load(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as ProjectFile;
}

/** Raw `config:` of Pulumi.<stack>.yaml. */
export function stackFile(dir: string, stack: string): Record<string, unknown> {
    const doc = yaml.load(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8")) as {
        config?: Record<string, unknown>;
    };
    return doc.config ?? {};
}

/** Stack config as the engine hands it to the program: "<project>:<key>" → string. */
export function stackConfig(dir: string, stack: string, extra: Record<string, string> = {}): Record<string, string> {
    const project = projectFile(dir).name;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(stackFile(dir, stack))) out[k] = typeof v === "string" ? v : JSON.stringify(v);
    for (const [k, v] of Object.entries(extra)) out[`${project}:${k}`] = v;
    return out;
}

/** Pulumi.yaml defaults as a plain object (key → default). */
export function schemaDefaults(dir: string): Record<string, unknown> {
    return Object.fromEntries(Object.entries(projectFile(dir).config).map(([k, v]) => [k, v.default]));
}

/** Names of Docker objects (containers, volumes, networks) in a graph. */
export function dockerObjectNames(g: Graph): string[] {
    return g.resources
        .filter((r) => /container:Container|volume:Volume|network:Network/.test(r.type))
        .map((r) => String(r.inputs.name));
}

/**
 * Times `program` under mocks: the first evaluation (in a fresh jest module registry the very first one also
 * serializes the bootstrap provider's closure) and the median of `warm` more. Prints the numbers.
 */
export async function timeEvaluation<T>(
    label: string,
    program: () => T,
    opts: RunOptions = {},
    warm = 3,
): Promise<{ coldMs: number; warmMs: number; resources: number }> {
    const cold = await runProgram(program, opts);
    const times: number[] = [];
    for (let i = 0; i < warm; i++) times.push((await runProgram(program, opts)).ms);
    times.sort((a, b) => a - b);
    const warmMs = times[Math.floor(times.length / 2)];
    const line = `mock evaluation of ${label}: ${cold.graph.resources.length} resources, first run ${cold.ms.toFixed(0)} ms, then median of ${warm} runs ${warmMs.toFixed(0)} ms`;

    console.log(line);
    return { coldMs: cold.ms, warmMs, resources: cold.graph.resources.length };
}
