/**
 * What a user does to unit-test a program built on the components: Pulumi's own `setMocks` with the package's
 * `clusterMocks`, the program run as it is, its outputs read. With Pulumi's bare mocks the same program cannot
 * evaluate: a container has no address on its admin network, so the bootstrap's endpoint never resolves.
 */
import * as pulumi from "@pulumi/pulumi";
import { clusterMocks } from "../../sdk/testing";
import { defaults, threeTier } from "../../examples/three-tier/cluster";

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

test("a program on the components evaluates under plain setMocks with clusterMocks, outputs and all", async () => {
    const seen: string[] = [];
    pulumi.runtime.setMocks(
        clusterMocks({
            newResource: (args) => {
                seen.push(args.type);
                return undefined; // the package's answer
            },
        }),
        "shop",
        "dev",
        false,
    );
    const cluster = threeTier({ ...defaults, replicas: 3, buildAppImage: false });
    expect(await value(cluster.db.adminEndpoint)).toEqual({ host: expect.stringMatching(/^172\./), port: 5432 });
    expect(await value(cluster.db.databaseName)).toBe("app");
    // The server's pg_hba.conf needs the admin network's subnet, which Docker picks: the mocks give one.
    const uploads = (await value(cluster.db.container!.uploads)) ?? [];
    expect(uploads.map((u) => u.content).join("\n")).toContain("host all postgres 172.31.0.0/16 scram-sha-256");
    const url = await value(cluster.db.applicationUrl);
    expect(url).toMatch(/^postgresql:\/\/app:pw-[^@]+@postgres:5432\/app$/);
    expect(cluster.outputs.replicas).toHaveLength(3);
    expect(seen).toEqual(
        expect.arrayContaining(["docker:index/container:Container", "pulumi-nodejs:dynamic/postgres:Bootstrap"]),
    );
});
