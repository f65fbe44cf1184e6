// The testing harness shared by the tests and the benchmarks: bench/ imports only this file, never a deeper path.
// Tests may import the individual files; export here only what bench needs, so the surface stays small.
export { PrivateCluster } from "./cluster";
export { DOCKER_HOST } from "./docker-api";
export { engine, stackDir } from "./engine";
export { runFlyway } from "./flyway";
export { httpRequest } from "./http";
export { InstalledPackage } from "./installed-package";
export { loadWhile } from "./load";
export type { LoadResult } from "./load";
export { freePort, freePortIn } from "./net";
export { inputsFor, PG, query, uniqueName } from "./pg";
export { ProviderHost, serializedProvider } from "./provider-host";
