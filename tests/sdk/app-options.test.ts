/**
 * AppServerPool for apps not written for it: `appContract: false`, volumes, published ports, the container
 * pass-through; and that a program using none of them produces exactly what it produced before they existed.
 */
import { createHash } from "crypto";
import * as docker from "@pulumi/docker";
import {
    APP_CONFIG_DIR,
    AppServerPool,
    ArgumentError,
    NginxLoadBalancer,
    PostgresCluster,
    ServiceDiscovery,
    TieredNetwork,
} from "../../sdk";
import type { AppServerPoolArgs } from "../../sdk";
import { Graph, runProgram, thrownBy } from "../support/graph";

const VOLUME = "docker:index/volume:Volume";

function cluster(extra: Partial<AppServerPoolArgs> = {}, withDb = true) {
    const network = new TieredNetwork("net");
    const db = withDb ? new PostgresCluster("db", { network }) : undefined;
    const app = new AppServerPool("app", { network, image: "sha256:appimage", database: db, ...extra });
    return { network, db, app };
}

/** The message of what `construct` throws (fails the test when it is not an ArgumentError). */
function refusal(construct: () => unknown): string {
    const e = thrownBy(construct);
    expect(e).toBeInstanceOf(ArgumentError);
    return (e as Error).message;
}

/** sha256 over every pool child as registered: name, type, inputs, options and dependencies. */
function poolFingerprint(graph: Graph): string {
    const pool = graph.resources.filter((r) => r.name === "app" || r.name.startsWith("app-"));
    const urnName = (u: string) => graph.resources.find((r) => r.urn === u)?.name ?? u;
    const canonical = pool
        .map((r) => ({
            name: r.name,
            type: r.type,
            inputs: r.inputs,
            dbr: r.deleteBeforeReplace,
            retain: r.retainOnDelete,
            deps: [...r.dependencies].map(urnName).sort(),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    return createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 16);
}

describe("AppServerPool: existing programs unchanged", () => {
    // Pinned from wip-base, before appContract, volumes, ports and container existed: the same generation and
    // the same registrations byte for byte, so `pulumi up` after the upgrade shows no diff.
    const programs: [string, () => ReturnType<typeof cluster>][] = [
        ["no files (like rails-consul's backends)", () => cluster()],
        [
            "files, env, resources, discovery",
            () => {
                const network = new TieredNetwork("net");
                const db = new PostgresCluster("db", { network });
                const discovery = new ServiceDiscovery("sd", { network, tier: "app" });
                const app = new AppServerPool("app", {
                    network,
                    image: "sha256:appimage",
                    database: db,
                    discovery,
                    replicas: 3,
                    env: { A: "1" },
                    configFiles: { "app.json": "{}\n" },
                    contentFiles: { "locale/en.json": "{}\n" },
                    resources: { memoryMb: 256 },
                });
                return { network, db, app };
            },
        ],
    ];
    const pinned: Record<string, { generation: string; fingerprint: string }> = {
        "no files (like rails-consul's backends)": { generation: "56f3d34f", fingerprint: "a72b292d68c4a91b" },
        "files, env, resources, discovery": { generation: "11ed0a11", fingerprint: "55177afd999f6e43" },
    };
    test.each(programs)("%s", async (label, program) => {
        const { graph, result } = await runProgram(program, { project: "shop", stack: "dev" });
        expect({ generation: result.app.generation, fingerprint: poolFingerprint(graph) }).toEqual(pinned[label]);
    });
});
