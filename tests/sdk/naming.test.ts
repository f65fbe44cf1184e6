import { dockerName, isDnsLabel, replicaIdsFor, sanitizeDockerName, scopedName } from "../../sdk";
import { runProgram } from "../support/graph";

describe("naming (pure)", () => {
    test("scopedName prefixes project and stack and sanitises to Docker's name rules", () => {
        expect(scopedName("shop", "dev", "db-data")).toBe("shop-dev-db-data");
        expect(scopedName("My Project", "feature/42", "db-data")).toBe("My-Project-feature-42-db-data");
        expect(sanitizeDockerName("--a..b--")).toBe("a..b");
        expect(() => sanitizeDockerName("///")).toThrow(/cannot derive a Docker object name/);
    });

    test("two stacks of one project never share a Docker name", () => {
        const roles = ["db-data", "db-server", "app-r0", "app-config", "web-nginx", "net-web"];
        const dev = roles.map((r) => scopedName("shop", "dev", r));
        const prod = roles.map((r) => scopedName("shop", "prod", r));
        expect(dev.filter((n) => prod.includes(n))).toEqual([]);
    });

    test("replica ids are index-stable: 2 -> 3 adds exactly r2, 3 -> 2 drops only r2", () => {
        expect(replicaIdsFor(2)).toEqual(["r0", "r1"]);
        expect(replicaIdsFor(3)).toEqual(["r0", "r1", "r2"]);
        expect(replicaIdsFor(3).filter((n) => !replicaIdsFor(2).includes(n))).toEqual(["r2"]);
        expect(replicaIdsFor(5, ["blue", "green"])).toEqual(["blue", "green"]);
    });

    test("isDnsLabel", () => {
        expect(isDnsLabel("app-r0")).toBe(true);
        expect(isDnsLabel("App")).toBe(false);
        expect(isDnsLabel("-x")).toBe(false);
        expect(isDnsLabel("a".repeat(64))).toBe(false);
    });

    test("dockerName uses the running program's project and stack", async () => {
        const { result } = await runProgram(() => dockerName("db-data"), { project: "shop", stack: "prod" });
        expect(result).toBe("shop-prod-db-data");
    });
});
