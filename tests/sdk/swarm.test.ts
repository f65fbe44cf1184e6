/**
 * The network target (issue 14, first slice): `TieredNetwork({ target: "swarm" })` makes overlay networks, the
 * default "host" leaves every network as it was, and the components that have no swarm form yet refuse a swarm
 * network by name instead of building plain containers its services could not reach.
 */
import {
    AppServerPool,
    ArgumentError,
    NginxLoadBalancer,
    PostgresCluster,
    Service,
    ServiceDiscovery,
    TieredNetwork,
} from "../../sdk";
import { runProgram } from "../support/graph";

const refusal = (owner: string) =>
    new RegExp(
        `${owner}: network targets "swarm", which ${owner} does not support yet; ` +
            `use a TieredNetwork with target "host" \\(the default\\)`,
    );

async function failure(program: () => unknown): Promise<string> {
    const run = runProgram(program);
    await expect(run).rejects.toThrow(ArgumentError);
    return run.then(
        () => "",
        (e: Error) => e.message,
    );
}

describe("TieredNetwork target", () => {
    test('"swarm": every tier an overlay network, attachable, db internal; the target readable by components', async () => {
        const { graph, result } = await runProgram(() => new TieredNetwork("net", { target: "swarm" }), {
            project: "shop",
            stack: "dev",
        });
        expect(result.target).toBe("swarm");
        for (const tier of ["web", "app", "db"]) {
            const n = graph.get(`net-${tier}`);
            expect(n.type).toBe("docker:index/network:Network");
            expect(n.inputs.name).toBe(`shop-dev-net-${tier}`);
            expect(n.inputs.driver).toBe("overlay");
            expect(n.inputs.attachable).toBe(true);
            expect(n.inputs.internal).toBe(tier === "db");
        }
    });

    test('"swarm": attachable can be switched off per tier; attachService gives the service attachments', async () => {
        const { graph, result } = await runProgram(() => {
            const n = new TieredNetwork("n", {
                target: "swarm",
                tiers: { app: {}, db: { internal: true, attachable: false } },
            });
            return { n, att: n.attachService(["db"], ["postgres"]) };
        });
        expect(graph.get("n-db").inputs.attachable).toBe(false);
        expect(graph.get("n-app").inputs.attachable).toBe(true);
        expect(result.att).toHaveLength(1);
        expect(result.att[0].aliases).toEqual(["postgres"]);
        expect(() => result.n.attachService(["web"], [])).toThrow(/unknown tier "web"; use one of: app, db/);
    });

    test('the default "host" keeps bridge networks with exactly the inputs they had (no attachable)', async () => {
        const implicit = await runProgram(() => new TieredNetwork("net"), { project: "shop", stack: "dev" });
        const explicit = await runProgram(() => new TieredNetwork("net", { target: "host" }), {
            project: "shop",
            stack: "dev",
        });
        expect(implicit.result.target).toBe("host");
        for (const tier of ["web", "app", "db"]) {
            const inputs = implicit.graph.get(`net-${tier}`).inputs;
            expect(Object.keys(inputs).sort()).toEqual(["driver", "internal", "labels", "name"]);
            expect(inputs.driver).toBe("bridge");
            expect(explicit.graph.get(`net-${tier}`).inputs).toEqual(inputs);
        }
    });

    test("settings without meaning on a target are refused, naming the argument and the fix", async () => {
        const bridgeInSwarm = await failure(
            () => new TieredNetwork("net", { target: "swarm", tiers: { app: { driver: "bridge" } } }),
        );
        expect(bridgeInSwarm).toMatch(
            /TieredNetwork "net": tiers.app.driver is "bridge", but a swarm's services join only overlay networks; leave it out/,
        );
        const attachableOnHost = await failure(
            () => new TieredNetwork("net", { tiers: { app: { attachable: true } } }),
        );
        expect(attachableOnHost).toMatch(
            /tiers.app.attachable has no meaning with target "host" \(bridge networks are always attachable\); leave it out, or set target: "swarm"/,
        );
        const unknown = await failure(() => new TieredNetwork("net", { target: "kubernetes" as unknown as "host" }));
        expect(unknown).toMatch(/TieredNetwork "net": target is "kubernetes"; use one of "host", "swarm"/);
    });
});

describe("components on a swarm network (no swarm form yet)", () => {
    test("each refuses it under `network`, before any child exists", async () => {
        const swarm = () => new TieredNetwork("net", { target: "swarm" });
        expect(await failure(() => new PostgresCluster("db", { network: swarm() }))).toMatch(
            refusal('PostgresCluster "db"'),
        );
        expect(await failure(() => new AppServerPool("app", { network: swarm(), image: "i" }))).toMatch(
            refusal('AppServerPool "app"'),
        );
        expect(await failure(() => new Service("cache", { network: swarm(), image: "redis:7" }))).toMatch(
            refusal('Service "cache"'),
        );
        expect(await failure(() => new ServiceDiscovery("sd", { network: swarm() }))).toMatch(
            refusal('ServiceDiscovery "sd"'),
        );
        const lb = await failure(() => {
            const host = new TieredNetwork("host");
            const app = new AppServerPool("app", { network: host, image: "i" });
            return new NginxLoadBalancer("web", { network: swarm(), routes: [{ path: "/", pool: app }] });
        });
        expect(lb).toMatch(refusal('NginxLoadBalancer "web"'));
    });

    test("nothing is registered under the refused component", async () => {
        let names: string[] = [];
        await runProgram(() => {
            new TieredNetwork("net", { target: "swarm" });
            try {
                new PostgresCluster("db", { network: new TieredNetwork("n2", { target: "swarm" }) });
            } catch {
                // expected: refused
            }
        }).then(({ graph }) => (names = Object.keys(graph.shape())));
        expect(names.filter((n) => n === "db" || n.startsWith("db-"))).toEqual([]);
    });
});
