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
    const only = process.env.PDC_BENCH_ONLY; // one benchmark by its key (apply, noop, flyway, concurrent, bringup, rolling)
    if (!only || only === "bringup") {
        console.log("== bring-up (three-tier on the Docker engine) ==");
        await bringupBenchmark();
    }
    if (!only || only === "rolling") {
        console.log("== rolling update (three-tier, 3 replicas, new image, under load) ==");
        await rollingBenchmark();
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
