import { AppServerPool, ArgumentError, ServiceDiscovery, TieredNetwork } from "../../sdk";
import { runProgram, thrownBy } from "../support/graph";

describe("ServiceDiscovery", () => {
    test("exact graph without ACLs (acl: false, the graph before ACLs existed): Consul server + registrator on the app tier, docker socket read-only, nothing published", async () => {
        const { graph } = await runProgram(
            () => new ServiceDiscovery("sd", { network: new TieredNetwork("net"), acl: false }),
            {
                project: "shop",
                stack: "dev",
            },
        );
        expect(Object.fromEntries(Object.entries(graph.shape()).filter(([n]) => n.startsWith("sd")))).toEqual({
            sd: "dockercluster:discovery:ServiceDiscovery",
            "sd-consul": "docker:index/container:Container",
            "sd-consul-image": "docker:index/remoteImage:RemoteImage",
            "sd-registrator": "docker:index/container:Container",
            "sd-registrator-image": "docker:index/remoteImage:RemoteImage",
        });
        const consul = graph.get("sd-consul");
        expect(consul.inputs.name).toBe("shop-dev-sd-consul");
        expect(consul.inputs.networksAdvanced).toEqual([{ name: "shop-dev-net-app", aliases: ["consul"] }]);
        expect(consul.inputs.command).toEqual(
            expect.arrayContaining(["agent", "-server", "-bootstrap-expect=1", "-client=0.0.0.0"]),
        );
        expect(consul.inputs.ports).toBeUndefined();
        const reg = graph.get("sd-registrator");
        expect(reg.inputs.volumes).toEqual([
            { hostPath: "/var/run/docker.sock", containerPath: "/tmp/docker.sock", readOnly: true },
        ]);
        expect(reg.inputs.command).toEqual([
            "-internal",
            "-explicit",
            "-useIpFromLabel=dockercluster.address",
            "-resync=30",
            "-retry-attempts=-1",
            "-retry-interval=2000",
            "consul://consul:8500",
        ]);
        expect(graph.networksOf("sd-registrator")).toEqual(["shop-dev-net-app"]);
        expect(graph.dependsOn("sd-registrator", "sd-consul")).toBe(true);
        expect(graph.parentName("sd-registrator")).toBe("sd");
        expect(graph.get("sd-registrator-image").inputs.name).toBe("gliderlabs/registrator:master");
    });

    test("rejects an internal or unknown tier before creating anything", async () => {
        for (const [tier, msg] of [
            ["db", /tier "db" is internal; registrator and consul need a non-internal tier/],
            ["mesh", /tier names the unknown tier "mesh"/],
        ] as const) {
            const { graph, result } = await runProgram(() => {
                const network = new TieredNetwork("net");
                return thrownBy(() => new ServiceDiscovery("sd", { network, tier }));
            });
            expect(result).toBeInstanceOf(ArgumentError);
            expect((result as Error).message).toMatch(msg);
            expect(graph.names().filter((n) => n.startsWith("sd"))).toEqual([]);
        }
    });

    test("Consul's host name is its own on its tier: a pool already answering to it is rejected, and the other way round", async () => {
        const { graph, result } = await runProgram(() => {
            const network = new TieredNetwork("net");
            new AppServerPool("consul", { network, tiers: ["app"], image: "img" });
            return thrownBy(() => new ServiceDiscovery("sd", { network }));
        });
        expect(result).toBeInstanceOf(ArgumentError);
        expect((result as Error).message).toMatch(
            /ServiceDiscovery "sd": alias gives the host name "consul", which AppServerPool "consul" already answers to on tier "app"; set alias/,
        );
        expect(graph.names().filter((n) => n.startsWith("sd"))).toEqual([]);

        const after = await runProgram(() => {
            const network = new TieredNetwork("net");
            new ServiceDiscovery("sd", { network });
            return thrownBy(() => new AppServerPool("consul", { network, tiers: ["app"], image: "img" }));
        });
        expect((after.result as Error).message).toMatch(
            /AppServerPool "consul": serviceName gives the host name "consul", which ServiceDiscovery "sd" already answers to on tier "app"/,
        );
    });
});
