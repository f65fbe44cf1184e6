import { TieredNetwork, PostgresCluster } from "../../sdk";
import { runProgram } from "./support/graph";
test("t", async () => {
    for (let i = 0; i < 3; i++) {
        const a = await runProgram(() => new TieredNetwork("net"));
        const b = await runProgram(() => new PostgresCluster("db", { network: new TieredNetwork("net") }));
        console.log(i, a.ms.toFixed(0), b.ms.toFixed(0));
    }
});
