export { Bootstrap, readScripts, migrationSetSpecs } from "./resource";
export type {
    BootstrapArgs,
    BootstrapConnectionArgs,
    BootstrapWaitArgs,
    BootstrapRoleArgs,
    BootstrapDatabaseArgs,
    BootstrapMigrationSetArgs,
    BootstrapContentArgs,
} from "./resource";
export { bootstrapProvider } from "./provider";
export type { BootstrapInputs, AppliedMigrations } from "./types";
export { HttpReadiness, httpReadinessProvider } from "./readiness";
export type { HttpReadinessArgs } from "./readiness";
export { ContainerHealthGate, containerHealthGateProvider } from "./health";
export type { ContainerHealthGateArgs } from "./health";
