/**
 * pulumi-docker-cluster: Pulumi components that stand up a whole application cluster on Docker.
 * This file only re-exports, and lists the public API by name; each concern lives in its own folder, whose index is
 * the only way in from another folder.
 */

// The components, their arguments and the defaults they document.
export { NETWORK_TARGETS, STANDARD_TIERS, TieredNetwork } from "./network";
export type {
    AliasClaim,
    HostPortClaim,
    NetworkAttachment,
    NetworkClaim,
    NetworkTarget,
    ServiceNetworkAttachment,
    TierArgs,
    TieredNetworkArgs,
} from "./network";
export { ServiceImage } from "./image";
export type { ServiceImageArgs, ServiceImageBuildArgs } from "./image";
export { DEFAULT_POSTGRES_IMAGE, PostgresCluster } from "./postgres";
export type { PostgresClusterArgs } from "./postgres";
export {
    CONSUL_ACL_ROLES,
    ConsulAclSetup,
    DEFAULT_CONSUL_IMAGE,
    DEFAULT_REGISTRATOR_IMAGE,
    ServiceDiscovery,
} from "./discovery";
export type { ConsulAclRole, ConsulAclSetupArgs, ServiceDiscoveryArgs } from "./discovery";
export {
    APP_CONFIG_DIR,
    AppServerPool,
    CONTENT_DIR,
    ContainerHealthGate,
    FILES_DIGEST_LABEL,
    GENERATION_LABEL,
} from "./app";
export type { AppServerPoolArgs, ContainerHealthGateArgs } from "./app";
export { DEFAULT_CONSUL_TEMPLATE_IMAGE, DEFAULT_NGINX_IMAGE, HttpReadiness, NginxLoadBalancer } from "./loadbalancer";
export type { HttpReadinessArgs, NginxLoadBalancerArgs, NginxRoute, NginxStaticArgs } from "./loadbalancer";
export { Service } from "./service";
export type { ServiceAdoptArgs, ServiceArgs, ServicePort, ServiceVolume } from "./service";

// The once-only database bootstrap (provider/), which PostgresCluster wires after its container.
export { Bootstrap } from "../provider";
export type {
    AppliedMigrations,
    BootstrapArgs,
    BootstrapConnectionArgs,
    BootstrapContentArgs,
    BootstrapDatabaseArgs,
    BootstrapMigrationSetArgs,
    BootstrapRoleArgs,
    BootstrapWaitArgs,
} from "../provider";

// For programs that add containers of their own next to the components, and check their configuration.
export { dockerName, labelList, scopedName, standardLabels } from "./naming";
export { ArgChecker, ArgumentError, ConfigChecker } from "./validation";
export type { ArgProblem } from "./validation";
export { httpHealthcheck } from "./container";
export type { ContainerResources, HealthcheckArgs, RestartPolicy, UpstreamServer } from "./container";
export { clusterMockOutputs, clusterMocks } from "./testing";
// Containers of apps not written for the pool: mounts, published ports, the remaining container settings.
export { checkPassThrough, passThroughInputs } from "./container";
export type { ContainerPassThrough, PublishedPort, VolumeMount } from "./container";
export { SECRETS_DIR } from "./container";
export type { SecretFile } from "./container";
// Security and operations defaults of every container (issue 16; sdk/README.md): logs, no-new-privileges, the
// hardening of nginx and the sidecars, their memory limits.
export {
    checkLogging,
    containerSettings,
    containerSettingsInputs,
    DEFAULT_JSON_FILE_LOG_OPTIONS,
    DEFAULT_LOG_DRIVER,
    NO_NEW_PRIVILEGES,
} from "./container";
export type { ContainerProfile, ContainerSettings, LoggingArgs } from "./container";
export {
    CONSUL_PROFILE,
    DEFAULT_CONSUL_MEMORY_MB,
    DEFAULT_REGISTRATOR_MEMORY_MB,
    REGISTRATOR_PROFILE,
} from "./discovery";
export { CONSUL_TEMPLATE_PROFILE, DEFAULT_CONSUL_TEMPLATE_MEMORY_MB, NGINX_PROFILE } from "./loadbalancer";
export { resolvePoolArgs } from "./app";
export { resolveImageArgs } from "./image";

// Not public: helpers the tests reach through the package's entry point. Each is marked @internal where declared
// and may change without notice.
export { contextDigest, imageRevision } from "./image";
export { isDnsLabel, replicaIdsFor, sanitizeDockerName } from "./naming";
export { filesDigest, httpProbeScript } from "./container";
export { ADDRESS_LABEL, CONSUL_ENV, consulAgentCommand } from "./discovery";
// Consul's ACLs (issue 16): the files, policies and setup script ServiceDiscovery gives Consul.
export {
    CONSUL_ACL_CONFIG,
    CONSUL_ACL_DIR,
    CONSUL_MANAGEMENT_TOKEN_FILE,
    consulAclPolicies,
    consulAclSetupProvider,
    consulAclSetupScript,
    consulHealthTest,
    consulPolicyFile,
    consulTokenFile,
    renderConsulAclConfig,
} from "./discovery";
export { discoveryLabels } from "./app";
export {
    CONSUL_TEMPLATE_DIR,
    CONSUL_TEMPLATE_TOKEN_FILE,
    DOWN_PLACEHOLDER,
    NGINX_CONF_DIR,
    NGINX_CONF_PATH,
    nginxWatcherScript,
    renderConsulTemplateConfig,
    renderNginxConf,
    renderUpstreamBlock,
    renderUpstreamsFromInstances,
    renderUpstreamsTemplate,
    sealNginxConf,
    STATIC_ROOT,
    UPSTREAMS_DIR,
    UPSTREAMS_FILE,
} from "./loadbalancer";
export type { NginxConfigSpec, ServiceInstance } from "./loadbalancer";

// NginxLoadBalancer: TLS, websockets, per-route options, extra directives (issue 15).
export { checkExtraDirective, NGINX_TLS_CERT_PATH, NGINX_TLS_KEY_PATH } from "./loadbalancer";
export type { NginxTlsArgs, TlsSpec } from "./loadbalancer";

// NginxLoadBalancer: regex and exact locations, custom locations (issue 15).
export { checkLocationPattern } from "./loadbalancer";

// NginxLoadBalancer: hardening (issue 16).
export { NGINX_GATE_PATH, READINESS_GATE_HEADER } from "./loadbalancer";
export type { CustomLocationSpec, LocationModifier, NginxCustomLocation } from "./loadbalancer";
