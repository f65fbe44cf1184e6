/**
 * `npm run bench`: every benchmark, each printing the ratio it measured in this one run. Needs the services of
 * scripts/setup.sh (Postgres on 127.0.0.1:55432, the private Docker engine and its images).
 */
import { bringupBenchmark } from "./bringup";
import { printResults, providerBenchmarks } from "./provider";
import { rollingBenchmark } from "./rolling";

async function main(): Promise<void> {
    console.log("== provider (bootstrap) ==");
    printResults(await providerBenchmarks());
    console.log("== bring-up (three-tier on the Docker engine) ==");
    await bringupBenchmark();
    console.log("== rolling update (three-tier, 3 replicas, new image, under load) ==");
    await rollingBenchmark();
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
