import { runProgram } from "./support/graph";
import { TieredNetwork, PostgresCluster } from "../../sdk";

test("scratch", async () => {
    const { graph, ms } = await runProgram(() => {
        const net = new TieredNetwork("net");
        return new PostgresCluster("db", { network: net });
    });
    console.log(ms, graph.shape());
    console.log(JSON.stringify(graph.get("db-bootstrap").inputs, (k, v) => (k === "__provider" ? String(v).length : v), 1).slice(0, 2000));
    console.log(graph.dependencyNames("db-bootstrap"), [...graph.get("db-server").secretInputs]);
});
