import { ArgumentError, STANDARD_TIERS, TieredNetwork } from "../../sdk";
import { runProgram } from "../support/graph";

describe("TieredNetwork", () => {
    test("default tiers: web, app, db (internal), one Docker network each, scoped names, parented", async () => {
        const { graph } = await runProgram(() => new TieredNetwork("net"), { project: "shop", stack: "dev" });
        expect(graph.shape()).toEqual({
            net: "dockercluster:network:TieredNetwork",
            "net-app": "docker:index/network:Network",
            "net-db": "docker:index/network:Network",
            "net-web": "docker:index/network:Network",
        });
        for (const tier of Object.keys(STANDARD_TIERS)) {
            const n = graph.get(`net-${tier}`);
            expect(n.inputs.name).toBe(`shop-dev-net-${tier}`);
            expect(n.inputs.driver).toBe("bridge");
            expect(n.inputs.internal).toBe(tier === "db");
            expect(graph.parentName(`net-${tier}`)).toBe("net");
            expect(n.deleteBeforeReplace).toBe(true);
        }
        expect(graph.labelsOf("net-db")).toMatchObject({
            "dockercluster.project": "shop",
            "dockercluster.stack": "dev",
            "dockercluster.role": "tier:db",
        });
    });

    test("custom tiers with subnets; attach() gives networksAdvanced with aliases", async () => {
        const { graph, result } = await runProgram(() => {
            const n = new TieredNetwork("n", {
                tiers: { webapp: { subnet: "10.20.0.0/24" }, appdb: { internal: true } },
            });
            return { n, attachment: n.attach(["appdb"], ["postgres"]) };
        });
        expect(graph.get("n-webapp").inputs.ipamConfigs).toEqual([{ subnet: "10.20.0.0/24" }]);
        expect(result.n.tierNames).toEqual(["webapp", "appdb"]);
        expect(result.attachment[0].aliases).toEqual(["postgres"]);
        expect(() => result.n.attach(["nope"], [])).toThrow(/unknown tier "nope"; use one of: webapp, appdb/);
    });

    test("bad tiers fail with a clear message before any resource is registered", async () => {
        const bad = async (tiers: Record<string, object>) => {
            const run = runProgram(() => new TieredNetwork("net", { tiers }));
            await expect(run).rejects.toThrow(ArgumentError);
            return run.catch((e: Error) => e.message);
        };
        expect(await bad({})).toMatch(/TieredNetwork "net": tiers is empty; declare at least one tier/);
        expect(await bad({ Web_Tier: {} })).toMatch(/tiers.Web_Tier is not a valid tier name; use lower-case letters/);
        expect(await bad({ a: { subnet: "10.0.0.0/33" } })).toMatch(
            /tiers.a.subnet is "10.0.0.0\/33", not an IPv4 CIDR/,
        );
        expect(await bad({ a: { subnet: "10.0.0.0/24" }, b: { subnet: "10.0.0.0/24" } })).toMatch(
            /use the subnet 10.0.0.0\/24 twice/,
        );
    });

    test("a failed construction registers nothing", async () => {
        let registered = -1;
        await runProgram(() => {
            try {
                new TieredNetwork("net", { tiers: {} });
            } catch {
                registered = 0;
            }
        }).then(({ graph }) => {
            registered += graph.resources.length;
        });
        expect(registered).toBe(0);
    });
});
