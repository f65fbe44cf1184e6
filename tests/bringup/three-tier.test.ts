/**
 * three-tier, brought up for real on the private Docker engine by running the example program itself through
 * the bring-up harness (tests/bringup/harness.ts).
 */
import program = require("../../examples/three-tier");
import { bringUp, BringUp, freshStack } from "./harness";
import { execIn, freePort, httpRequest, publishedPorts } from "./support";

let cluster: BringUp;
let port = 0;
let prefix = "";

beforeAll(async () => {
    port = await freePort();
    const stack = freshStack("tt");
    prefix = `three-tier-${stack}-`;
    ({ cluster } = await bringUp(() => program.threeTier({ ...program.defaults, webPort: port, replicas: 2 }), { project: "three-tier", stack }));
}, 600000);

afterAll(async () => {
    await cluster?.teardown(true);
});

const containerOf = (resource: string) => String(cluster.graph!.get(resource).inputs.name);

it("answers through nginx with the app's JSON, read from Postgres, from both replicas", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
        const r = await httpRequest(port, "/");
        expect(r.status).toBe(200);
        const body = JSON.parse(r.body);
        expect(body.greeting).toBe("Hello from the db tier!");
        seen.add(body.instance);
    }
    expect(seen.size).toBe(2);
});

it("the web container cannot resolve the database's name, nor reach its address", async () => {
    const web = containerOf("web-nginx");
    const dbIp = (await execIn(containerOf("app-r0"), "getent hosts postgres | cut -d' ' -f1")).output.trim();
    expect(dbIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect((await execIn(web, "getent hosts postgres")).code).not.toBe(0);
    expect((await execIn(web, `timeout 3 bash -c '</dev/tcp/${dbIp}/5432'`)).code).not.toBe(0);
    // The same probe from an app replica does connect: the check above is not vacuous.
    expect((await execIn(containerOf("app-r0"), `timeout 3 bash -c '</dev/tcp/${dbIp}/5432'`)).code).toBe(0);
});

it("only the web container publishes a port, on 127.0.0.1", async () => {
    const ports = await publishedPorts(prefix);
    const publishing = Object.entries(ports).filter(([, v]) => v.length > 0);
    expect(publishing).toEqual([[containerOf("web-nginx"), [`127.0.0.1:${port}->80/tcp`]]]);
    expect(Object.keys(ports).length).toBeGreaterThanOrEqual(4);
});
