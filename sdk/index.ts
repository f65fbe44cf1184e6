/**
 * pulumi-docker-cluster: Pulumi components that stand up a whole application cluster on Docker.
 * This file only re-exports; each concern lives in its own folder.
 */
export * from "./naming";
export * from "./validation";
export * from "./container";
export * from "./network";
export * from "./image";
export * from "./postgres";
export * from "./discovery";
export * from "./app";
export * from "./loadbalancer";
export { Bootstrap, ContainerHealthGate, HttpReadiness } from "../provider";
export type {
    AppliedMigrations,
    BootstrapArgs,
    BootstrapConnectionArgs,
    BootstrapContentArgs,
    BootstrapDatabaseArgs,
    BootstrapMigrationSetArgs,
    BootstrapRoleArgs,
    BootstrapWaitArgs,
    ContainerHealthGateArgs,
    HttpReadinessArgs,
} from "../provider";
