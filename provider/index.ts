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
// The engine's unknown-value placeholder, which the sdk's dynamic providers (readiness, health gate) let pass too.
export { isUnknown } from "./types";
